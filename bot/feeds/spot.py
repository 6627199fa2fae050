"""Spot prices of the holdings from spot markets, merged with the derivatives feed: one stream of market events.

    feed = with_spot_sources(config, exchange_feed, settings, ccxt_overrides, clock)  # consumed like it
    async with feed:
        async for event in feed: ...

Each holding is priced by its sources in order (bot/settings/sources.py): a spot pair on a ccxt exchange
(`SpotFeed`: its last price from the ticker stream, re-synced by REST at every (re)connection and when the
stream stalls, as the derivatives feed does), or the hedge venue's index (the derivatives feed, which is then
given that holding's spot symbol). `SourceChoice` lets a source's price through while no source before it in
the holding's list is fresh (within `[risk] max_price_age` of this price), so a dead primary hands over to the
next one and takes back when it returns; with one source, its silence ages the price until the engine's
staleness gate holds trading at `reducing`. Events keep the exchange's timestamps and never step back per
holding.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import PriceObserved, Symbol, parse_duration_ms, spot_symbol
from bot.execution.venue_errors import Fatal, VenueError
from bot.feeds.account_stream import AccountStream
from bot.feeds.accounts import AccountReader
from bot.feeds.exchange import ExchangeFeed, FeedSettings
from bot.feeds.merged import MergedFeed
from bot.feeds.venue_feeds import VenueFeeds
from bot.logs import get_logger
from bot.settings.sources import INDEX, PriceSource
from bot.venues.ccxt_client import CcxtRest, make_spot_client, unless_closed, wake_on_messages
from bot.venues.ccxt_errors import Operation, StreamStats, run_stream
from bot.venues.ccxt_parse import MALFORMED, Payload, mark_price_from

__all__ = ["PricedFeed", "SourceChoice", "SpotFeed", "index_priced", "priced_feed", "with_spot_sources"]


def holding_symbols(config: Config) -> dict[Symbol, tuple[PriceSource, ...]]:
    """Each holding's spot symbol ("SOL/USDT") with its sources in order."""
    quote = config.portfolio.quote
    return {spot_symbol(base, quote): sources for base, sources in config.holding_price_sources().items()}


def index_priced(config: Config) -> tuple[Symbol, ...]:
    """The holdings the derivatives feed must price by its index (those with an `index` source)."""
    return tuple(s for s, sources in holding_symbols(config).items() if any(src.is_index for src in sources))


class SourceChoice:
    """Which source's price stands for a holding now (see the module docstring). Pure."""

    def __init__(self, sources: Mapping[Symbol, Iterable[str]], max_age_ms: int) -> None:
        self.order = {symbol: tuple(keys) for symbol, keys in sources.items()}
        self.max_age_ms = max_age_ms
        self._seen: dict[tuple[Symbol, str], int] = {}  # (holding, source) -> newest price time from it
        self._given: dict[Symbol, int] = {}  # holding -> newest price time handed on
        self.source_of: dict[Symbol, str] = {}  # holding -> the source of the price handed on last

    def admit(self, source: str, event: PriceObserved) -> bool:
        order = self.order.get(event.symbol, ())
        if source not in order:
            return False
        self._seen[(event.symbol, source)] = max(event.ts, self._seen.get((event.symbol, source), event.ts))
        for better in order[: order.index(source)]:
            ts = self._seen.get((event.symbol, better))
            if ts is not None and event.ts - ts <= self.max_age_ms:
                return False  # a source ahead of this one is fresh: it prices the holding
        if event.ts < self._given.get(event.symbol, event.ts):
            return False  # never a price older than one already given
        self._given[event.symbol] = event.ts
        self.source_of[event.symbol] = source
        return True


class SpotFeed:
    """Last prices of spot pairs on one exchange, through a ccxt.pro client: one ticker stream, REST re-syncs."""

    def __init__(
        self, client: Any, pairs: Iterable[Symbol], settings: FeedSettings, *, owns_client: bool = True,
        rng: random.Random | None = None,
    ) -> None:  # fmt: skip
        self.client = client
        self.pairs = tuple(dict.fromkeys(pairs))
        self.settings = settings  # backoff, stall timeout, REST attempts: as the derivatives feed's
        self.stats = StreamStats()
        self.on_reconnect: Callable[[str], None] | None = None
        self.log = get_logger(component="spot_feed", exchange=str(client.id))
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._rest = CcxtRest(client, settings.backoff, settings.read_attempts, self._rng)
        self._owns_client = owns_client
        self._read: dict[Symbol, object] = {}
        self._last: dict[Symbol, PriceObserved] = {}

    @property
    def name(self) -> str:
        return f"spot_{self.client.id}"

    async def run(self, emit: Callable[[PriceObserved], None]) -> None:
        """Load the markets (Fatal when a pair is not listed), then stream until cancelled."""
        if self.client.markets is None:
            await self._rest.call(Operation.SETUP, self.client.load_markets)
        missing = [pair for pair in self.pairs if pair not in self.client.markets]
        if missing:
            raise Fatal(f"spot prices: {self.client.id} does not list {', '.join(missing)} (see [prices])")
        wake = asyncio.Event()
        wake_on_messages(self.client, wake)

        def failed(error: VenueError) -> None:
            self.log.warning("spot_stream_reconnecting", error=str(error), reconnects=self.stats.reconnects)
            if self.on_reconnect is not None:
                self.on_reconnect(self.name)

        async def resync() -> None:
            tickers: Mapping[str, Payload] = await self._rest.read(self.client.fetch_tickers, list(self.pairs))
            for symbol, ticker in tickers.items():
                self._convert(Symbol(symbol), ticker, emit)

        def on_update(_returned: object) -> None:
            for pair in self.pairs:
                ticker = self.client.tickers.get(pair)
                if ticker is not None and self._read.get(pair) is not ticker:
                    self._read[pair] = ticker
                    self._convert(pair, ticker, emit)

        watch = unless_closed(self.client, lambda: self.client.watch_tickers(list(self.pairs)))
        await run_stream(
            watch, on_update, resync, self.stats, self.settings.backoff, self._rng, wake=wake,
            stall_timeout_s=self.settings.stall_timeout_s, on_failure=failed,
        )  # fmt: skip

    def _convert(self, pair: Symbol, ticker: Payload, emit: Callable[[PriceObserved], None]) -> None:
        try:
            event = mark_price_from(ticker, pair)  # a spot ticker has no mark: its last price
        except MALFORMED as exc:
            self.stats.dropped += 1
            self.log.warning("spot_message_dropped", symbol=pair, error=str(exc))
            return
        last = self._last.get(pair)
        if last is not None and (event.ts < last.ts or event == last):
            return
        self._last[pair] = event
        emit(event)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.close()


class PricedFeed(MergedFeed):
    """The derivatives feed and the spot feeds as one stream, holdings priced by `SourceChoice`."""

    def __init__(
        self,
        derivatives: ExchangeFeed | VenueFeeds,  # VenueFeeds: hedge legs on several venues, each priced by its own
        spots: Mapping[str, SpotFeed],
        sources: Mapping[Symbol, tuple[PriceSource, ...]],
        max_age_ms: int,
        accounts: Iterable[AccountReader] = (),
    ) -> None:
        super().__init__("priced-feed")
        self.derivatives = derivatives
        self.spots = dict(spots)  # by exchange id
        self.accounts = tuple(accounts)  # spot balances read on a schedule: started and closed with the feed
        # their user streams, where followed: a balance event makes the reader read at once
        jitter = random.Random()  # noqa: S311 -- reconnection jitter, not cryptography
        self.account_streams = tuple(
            AccountStream(r, r.backoff, jitter) for r in self.accounts if AccountStream.available(r)
        )
        self.choice = SourceChoice({s: [src.key for src in listed] for s, listed in sources.items()}, max_age_ms)
        # (exchange, pair) -> the holdings it prices: a pair may stand for another holding ("binance:BTC/USDT")
        self._holdings_of: dict[tuple[str, str], list[Symbol]] = {}
        for holding, listed in sources.items():
            for src in listed:
                if not src.is_index:
                    self._holdings_of.setdefault((src.exchange, src.symbol), []).append(holding)
        self._on_reconnect: Callable[[str], None] | None = None

    @property
    def on_reconnect(self) -> Callable[[str], None] | None:
        return self._on_reconnect

    @on_reconnect.setter
    def on_reconnect(self, observer: Callable[[str], None] | None) -> None:
        self._on_reconnect = observer
        self.derivatives.on_reconnect = observer
        for spot in self.spots.values():
            spot.on_reconnect = observer

    def _start(self) -> None:
        self._spawn("derivatives", self._pump_derivatives())
        for exchange, spot in self.spots.items():
            self._spawn(spot.name, spot.run(functools.partial(self._from_spot, exchange)))
        for reader in self.accounts:
            self._spawn(f"account-{reader.account.name}", reader.run())
        for stream in self.account_streams:
            self._spawn(f"account-stream-{stream.reader.account.name}", stream.run())

    async def _pump_derivatives(self) -> None:
        async for event in self.derivatives:
            if isinstance(event, PriceObserved) and event.symbol in self.choice.order:
                if self.choice.admit(INDEX, event):
                    self._queue.put_nowait(event)
            else:
                self._queue.put_nowait(event)

    def _from_spot(self, exchange: str, event: PriceObserved) -> None:
        for holding in self._holdings_of.get((exchange, event.symbol), ()):
            priced = PriceObserved(event.ts, holding, event.price)
            if self.choice.admit(f"{exchange}:{event.symbol}", priced):
                self._queue.put_nowait(priced)

    async def close(self) -> None:
        await super().close()
        await self.derivatives.close()
        for spot in self.spots.values():
            await spot.close()
        for reader in self.accounts:
            await reader.close()


def spot_feeds(config: Config, settings: FeedSettings, overrides: Mapping[str, Any]) -> dict[str, SpotFeed]:
    """One SpotFeed per spot exchange the holdings' sources name (public clients: prices need no key)."""
    pairs: dict[str, list[Symbol]] = {}
    for listed in holding_symbols(config).values():
        for src in listed:
            if not src.is_index:
                pairs.setdefault(src.exchange, []).append(Symbol(src.symbol))
    return {
        exchange: SpotFeed(
            make_spot_client(exchange, config.prices.endpoints.get(exchange), overrides=overrides), symbols, settings
        )
        for exchange, symbols in pairs.items()
    }


def priced_feed(
    config: Config,
    derivatives: ExchangeFeed | VenueFeeds,
    settings: FeedSettings,
    overrides: Mapping[str, Any],
    clock: Clock,
) -> PricedFeed:
    """The derivatives feed with the holdings' spot sources (`[prices]`) and account readers merged in."""
    max_age = parse_duration_ms(config.risk.max_price_age)
    readers = [AccountReader.open(a, clock, settings.backoff, overrides) for a in config.portfolio.accounts]
    return PricedFeed(derivatives, spot_feeds(config, settings, overrides), holding_symbols(config), max_age, readers)


def with_spot_sources(
    config: Config,
    derivatives: ExchangeFeed | VenueFeeds,
    settings: FeedSettings,
    overrides: Mapping[str, Any],
    clock: Clock,
) -> ExchangeFeed | VenueFeeds | PricedFeed:
    """`derivatives` alone when every holding is priced by the hedge venue's index and no account is read, else
    a PricedFeed. Fatal when an account's keys are missing."""
    spot = any(not src.is_index for listed in holding_symbols(config).values() for src in listed)
    if not spot and not config.portfolio.accounts:
        return derivatives
    return priced_feed(config, derivatives, settings, overrides, clock)


def spot_clients(feed: ExchangeFeed | VenueFeeds | PricedFeed) -> dict[str, Any]:
    """The spot exchanges' clients of a feed made by `with_spot_sources`, by exchange id (none for a plain one)."""
    return {exchange: spot.client for exchange, spot in feed.spots.items()} if isinstance(feed, PricedFeed) else {}


def warmup_series(config: Config) -> list[tuple[Symbol, str, Symbol]]:
    """(holding, exchange, symbol) whose candles warm each holding's series up: its first source's, the spot
    pair on that exchange, or ("", its perpetual) for the hedge venue's index, read there as mark candles."""
    quote = config.portfolio.quote
    series = []
    for holding, listed in holding_symbols(config).items():
        first = listed[0]
        perp = Symbol(f"{first.symbol}:{quote}")
        series.append((holding, "", perp) if first.is_index else (holding, first.exchange, Symbol(first.symbol)))
    return series
