"""Live market streams through the real ccxt.pro client against the loopback exchange (bot/exchange_sim)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from bot.config import VenueSection, parse_config
from bot.domain import (
    MS_PER_HOUR,
    BookObserved,
    FundingObserved,
    MarketEvent,
    PriceObserved,
    Symbol,
)
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.streams import Payload
from bot.execution.venue_errors import Fatal
from bot.feeds.exchange import ExchangeFeed, FeedSettings, exchange_feed
from bot.testing.loopback import T0
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue

pytestmark = pytest.mark.asyncio

PERP, ETH_PERP, MARCH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("BTC/USDT:USDT-260327")
ETH_SPOT = Symbol("ETH/USDT")
FAST = Backoff(initial_s=0.005, cap_s=0.05)
NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}
GUARD_S = 10.0  # a broken stream fails the test instead of hanging it; never a synchronisation delay
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, GUARD_S)


FeedFactory = Callable[..., ExchangeFeed]


@pytest_asyncio.fixture
async def feeds() -> AsyncIterator[FeedFactory]:
    """make(sim, symbols, stall_timeout_s=None) -> a feed on its own public client, closed after the test."""
    made: list[ExchangeFeed] = []

    def make(simulator: ExchangeSim, symbols: list[Symbol], *, stall_timeout_s: float | None = None) -> ExchangeFeed:
        client = make_client(VenueSection(endpoint=simulator.base_url), overrides=NO_THROTTLE)  # no key: public
        settings = FeedSettings(backoff=FAST, stall_timeout_s=stall_timeout_s)
        feed = ExchangeFeed(client, symbols, settings, owns_client=True)
        made.append(feed)
        return feed

    yield make
    for feed in made:
        await feed.close()


async def until(feed: ExchangeFeed, done: Callable[[MarketEvent], bool]) -> list[MarketEvent]:
    """Events in arrival order up to and including the first one `done` accepts."""
    seen: list[MarketEvent] = []
    while True:
        event = await guarded(anext(feed))
        seen.append(event)
        if done(event):
            return seen


def price_of(symbol: Symbol, price: float) -> Callable[[MarketEvent], bool]:
    return lambda e: isinstance(e, PriceObserved) and e.symbol == symbol and e.price == price


async def test_the_feed_emits_marks_index_prices_funding_and_books_of_the_symbols_asked_for(
    sim: ExchangeSim, feeds: FeedFactory
) -> None:
    sim.push(FundingObserved(T0 + 1, PERP, 0.0003, T0 + 8 * MS_PER_HOUR))
    feed = feeds(sim, [PERP, MARCH, ETH_SPOT])
    wanted = {("mark", PERP), ("mark", MARCH), ("index", ETH_SPOT), ("funding", PERP), ("book", PERP), ("book", MARCH)}
    seen: set[tuple[str, Symbol]] = set()
    events: list[MarketEvent] = []
    while not wanted <= seen:
        event = await guarded(anext(feed))
        events.append(event)
        kind = {PriceObserved: "mark", BookObserved: "book", FundingObserved: "funding"}[type(event)]
        seen.add(("index" if event.symbol == ETH_SPOT else kind, event.symbol))
    funding = next(e for e in events if isinstance(e, FundingObserved))
    book = next(e for e in events if isinstance(e, BookObserved) and e.symbol == PERP)
    assert seen == wanted  # nothing for symbols not asked for (ETH's perpetual only lends its index)
    assert (funding.rate, funding.next_funding_ts) == (0.0003, T0 + 8 * MS_PER_HOUR)
    assert book.bid < book.ask
    assert next(e for e in events if e.symbol == ETH_SPOT) == PriceObserved(T0 + 1, ETH_SPOT, 2_000.0)


async def test_a_new_price_at_the_exchange_arrives_as_a_newer_event(sim: ExchangeSim, feeds: FeedFactory) -> None:
    feed = feeds(sim, [PERP])
    await until(feed, price_of(PERP, 30_000.0))
    sim.push(PriceObserved(T0 + 1_000, PERP, 30_100.0))
    [*_, moved] = await until(feed, price_of(PERP, 30_100.0))
    assert moved.ts == T0 + 1_000


async def test_after_the_exchange_drops_the_websockets_the_feed_reconnects_resyncs_and_streams_again(
    sim: ExchangeSim, feeds: FeedFactory
) -> None:
    feed = feeds(sim, [PERP])
    await until(feed, price_of(PERP, 30_000.0))
    await guarded(sim.hub.wait_subscribed("btcusdt@markPrice@1s"))
    sim.faults.unavailable(times=None, path="/market/ws/0")  # reconnects fail until cleared
    assert await sim.faults.drop_websockets() >= 1
    sim.push(PriceObserved(T0 + 1_000, PERP, 30_200.0))  # while nobody listens
    sim.faults.clear()
    await until(feed, price_of(PERP, 30_200.0))  # from the re-sync snapshot or the new subscription
    sim.push(PriceObserved(T0 + 2_000, PERP, 30_300.0))
    await until(feed, price_of(PERP, 30_300.0))  # the stream itself is back
    assert feed.stats["marks"].reconnects >= 1
    assert feed.stats["marks"].resyncs >= 2  # on the first connection and after the drop
    assert feed.reconnects >= 1


async def test_a_silent_stream_is_resynced_by_rest_so_prices_keep_coming(sim: ExchangeSim, feeds: FeedFactory) -> None:
    feed = feeds(sim, [PERP], stall_timeout_s=0.05)
    await until(feed, price_of(PERP, 30_000.0))
    sim.faults.silence(user=False)  # connections stay open, nothing is sent
    sim.push(PriceObserved(T0 + 1_000, PERP, 30_400.0))
    await until(feed, price_of(PERP, 30_400.0))
    assert feed.stats["marks"].stalls >= 1
    assert feed.stats["marks"].reconnects == 0


async def test_a_new_value_in_the_same_millisecond_is_handed_over_and_a_repeat_is_not(
    sim: ExchangeSim, feeds: FeedFactory
) -> None:
    feed = feeds(sim, [ETH_PERP, ETH_SPOT])
    await until(feed, price_of(ETH_PERP, 2_000.0))
    sim.push(PriceObserved(T0 + 1_000, ETH_SPOT, 2_100.0))  # the index moves: its update repeats the old mark
    seen = await until(feed, price_of(ETH_SPOT, 2_100.0))
    sim.push(PriceObserved(T0 + 1_000, ETH_PERP, 2_100.0))  # the mark moves in the same millisecond
    seen += await until(feed, price_of(ETH_PERP, 2_100.0))
    index = [e for e in seen if e.symbol == ETH_SPOT and e.ts == T0 + 1_000]
    assert index == [PriceObserved(T0 + 1_000, ETH_SPOT, 2_100.0)]  # the repeat in the second update is dropped


def on_btc_mark_stream(message: dict[str, Any], stream: str) -> list[Payload]:
    """What the simulator should send on `stream`: `message` on BTC's mark-price stream, nothing elsewhere."""
    return [message] if stream.startswith("btcusdt@markPrice") else []


async def test_each_malformed_mark_price_message_is_dropped_and_counted_and_the_stream_carries_on(
    sim: ExchangeSim, feeds: FeedFactory
) -> None:
    feed = feeds(sim, [PERP, ETH_PERP])
    await until(feed, price_of(PERP, 30_000.0))
    bad: list[dict[str, Any]] = [
        {"e": "markPriceUpdate", "E": T0 + 10, "s": "BTCUSDT", "p": "NaN", "i": "1", "r": "0.0001", "T": T0 + 9},
        {"e": "markPriceUpdate", "E": T0 + 11, "s": "BTCUSDT", "p": "-5", "i": "1", "r": "0.0001", "T": T0 + 9},
        {"e": "markPriceUpdate", "E": T0 + 12, "s": "BTCUSDT", "p": "1e300", "i": "1", "r": "0.9", "T": T0 + 9},
        {"e": "markPriceUpdate", "s": "BTCUSDT", "p": "30000.0"},  # no event time
        {"e": "markPriceUpdate", "E": T0 + 13, "s": ["not", "a", "symbol"], "p": "1"},  # ccxt itself fails on it
    ]
    given: list[MarketEvent] = []
    for n, message in enumerate(bad, start=1):
        dropped = feed.dropped
        sim.hub.publish_market(functools.partial(on_btc_mark_stream, message))
        sim.push(PriceObserved(T0 + n, ETH_PERP, 2_000.0 + n))  # a good message right behind the bad one
        given += await until(feed, price_of(ETH_PERP, 2_000.0 + n))
        assert feed.dropped > dropped, message
    sim.push(PriceObserved(T0 + 1_000, PERP, 30_500.0))
    await until(feed, price_of(PERP, 30_500.0))
    assert [e for e in given if isinstance(e, PriceObserved) and e.symbol == PERP] == []


async def test_a_symbol_the_exchange_does_not_list_ends_the_feed_with_fatal(
    sim: ExchangeSim, feeds: FeedFactory
) -> None:
    feed = feeds(sim, [Symbol("SOL/USDT")])
    with pytest.raises(Fatal, match="SOL/USDT"):
        await guarded(anext(feed))


async def test_exchange_feed_without_a_venue_makes_and_closes_its_own_public_client(sim: ExchangeSim) -> None:
    config = parse_config({"venue": {"endpoint": sim.base_url}})
    feed = exchange_feed(config, None, [PERP])
    async with feed:
        first = await guarded(anext(feed))
    assert first.symbol == PERP
    assert feed.client.apiKey in (None, "")  # paper mode on live data needs no key
    with pytest.raises(StopAsyncIteration):
        await anext(feed)


async def test_the_feed_shares_the_live_venues_client_and_shuts_down_quietly_when_the_venue_closes_it_first(
    sim: ExchangeSim,
) -> None:
    venue_section = VenueSection(endpoint=sim.base_url)
    key, secret = sim.settings.api_key, sim.settings.api_secret
    client = make_client(venue_section, api_key=key, secret=secret, overrides=NO_THROTTLE)
    venue = CcxtVenue(client, [PERP])
    feed = exchange_feed(parse_config({"venue": {"endpoint": sim.base_url}}), venue, [PERP])
    try:
        first = await guarded(anext(feed))
        assert feed.client is venue.client
    finally:
        await venue.close()  # the daemon closes its venue first
        await feed.close()
    assert first.symbol == PERP
    assert client.closed_by_user
    with pytest.raises(StopAsyncIteration):
        await anext(feed)
