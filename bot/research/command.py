"""`hedgebot sweep`: a grid (or an optuna search) of config values, each trial a backtest; a table, `--json`,
and an HTML frontier.

Everything is checked before the first trial runs (the grid's keys and values against the config model, the
period, the data files, the walk-forward folds); bad input is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config, ConfigError, load_config, with_overrides
from bot.domain import MS_PER_DAY, parse_duration_ms
from bot.research import walk_forward
from bot.research.frontier import frontier
from bot.research.space import check_grid, parse_grid, read_space_file

if TYPE_CHECKING:  # the runners and the backtest behind them load when a sweep runs, not with the parser
    from bot.research.sweep import FoldOutcome
    from bot.research.trials import TrialResult


def add_parser(sub: Any, day: Any) -> None:
    """The `sweep` subcommand; `day` parses YYYY-MM-DD (the backtest's own)."""
    sweep = sub.add_parser("sweep", help="backtest every combination of a grid of config values")
    sweep.add_argument("--config", type=Path, required=True, help="the base config (a backtest config)")
    sweep.add_argument("--grid", type=Path, required=True, help="TOML file: [grid] (or [search]) dotted key = values")
    sweep.add_argument("--prices", type=Path, help="spot candles CSV (default: market.prices of the config)")
    sweep.add_argument("--funding", type=Path, help="funding CSV (default: market.funding)")
    sweep.add_argument("--perp", type=Path, help="perpetual candles CSV (default: market.perp)")
    sweep.add_argument("--start", type=day, help="first day traded (default: market.start)")
    sweep.add_argument("--end", type=day, help="day after the last traded (default: market.end)")
    sweep.add_argument("--workers", type=int, help="local worker processes (default: every core; 1 = this one)")
    sweep.add_argument("--cluster", help="a Dask scheduler's address, e.g. tcp://10.0.0.5:8786, instead")
    sweep.add_argument("--objective", default="variance_reduction", choices=sorted(walk_forward.OBJECTIVES))
    sweep.add_argument("--walk-forward", action="store_true", help="choose on --train, score on the --test after")
    sweep.add_argument("--train", default="365d", help="walk-forward: days to choose on (default 365d)")
    sweep.add_argument("--test", default="90d", help="walk-forward: days to score on, and the roll (default 90d)")
    sweep.add_argument("--trials", type=int, default=50, help="a [search]: how many trials (default 50)")
    sweep.add_argument("--batch", type=int, default=8, help="a [search]: trials proposed at a time (default 8)")
    sweep.add_argument("--seed", type=int, default=0, help="a [search]: the sampler's seed (default 0)")
    sweep.add_argument("--json", action="store_true", help="print the results as JSON")
    sweep.add_argument("--html", type=Path, help="also write the frontier page here")
    sweep.add_argument("--scratch", help="where trials' temporary state goes (default /dev/shm, else the temp dir)")


def run(args: argparse.Namespace) -> int:
    from bot.research.cluster import Counted, open_runner
    from bot.research.frontier_html import render_frontier
    from bot.research.search import check_search, parse_search, run_search
    from bot.research.sweep import run_grid, run_walk_forward

    base, start, end = _base(args)
    data = read_space_file(args.grid)
    search = parse_search(data, str(args.grid)) if "search" in data else None
    if search is not None:
        check_search(base, search)
        if args.walk_forward:
            raise ConfigError("--walk-forward chooses among the values of a [grid]; a [search] runs on one period")
    combinations = [] if search is not None else check_grid(base, parse_grid(data, str(args.grid)))
    folds = _folds(args, start, end) if args.walk_forward else None
    _check_counts(args)
    runner = Counted(open_runner(args.workers, args.cluster, args.scratch))
    where = args.cluster or f"{args.workers or 'every'} local worker(s)"
    runs_per_fold = len(combinations) + 1  # every combination on the training period, the choice on the next
    trials = args.trials if search else len(folds) * runs_per_fold if folds else len(combinations)
    print(f"sweep: {trials} trial(s) on {where}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        if search is not None:
            results = run_search(
                runner, base, search, trials=args.trials, batch=args.batch, seed=args.seed,
                objective=args.objective, period=(start, end),
            )  # fmt: skip
        elif folds is None:
            results = run_grid(runner, base, combinations, start, end)
        else:
            outcomes = run_walk_forward(runner, base, combinations, folds, args.objective)
            output = _walk_forward_json(outcomes, args.objective)
            text, page = _walk_forward_table(outcomes, args.objective), [o.scored for o in outcomes]
        if folds is None:
            output = _grid_json(results, args.objective)
            text, page = _grid_table(results, args.objective), results
    finally:
        runner.close()
    elapsed = time.perf_counter() - started
    per_trial = runner.cpu_seconds / max(runner.trials, 1)
    print(f"sweep: {runner.trials} trial(s) in {elapsed:.1f} s; {per_trial:.2f} CPU s per trial", file=sys.stderr)
    print(json.dumps(output, indent=2) if args.json else text)
    if args.html:
        title = "hedgebot sweep" + (" (walk-forward, out of sample)" if folds else "")
        args.html.write_text(render_frontier(page, title=title), encoding="utf-8")
    return 0


def _check_counts(args: argparse.Namespace) -> None:
    for flag, value in (("--workers", args.workers), ("--trials", args.trials), ("--batch", args.batch)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value}: give at least 1")
    if args.workers is not None and args.cluster is not None:
        raise ConfigError("--workers and --cluster: give one (a cluster's workers are its own)")


def _base(args: argparse.Namespace) -> tuple[Config, date, date]:
    config = load_config(args.config)
    market = config.market
    files = {"prices": args.prices or market.prices, "funding": args.funding or market.funding}
    files["perp"] = args.perp or market.perp
    for flag, path in files.items():
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"--{flag} {path}: no such file")
        files[flag] = Path(path).resolve() if path is not None else None  # a worker's directory may differ
    start, end = args.start or market.start, args.end or market.end
    if files["prices"] is None or start is None or end is None:
        raise ConfigError("sweep needs --prices, --start and --end (or market.prices, start and end in the config)")
    if end <= start:
        raise ConfigError(f"--end {end} is not after --start {start}")
    base = with_overrides(config, market={"source": "replay", **files}, bot={"mode": "paper"})
    return base, start, end


def _folds(args: argparse.Namespace, start: date, end: date) -> list[walk_forward.Fold]:
    return walk_forward.folds(start, end, _days(args.train, "--train"), _days(args.test, "--test"))


def _days(text: str, flag: str) -> int:
    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None
    if ms <= 0 or ms % MS_PER_DAY:
        raise ConfigError(f"{flag} {text}: give whole days, like 90d")
    return ms // MS_PER_DAY


def _grid_json(results: Sequence[TrialResult], objective: str) -> dict[str, Any]:
    return {
        "objective": objective,
        "best": walk_forward.best(results, objective).index,
        "frontier": [r.index for r in frontier(results)],
        "trials": [r.as_json() for r in results],
    }


def _walk_forward_json(outcomes: Sequence[FoldOutcome], objective: str) -> dict[str, Any]:
    scored = [o.scored for o in outcomes]
    return {
        "objective": objective,
        "folds": [
            {
                "train": [o.fold.train_start.isoformat(), o.fold.train_end.isoformat()],
                "test": [o.fold.test_start.isoformat(), o.fold.test_end.isoformat()],
                "values": dict(o.chosen.overrides),
                "in_sample": o.chosen.as_json(),
                "out_of_sample": o.scored.as_json(),
            }
            for o in outcomes
        ],
        "out_of_sample_mean": {name: _mean(r.metric(name) for r in scored) for name in walk_forward.OBJECTIVES},
    }


def _mean(values: Any) -> float:
    items = list(values)
    return round(sum(items) / len(items), 6) if items else 0.0


_HEAD = "variance_red  drawdown_red        cost     funding  trades"


def _figures(r: TrialResult) -> str:
    return (
        f"{r.variance_reduction:12.4f}  {r.drawdown_reduction:12.4f}  {r.cost:10,.0f}  {r.funding:+10,.0f}"
        f"  {r.trades:6d}"
    )


def _values(r: TrialResult) -> str:
    return ", ".join(f"{key}={value}" for key, value in r.overrides) or "(the base config)"


def _grid_table(results: Sequence[TrialResult], objective: str) -> str:
    front = {r.index for r in frontier(results)}
    chosen = walk_forward.best(results, objective).index
    lines = [f"trial  {_HEAD}  values   (* frontier, > best {objective})"]
    for r in results:
        mark = (">" if r.index == chosen else " ") + ("*" if r.index in front else " ")
        lines.append(f"{r.index:4d}{mark} {_figures(r)}  {_values(r)}")
    return "\n".join(lines)


def _walk_forward_table(outcomes: Sequence[FoldOutcome], objective: str) -> str:
    lines = [f"chosen by {objective} on the training period, scored on the period after it (out of sample)"]
    lines.append(f"scored period             {_HEAD}  in-sample {objective}  values")
    for o in outcomes:
        period = f"{o.fold.test_start} → {o.fold.test_end}"
        lines.append(f"{period:24}  {_figures(o.scored)}  {o.chosen.metric(objective):20.4f}  {_values(o.chosen)}")
    return "\n".join(lines)
