"""Klines of a replay (`hedgebot exchange-sim --prices/--perp`): the files' own candles, from before the replay's
start up to the simulator's current time, paged by startTime/limit as Binance pages them, read back through the
real ccxt client and checked against the CSV read here independently (the csv module, not the loader)."""

from __future__ import annotations

import csv
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import MS_PER_DAY, MS_PER_HOUR, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.candles import Candle
from bot.exchange_sim.kline_history import load_kline_history
from bot.exchange_sim.settings import SimSettings
from bot.feeds.replay import ReplaySpec, load_replay

ETH_PERP = "ETH/USDT:USDT"
START = 1_614_556_800_000  # 2021-03-01: the replay starts here
NOW = START + 30 * MS_PER_HOUR  # the simulator has played 30 hours when the client asks
SINCE = START - 3 * MS_PER_DAY  # three days before the replay's start: history it never played


def csv_candles(path: Path, symbol: str, since: int, until: int) -> list[list[float]]:
    """[open ms, open, high, low, close, volume] of `symbol`'s candles opening in [since, until)."""
    rows = []
    with gzip.open(path, "rt", newline="") as text:
        for row in csv.DictReader(text):
            if row["symbol"] != symbol:
                continue
            opened = int(datetime.strptime(row["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
            if since <= opened * 1000 < until:
                values = [float(row[k]) for k in ("open", "high", "low", "close", "volume")]
                rows.append([opened * 1000, *values])
    return rows


@pytest_asyncio.fixture
async def replaying(prices_1h: Path, perp_1h: Path) -> AsyncIterator[ExchangeSim]:
    """The loopback exchange replaying BTC and ETH from 2021-03-01 (marks from the perp file), 30 hours in."""
    perps = (Symbol("BTC/USDT:USDT"), Symbol(ETH_PERP))
    spec = ReplaySpec(
        prices_1h, None, perp_1h, (Symbol("BTC/USDT"), Symbol("ETH/USDT")), perps, START, START + 3 * MS_PER_DAY
    )
    settings = SimSettings(bases=("BTC", "ETH"), quarterlies=False)
    sim = ExchangeSim(settings, load_replay(spec).events(), kline_history=load_kline_history(spec))
    await sim.start()
    while sim.exchange.now_ms < NOW:
        await sim.advance()
    try:
        yield sim
    finally:
        await sim.stop()


async def paged(client: Any, timeframe: str, length: int, params: dict[str, str] | None = None) -> list[list[float]]:
    """Every candle from SINCE on, read 20 at a time, each page starting after the last one read."""
    rows: list[list[float]] = []
    since = SINCE
    while page := await client.fetch_ohlcv(ETH_PERP, timeframe, since, 20, params or {}):
        rows.extend(page)
        since = int(page[-1][0]) + length
    return rows


@pytest.mark.data
@pytest.mark.asyncio
async def test_ccxt_pages_through_a_replays_hourly_klines_from_before_its_start_up_to_now_exactly_as_the_csv(
    replaying: ExchangeSim, perp_1h: Path, clients: Any
) -> None:
    client = clients(replaying)
    served = await paged(client, "1h", MS_PER_HOUR)
    marks = await paged(client, "1h", MS_PER_HOUR, {"price": "mark"})  # what hedgebot's warm-up reads

    expected = csv_candles(perp_1h, "ETHUSDT", SINCE, NOW - MS_PER_HOUR + 1)  # those closed by now
    assert len(expected) == 3 * 24 + 30  # 02-26 00:00 to 03-02 05:00: no outage gap in these days
    assert served == expected
    assert [row[:5] for row in marks] == [row[:5] for row in expected]
    assert served[-1][0] + MS_PER_HOUR == NOW  # the last candle closed at market time: nothing from the future


@pytest.mark.data
@pytest.mark.asyncio
async def test_a_four_hour_kline_of_a_replay_aggregates_the_files_hours(
    replaying: ExchangeSim, perp_1h: Path, clients: Any
) -> None:
    served = await paged(clients(replaying), "4h", 4 * MS_PER_HOUR)

    hours = csv_candles(perp_1h, "ETHUSDT", SINCE, NOW)
    expected = []
    for first in range(0, len(hours), 4):
        group = hours[first : first + 4]
        expected.append([group[0][0], group[0][1], max(h[2] for h in group), min(h[3] for h in group),
                         group[-1][4], pytest.approx(sum(h[5] for h in group))])  # fmt: skip
    assert served == expected  # the last, 04:00-08:00 of 03-02, holds the two hours closed by now (partial)


def test_without_a_perp_file_the_spot_candles_stand_for_the_contract_and_an_end_time_alone_gives_the_last_ones(
    tmp_path: Path,
) -> None:
    prices = tmp_path / "prices.csv"
    rows = [
        f"1970-01-01T{hour:02d}:00:00Z,SOLUSDT,{100 + hour},{101 + hour},{99 + hour},{100 + hour},7"
        for hour in range(10)
    ]
    prices.write_text("timestamp,symbol,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    history = load_kline_history(ReplaySpec(prices, perpetuals=(Symbol("SOL/USDT:USDT"),)))

    last_two = history.klines("SOLUSDT", MS_PER_HOUR, None, 5 * MS_PER_HOUR, 2, now_ms=10 * MS_PER_HOUR)
    up_to_now = history.klines("SOLUSDT", MS_PER_HOUR, None, None, 500, now_ms=3 * MS_PER_HOUR)

    assert history.covers("SOLUSDT", 4 * MS_PER_HOUR)
    assert not history.covers("SOLUSDT", 30 * 60_000)  # shorter than the file's candles: the live ones answer
    assert last_two == [Candle(4 * MS_PER_HOUR, 104, 105, 103, 104, 7), Candle(5 * MS_PER_HOUR, 105, 106, 104, 105, 7)]
    assert [c.open_ms for c in up_to_now] == [0, MS_PER_HOUR, 2 * MS_PER_HOUR]  # the 03:00 candle has not closed yet
