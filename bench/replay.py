"""Replay benchmark: the backtest over all of ../shared/data/prices_1h.csv.gz versus merely loading it.

Prints rows per second of the full engine (replay → estimators → policy → limits → paper venue → journal)
over every spot symbol in the file, and the time pandas alone needs to read the same files, side by side.
Run: .venv/bin/python bench/replay.py
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bot.config import Config, parse_config
from bot.live.assembly import as_fast_as_possible, build_daemon, journal_for, replay_plan

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PRICES, FUNDING, PERP = DATA / "prices_1h.csv.gz", DATA / "funding_8h.csv.gz", DATA / "perp_1h.csv.gz"
ALTS = [
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
]


def _config(state_dir: str) -> Config:
    return parse_config(
        {
            "bot": {"state_dir": state_dir, "log_level": "warning"},
            "market": {"source": "replay", "prices": str(PRICES), "funding": str(FUNDING), "perp": str(PERP)},
            "portfolio": {"holdings_value": {alt: 10_000.0 for alt in ALTS}},
            "hedge": {"instruments": ["BTC/USDT:USDT", "ETH/USDT:USDT"], "policy": "min_variance"},
            "risk": {"max_price_age": "2h", "max_order_notional": 50_000.0},
            "execution": {"clip_notional": 10_000.0, "clip_interval": "1m"},
        },
        "bench",
    )


def time_pandas_load() -> tuple[float, int]:
    start = time.perf_counter()
    rows = 0
    for path in (PRICES, FUNDING, PERP):
        rows += len(pd.read_csv(path))
    return time.perf_counter() - start, rows


def time_backtest(config: Config) -> tuple[float, int, int]:
    from bot import logs

    logs.configure(config.path_in_state("bench.log"), "warning")
    start = time.perf_counter()
    plan = replay_plan(config)
    journal = journal_for(config, durable=False, name="bench.sqlite")
    daemon = build_daemon(config, plan, journal)

    async def go() -> int:
        await daemon.start()
        summary = await daemon.run(as_fast_as_possible(plan.events))
        return summary.totals.events

    events = asyncio.run(go())
    journal.close()
    return time.perf_counter() - start, events, daemon.totals.fills


def main() -> int:
    if not PRICES.exists():
        print(f"skipped: {PRICES} is absent (../shared/data beside the repository)")
        return 0
    with tempfile.TemporaryDirectory() as state:
        config = _config(state)
        load_s, rows = time_pandas_load()
        backtest_s, events, fills = time_backtest(config)
        peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    price_rows = len(pd.read_csv(PRICES, usecols=["symbol"]))
    print(f"files: prices_1h + funding_8h + perp_1h = {rows:,} rows; prices_1h alone {price_rows:,} rows")
    print(f"{'pandas read_csv of the three files':<44} {load_s:8.2f} s  {rows / load_s:>12,.0f} rows/s")
    print(
        f"{'full backtest (17 spot series, 2 perps)':<44} {backtest_s:8.2f} s  {price_rows / backtest_s:>12,.0f} "
        f"price rows/s  ({events / backtest_s:,.0f} events/s, {events:,} events, {fills:,} fills)"
    )
    print(
        f"backtest / load time ratio: {backtest_s / load_s:.1f}x; peak resident memory {peak_rss_kib / 1024:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
