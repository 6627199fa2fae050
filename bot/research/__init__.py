"""Parameter research over backtests: `hedgebot sweep` (a grid of config values, each trial a backtest, run on
every local core or on a Dask cluster), walk-forward choice, and the frontier page.

It sits above the process package like the command line: it may import bot.live to run a backtest, and nothing
but bot/cli.py imports it.
"""
