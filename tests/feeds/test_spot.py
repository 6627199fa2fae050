"""Spot prices of holdings: which source stands for a holding (SourceChoice), and the spot feed on the loopback
exchange's Binance spot API through an unmodified ccxt.pro client."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim.settings import SimSettings
from bot.execution.venue_errors import Fatal
from bot.feeds.exchange import FeedSettings
from bot.feeds.spot import SourceChoice, SpotFeed
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import make_spot_client
from bot.venues.ccxt_errors import Backoff

SOL = Symbol("SOL/USDT")


def sol(ts: int, price: float = 100.0) -> PriceObserved:
    return PriceObserved(ts, SOL, price)


def test_the_first_source_prices_the_holding_and_the_second_waits_while_it_is_fresh() -> None:
    choice = SourceChoice({SOL: ["binance:SOL/USDT", "okx:SOL/USDT"]}, max_age_ms=30_000)
    assert choice.admit("binance:SOL/USDT", sol(0))
    assert not choice.admit("okx:SOL/USDT", sol(20_000))
    assert choice.source_of[SOL] == "binance:SOL/USDT"


def test_the_second_source_takes_over_once_the_first_is_stale_and_gives_back_when_it_returns() -> None:
    choice = SourceChoice({SOL: ["binance:SOL/USDT", "okx:SOL/USDT"]}, max_age_ms=30_000)
    choice.admit("binance:SOL/USDT", sol(0))
    assert choice.admit("okx:SOL/USDT", sol(31_000))
    assert choice.source_of[SOL] == "okx:SOL/USDT"
    assert choice.admit("binance:SOL/USDT", sol(40_000))
    assert not choice.admit("okx:SOL/USDT", sol(41_000))


def test_a_price_older_than_one_already_given_is_never_handed_on() -> None:
    choice = SourceChoice({SOL: ["binance:SOL/USDT", "index"]}, max_age_ms=30_000)
    choice.admit("index", sol(50_000))
    assert not choice.admit("binance:SOL/USDT", sol(49_000))


def test_a_source_not_listed_for_the_holding_prices_nothing() -> None:
    choice = SourceChoice({SOL: ["binance:SOL/USDT"]}, max_age_ms=30_000)
    assert not choice.admit("index", sol(0))


@pytest.mark.asyncio
async def test_the_spot_feed_gives_the_snapshot_then_each_streamed_price() -> None:
    tape = [*priced(T0), sol(T0)]
    async with running_sim(SimSettings(spot_only=("SOL",)), tape) as sim:
        client = make_spot_client("binance", sim.base_url + "/spot", overrides={"enableRateLimit": False})
        feed = SpotFeed(client, [SOL], FeedSettings(backoff=Backoff(initial_s=0.01, cap_s=0.05), stall_timeout_s=None))
        seen: asyncio.Queue[PriceObserved] = asyncio.Queue()
        task = asyncio.create_task(feed.run(seen.put_nowait))
        try:
            assert await asyncio.wait_for(seen.get(), 10) == sol(T0)
            await sim.spot.hub.wait_subscribed("solusdt@miniTicker")
            sim.push(sol(T0 + 1_000, 101.5))
            assert await asyncio.wait_for(seen.get(), 10) == sol(T0 + 1_000, 101.5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await feed.close()


@pytest.mark.asyncio
async def test_a_pair_the_spot_exchange_does_not_list_ends_the_feed_naming_it() -> None:
    async with running_sim() as sim:
        client = make_spot_client("binance", sim.base_url + "/spot", overrides={"enableRateLimit": False})
        feed = SpotFeed(client, [SOL], FeedSettings())
        try:
            with pytest.raises(Fatal, match="binance does not list SOL/USDT"):
                await feed.run(lambda event: None)
        finally:
            await feed.close()


@pytest.mark.asyncio
async def test_a_dropped_spot_stream_reconnects_and_re_syncs_by_rest() -> None:
    async with running_sim(SimSettings(spot_only=("SOL",)), [*priced(T0), sol(T0)]) as sim:
        client = make_spot_client("binance", sim.base_url + "/spot", overrides={"enableRateLimit": False})
        feed = SpotFeed(client, [SOL], FeedSettings(backoff=Backoff(initial_s=0.01, cap_s=0.05), stall_timeout_s=None))
        seen: asyncio.Queue[PriceObserved] = asyncio.Queue()
        task = asyncio.create_task(feed.run(seen.put_nowait))
        try:
            await asyncio.wait_for(seen.get(), 10)
            await sim.spot.hub.wait_subscribed("solusdt@miniTicker")
            sim.spot.stream_faults.silence()
            sim.push(sol(T0 + 1_000, 99.0))  # missed by the stream ...
            await sim.spot.hub.drop_all()
            sim.spot.stream_faults.speak()
            assert await asyncio.wait_for(seen.get(), 10) == sol(T0 + 1_000, 99.0)  # ... read by REST
            assert feed.stats.reconnects >= 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await feed.close()
