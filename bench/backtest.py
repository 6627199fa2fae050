"""The README backtest (config/backtest.toml, 2021-01-01 → 2023-01-01) beside what its work costs elsewhere.

In one process, each measured `--repeat` times in turn (medians printed): pandas' read of the same three CSV files,
the vectorised numpy reference of the same hedge (bench/hedge_reference.py: loads the files itself) and the
whole backtest (replay files read and checked → sanity layer → estimators → policy → limits → paper venue →
journal), on the fast path backtests use (`--per-event` adds the per-event path: every journal write its own
commit). Prints events/s, price rows/s and the ratios; the issue's targets are ≤ 2× the pandas load and
≥ 500,000 price rows/s.
Run: .venv/bin/python bench/backtest.py [--repeat 3] [--per-event] [--cpu] [--start 2021-01-01 --end 2023-01-01]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hedge_reference

from bot import logs
from bot.config import Config, load_config, with_overrides
from bot.live.assembly import as_fast_as_possible, build_daemon, journal_for, replay_plan
from bot.live.session import FAST_BATCH_INSTANTS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRICES, FUNDING, PERP = DATA / "prices_1h.csv.gz", DATA / "funding_8h.csv.gz", DATA / "perp_1h.csv.gz"
T = TypeVar("T")


def config_for(state_dir: str, start: date, end: date) -> Config:
    market = {"prices": PRICES, "funding": FUNDING, "perp": PERP, "start": start, "end": end}
    return with_overrides(load_config(REPO / "config" / "backtest.toml"), bot={"state_dir": state_dir}, market=market)


def pandas_load() -> int:
    return sum(len(pd.read_csv(path)) for path in (PRICES, FUNDING, PERP))


def backtest(config: Config, batch_instants: int) -> tuple[int, float]:
    """The backtest as `hedgebot backtest` runs it: (events, variance reduction)."""
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    plan = replay_plan(config)
    journal = journal_for(config, durable=False, name="backtest.sqlite")
    daemon = build_daemon(config, plan, journal)
    daemon.batch_instants = batch_instants

    async def go() -> tuple[int, float]:
        await daemon.start()
        summary = await daemon.run(as_fast_as_possible(plan.events))
        return summary.totals.events, summary.effectiveness.variance_reduction

    try:
        return asyncio.run(go())
    finally:
        journal.close()


def timed(work: Callable[[], T], clock: Callable[[], float] = time.perf_counter) -> tuple[float, T]:
    started = clock()
    result = work()
    return clock() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--per-event", action="store_true", help="also time the per-event path")
    parser.add_argument("--cpu", action="store_true", help="CPU seconds of this process, not wall (a busy machine)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2021, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2023, 1, 1))
    args = parser.parse_args()
    if not PRICES.exists():
        print(f"skipped: {PRICES} is absent (../shared/data beside the repository)")
        return 0
    price_rows = len(pd.read_csv(PRICES, usecols=["symbol"]))
    times: dict[str, list[float]] = {"load": [], "reference": [], "fast": [], "per_event": []}
    clock = time.process_time if args.cpu else time.perf_counter
    with tempfile.TemporaryDirectory() as state:
        config = config_for(state, args.start, args.end)
        for _ in range(args.repeat):  # interleaved: a busy neighbour slows every column alike
            seconds, rows = timed(pandas_load, clock)
            times["load"].append(seconds)
            seconds, reference = timed(lambda: hedge_reference.run(PRICES, PERP, str(args.start), str(args.end)), clock)
            times["reference"].append(seconds)
            seconds, result = timed(lambda: backtest(config, FAST_BATCH_INSTANTS), clock)
            times["fast"].append(seconds)
            if args.per_event:
                seconds, slow = timed(lambda: backtest(config, 0), clock)
                times["per_event"].append(seconds)
                assert slow == result, f"the per-event path gave {slow}, the fast path {result}"
    events, reduction = result
    load, fast = statistics.median(times["load"]), statistics.median(times["fast"])
    ref = statistics.median(times["reference"])
    print(f"files: prices_1h + funding_8h + perp_1h = {rows:,} rows; prices_1h alone {price_rows:,}")
    print(f"{'pandas read_csv of the three files':<40} {load:7.2f} s  {rows / load:>11,.0f} rows/s")
    name, vr = "numpy reference (loads its own files)", reference.variance_reduction
    print(f"{name:<40} {ref:7.2f} s  variance reduction {vr:.3f} (no funding, clips, limits)")
    print(
        f"{'hedgebot backtest, fast path':<40} {fast:7.2f} s  {price_rows / fast:>11,.0f} price rows/s, "
        f"{events / fast:,.0f} events/s ({events:,} events), variance reduction {reduction:.3f}"
    )
    if times["per_event"]:
        per_event = statistics.median(times["per_event"])
        name = "hedgebot backtest, per-event path"
        print(f"{name:<40} {per_event:7.2f} s  {events / per_event:>11,.0f} events/s (the same result)")
    print(
        f"ratios: backtest / pandas load {fast / load:.1f}x (target ≤ 2x); backtest / numpy reference {fast / ref:.1f}x"
    )
    print(f"medians of {args.repeat} interleaved run(s), {'CPU' if args.cpu else 'wall'} seconds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
