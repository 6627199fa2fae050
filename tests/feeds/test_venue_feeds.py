"""Hedge legs on several venues: each venue's market streams on its own client, merged into one stream of events
(real ccxt.pro clients against two loopback exchanges, each listing one perpetual)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from bot.config import VenueSection
from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.feeds.exchange import ExchangeFeed, FeedSettings
from bot.feeds.venue_feeds import VenueFeeds
from bot.testing.loopback import BTC_PERP, ETH_PERP, T0, running_sim
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff

pytestmark = pytest.mark.asyncio

NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}
GUARD_S = 10.0  # a broken stream fails the test instead of hanging it; never a synchronisation delay
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, GUARD_S)


def _feed(sim: ExchangeSim, symbol: Symbol) -> ExchangeFeed:
    client = make_client(VenueSection(endpoint=sim.base_url), overrides=NO_THROTTLE)  # public: no key
    settings = FeedSettings(backoff=Backoff(initial_s=0.005, cap_s=0.05), stall_timeout_s=None)
    return ExchangeFeed(client, [symbol], settings, owns_client=True)


async def _priced(feed: VenueFeeds, wanted: set[Symbol]) -> set[Symbol]:
    seen: set[Symbol] = set()
    async for event in feed:
        if isinstance(event, PriceObserved):
            seen.add(event.symbol)
        if wanted <= seen:
            return seen
    return seen


async def test_each_venues_contracts_are_priced_by_its_own_exchange_in_one_stream_and_close_stops_them_all() -> None:
    async with (
        running_sim(SimSettings(bases=("ETH",))) as main,
        running_sim(SimSettings(bases=("BTC",))) as second,  # the only exchange listing the BTC perpetual
    ):
        feed = VenueFeeds({"main": _feed(main, ETH_PERP), "second": _feed(second, BTC_PERP)})
        async with feed:
            assert await guarded(_priced(feed, {ETH_PERP, BTC_PERP})) == {ETH_PERP, BTC_PERP}
        for member in feed.feeds.values():
            with pytest.raises(StopAsyncIteration):
                await member.__anext__()
        with pytest.raises(StopAsyncIteration):
            await feed.__anext__()


async def test_a_reconnect_of_another_venues_streams_is_told_under_that_venues_name() -> None:
    async with running_sim(SimSettings(bases=("ETH",))) as main, running_sim(SimSettings(bases=("BTC",))) as second:
        told: list[str] = []
        feed = VenueFeeds({"main": _feed(main, ETH_PERP), "second": _feed(second, BTC_PERP)})
        feed.on_reconnect = told.append
        async with feed:
            await guarded(_priced(feed, {ETH_PERP, BTC_PERP}))
            await guarded(second.hub.wait_subscribed("btcusdt@markPrice@1s"))
            second.faults.unavailable(times=None, path="/market/ws/0")  # reconnects fail until cleared
            assert await second.faults.drop_websockets() >= 1
            second.push(PriceObserved(T0 + 1_000, BTC_PERP, 30_200.0))
            second.faults.clear()
            await guarded(_price(feed, BTC_PERP, 30_200.0))  # back, from the re-sync or the new subscription
        assert "second.marks" in told
        assert all(name.startswith("second.") for name in told)  # only its streams dropped


async def _price(feed: VenueFeeds, symbol: Symbol, price: float) -> None:
    async for event in feed:
        if isinstance(event, PriceObserved) and (event.symbol, event.price) == (symbol, price):
            return
