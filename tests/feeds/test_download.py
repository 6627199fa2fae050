"""`hedgebot data download` against the loopback exchange: the CSVs it writes are what the replay reads.

The exchange plays 30 hours of BTC and ETH prices every 15 minutes, with one funding settlement at its own
rate; the download, in small pages, must give back every closed hourly candle's close and every settlement.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.config import VenueSection
from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, FundingObserved, MarketEvent, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim
from bot.feeds.csvformat import CANDLE_COLUMNS, FUNDING_COLUMNS
from bot.feeds.download import (
    FUNDING_FILE,
    PERP_FILE,
    DownloadError,
    DownloadSpec,
    download_history,
)
from bot.feeds.replay import ReplaySpec, load_replay
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import make_client

pytestmark = pytest.mark.asyncio

BTC_PERP, ETH_PERP = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
STEP_MS, STEPS = 15 * MS_PER_MINUTE, 30 * 4  # 30 hours of quarter-hour prices
HEDGEBOT = str(Path(sys.executable).with_name("hedgebot"))  # the console script of this environment
GUARD_S = 30.0  # a hung download fails the test instead of hanging it; never a synchronisation delay


def btc_at(k: int) -> float:
    return 30_000.0 + 10.0 * k


def eth_at(k: int) -> float:
    return 2_000.0 + 0.5 * k


def tape() -> list[MarketEvent]:
    events: list[MarketEvent] = []
    for k in range(STEPS):
        ts = T0 + k * STEP_MS
        events += priced(ts, btc_at(k), eth_at(k))
        if ts == T0 + 16 * MS_PER_HOUR:  # BTC settles at 0.03 % at 16:00 instead of the base rate
            events.append(FundingObserved(ts, BTC_PERP, 0.0003, ts))
    return events


@pytest_asyncio.fixture
async def history_sim() -> AsyncIterator[ExchangeSim]:
    async with running_sim(events=tape()) as simulator:
        yield simulator


@pytest_asyncio.fixture
async def client(history_sim: ExchangeSim) -> AsyncIterator[Any]:
    made = make_client(VenueSection(endpoint=history_sim.base_url), overrides={"enableRateLimit": False})
    yield made
    await made.close()


def closes(k_of_hour: int, price: Any) -> float:
    """The close of an hourly candle: the last quarter-hour price in it."""
    return float(price(4 * k_of_hour + 3))


async def test_downloaded_candles_and_funding_replay_as_the_exchanges_prices_and_settlements(
    history_sim: ExchangeSim, client: Any, tmp_path: Path
) -> None:
    spec = DownloadSpec((BTC_PERP, ETH_PERP), T0, T0 + 24 * MS_PER_HOUR, page_limit=5)  # many pages
    result = await asyncio.wait_for(download_history(client, spec, tmp_path), GUARD_S)
    assert set(result.files) == {PERP_FILE, FUNDING_FILE}  # perpetuals only: no spot prices file
    assert result.files[PERP_FILE] == 48
    assert result.rows[f"{BTC_PERP} perp"] == result.rows[f"{ETH_PERP} perp"] == 24
    assert result.dropped == 0

    perp, funding = tmp_path / PERP_FILE, tmp_path / FUNDING_FILE
    replay = load_replay(ReplaySpec(prices=perp, perp=perp, funding=funding, perpetuals=(BTC_PERP, ETH_PERP)))
    prices = [e for e in replay.events() if isinstance(e, PriceObserved) and e.symbol == BTC_PERP]
    assert [(e.ts, e.price) for e in prices] == [(T0 + (h + 1) * MS_PER_HOUR, closes(h, btc_at)) for h in range(24)]
    eth = [e.price for e in replay.events() if isinstance(e, PriceObserved) and e.symbol == ETH_PERP]
    assert eth == [closes(h, eth_at) for h in range(24)]

    settled = {(e.symbol, e.ts): e.rate for e in replay.events() if isinstance(e, FundingObserved)}
    market = history_sim.exchange.market
    expected = {
        (symbol, due.ts): due.rate
        for symbol in (BTC_PERP, ETH_PERP)
        for due in market.funding(history_sim.exchange.catalog.by_symbol(symbol)).history  # type: ignore[arg-type, union-attr]  # both are listed perpetuals
        if T0 <= due.ts < spec.until_ms
    }
    assert settled == expected
    assert settled[(BTC_PERP, T0 + 16 * MS_PER_HOUR)] == 0.0003


async def test_the_files_are_gzip_csv_in_long_form_sorted_with_the_shared_data_headers(
    client: Any, tmp_path: Path
) -> None:
    await download_history(client, DownloadSpec((ETH_PERP, BTC_PERP), T0, T0 + 24 * MS_PER_HOUR), tmp_path)
    with gzip.open(tmp_path / PERP_FILE, "rt") as text:
        lines = text.read().splitlines()
    assert lines[0] == ",".join(CANDLE_COLUMNS)
    first = [line.rsplit(",", 1) for line in lines[1:3]]  # the volume last: the simulated market's own trades
    assert [ohlc for ohlc, _volume in first] == [
        f"2026-01-01T00:00:00Z,BTCUSDT,{30_000},{30_030},{30_000},{30_030}",
        f"2026-01-01T00:00:00Z,ETHUSDT,{2_000},2001.5,{2_000},2001.5",
    ]
    assert all(float(volume) >= 0 for _ohlc, volume in first)
    rows = [tuple(line.split(",")[:2]) for line in lines[1:]]
    assert rows == sorted(set(rows))  # by (timestamp, symbol), no duplicates
    with gzip.open(tmp_path / FUNDING_FILE, "rt") as text:
        assert text.readline().strip() == ",".join(FUNDING_COLUMNS)


async def test_a_candle_still_open_at_the_end_of_the_range_is_not_written(client: Any, tmp_path: Path) -> None:
    until = T0 + 5 * MS_PER_HOUR + 30 * MS_PER_MINUTE  # the 05:00 candle has not closed
    result = await download_history(client, DownloadSpec((BTC_PERP,), T0, until), tmp_path)
    assert result.rows[f"{BTC_PERP} perp"] == 5


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("SOL/USDT", "lists neither it nor a perpetual SOL/USDT:USDT"),
        ("BTC/USDT:USDT-260327", "a future market"),
    ],
)
async def test_a_symbol_the_exchange_cannot_give_is_refused_by_name_before_anything_is_written(
    client: Any, tmp_path: Path, symbol: str, message: str
) -> None:
    with pytest.raises(DownloadError, match=message):
        await download_history(client, DownloadSpec((BTC_PERP, Symbol(symbol)), T0, T0 + MS_PER_HOUR), tmp_path)
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 -- a directory listing in a test, after the await


async def test_the_data_download_command_writes_the_files_through_the_endpoint(
    history_sim: ExchangeSim, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    command = [HEDGEBOT, "data", "download", "--exchange", "binanceusdm",
               "--symbols", f"{BTC_PERP},{ETH_PERP}", "--since", "2026-01-01", "--until", "2026-01-02",
               "--out", str(out), "--endpoint", history_sim.base_url]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode == 0, stderr.decode()
    assert f"{out / PERP_FILE}: 48 rows" in stdout.decode()
    assert sorted(p.name for p in out.iterdir()) == sorted([PERP_FILE, FUNDING_FILE])


async def test_the_data_download_command_names_a_symbol_it_cannot_get_and_exits_2(
    history_sim: ExchangeSim, tmp_path: Path
) -> None:
    command = [HEDGEBOT, "data", "download", "--symbols", "DOGE/USDT", "--since", "2026-01-01",
               "--until", "2026-01-02", "--out", str(tmp_path), "--endpoint", history_sim.base_url]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode == 2
    assert "DOGE/USDT" in stderr.decode()
