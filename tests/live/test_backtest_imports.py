"""A backtest and a paper run on a built-in market never load the exchange client (about a second of start-up)."""

from __future__ import annotations

import subprocess
import sys


def test_the_backtest_and_paper_paths_import_no_ccxt() -> None:
    probe = "import sys; import bot.live.session, bot.live.assembly, bot.research.trials; print('ccxt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
