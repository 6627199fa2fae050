"""How the cost per event grows with the book: holdings 4/10/17, hedge instruments 1/2/5, window 7/30/120 days.

Each row is config/backtest.toml on the real files over one period (default 2022-01-01 → 2022-03-01, each window
warmed up before it), with one key changed from the template's (10 holdings, BTC and ETH perpetuals, 30 days); the
file load is timed apart from the run. The work is per hourly instant (sampling, deciding, valuing), and a longer
window warms up on more history (more events, cheap ones), so ms per traded hour is the column to compare. The
issue's targets: flat in the window length, and within 1.3× from 2 to 5 hedge instruments.
Run: .venv/bin/python bench/scaling.py [--cpu] [--start 2022-01-01 --end 2022-03-01] (--cpu: CPU seconds, steadier
on a busy machine than wall seconds)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bot import logs
from bot.config import Config, load_config, with_overrides
from bot.live.assembly import as_fast_as_possible, build_daemon, journal_for, replay_plan
from bot.live.session import FAST_BATCH_INSTANTS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRICES, FUNDING, PERP = DATA / "prices_1h.csv.gz", DATA / "funding_8h.csv.gz", DATA / "perp_1h.csv.gz"
ASSETS = [
    "ETH",
    "SOL",
    "BNB",
    "XRP",
    "ADA",
    "DOGE",
    "AVAX",
    "LINK",
    "DOT",
    "LTC",
    "MATIC",
    "TRX",
    "BCH",
    "NEAR",
    "ATOM",
    "UNI",
    "BTC",
]  # every spot pair: 17
PERPS = ("BTC", "ETH", "XRP", "LTC", "ADA")  # every perpetual in perp_1h


def holdings(count: int) -> dict[str, float]:
    return {asset: 10_000.0 for asset in ASSETS[:count]}


def hedges(count: int) -> list[str]:
    return [f"{base}/USDT:USDT" for base in PERPS[:count]]


def config_for(state: str, start: date, end: date, **change: Any) -> Config:
    market = {"prices": PRICES, "funding": FUNDING, "perp": PERP, "start": start, "end": end}
    base = load_config(REPO / "config" / "backtest.toml")
    portfolio = {"holdings_value": change.pop("holdings")} if "holdings" in change else {}
    return with_overrides(base, bot={"state_dir": state}, market=market, portfolio=portfolio, hedge=change)


def measure(config: Config, clock: Callable[[], float] = time.perf_counter) -> tuple[float, float, int]:
    """(seconds loading the files, seconds running the daemon over them, events); `clock`: wall or CPU time."""
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    started = clock()
    plan = replay_plan(config)
    loaded = clock()
    journal = journal_for(config, durable=False, name="scaling.sqlite")
    daemon = build_daemon(config, plan, journal)
    daemon.batch_instants = FAST_BATCH_INSTANTS

    async def go() -> int:
        await daemon.start()
        return (await daemon.run(as_fast_as_possible(plan.events))).totals.events

    try:
        events = asyncio.run(go())
    finally:
        journal.close()
    return loaded - started, clock() - loaded, events


def table(title: str, rows: list[tuple[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    print(f"\n{title}\n| {'setting':<22} | load s | run s | events | µs/event | ms/traded hour | vs first |")
    print(f"|{'-' * 24}|--------|-------|--------|----------|----------------|----------|")
    hours = (args.end - args.start).days * 24
    first = None
    for label, change in rows:
        with tempfile.TemporaryDirectory() as state:
            clock = time.process_time if args.cpu else time.perf_counter
            load, run, events = measure(config_for(state, args.start, args.end, **change), clock)
        per_event, per_hour = run / events * 1e6, run / hours * 1e3
        first = first or per_hour
        print(
            f"| {label:<22} | {load:6.2f} | {run:5.2f} | {events:6,} | {per_event:8.1f} | {per_hour:14.2f} "
            f"| {per_hour / first:7.2f}x |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2022, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2022, 3, 1))
    parser.add_argument("--cpu", action="store_true", help="CPU seconds of this process, not wall (a busy machine)")
    args = parser.parse_args()
    if not PRICES.exists():
        print(f"skipped: {PRICES} is absent (../shared/data beside the repository)")
        return 0
    print(f"config/backtest.toml, {args.start} → {args.end}, one key changed per row")
    table(
        "holdings (hedges BTC, ETH; window 30d)",
        [(f"{n} holdings", {"holdings": holdings(n)}) for n in (4, 10, 17)],
        args,
    )
    table(
        "hedge instruments (10 holdings; window 30d)",
        [(f"{n} hedges", {"instruments": hedges(n)}) for n in (1, 2, 5)],
        args,
    )
    table("window (10 holdings; BTC, ETH)", [(f"window {d}d", {"window": f"{d}d"}) for d in (7, 30, 120)], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
