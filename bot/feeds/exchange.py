"""Live market data from the exchange's websockets (ccxt.pro) as the engine's typed market events.

    feed = exchange_feed(config, venue_or_client_or_None, symbols)
    async with feed:
        async for event in feed:          # PriceObserved, BookObserved, FundingObserved; never ends by itself
            ...

For each derivative symbol: its mark price (`PriceObserved`), best bid and ask (`BookObserved`) and, for a
perpetual, the funding rate accruing and when it settles (`FundingObserved`; Binance sends both in the
mark-price stream). For each spot pair ("ETH/USDT"): the index price of its perpetual ("ETH/USDT:USDT"), a
composite of spot prices, so a futures-only account can value the spot holdings it hedges.

Every stream is its own task under `run_stream`: it takes a REST snapshot once its subscription is live, and
after a NetworkError backs off (capped exponential with jitter), reconnects and takes another; when a stream
stays silent past `stall_timeout_s` it re-syncs by REST while it keeps waiting. Only a Fatal error (a symbol
the exchange does not list, say) ends the feed, raised by the iterator. Events carry the exchange's
timestamps and an event is never older than one already given for the same symbol, so the engine's
staleness gates see real ages: a dead connection makes prices age until trading holds.

Malformed messages (NaN, negative, missing fields, huge numbers, a crossed book) are dropped and counted in
`stats`, never handed over. ccxt's caches are read after every message the client handles (and after each
watch result): ccxt resolves one watch per batch of messages and none between one watch and the next, so
reading only what a watch returns would lose updates.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config
from bot.domain import InstrumentKind, MarketEvent, Symbol, perp_symbol
from bot.execution.venue_errors import Fatal, VenueError
from bot.feeds.volume_poll import VolumePoll
from bot.logs import get_logger
from bot.venues.ccxt_client import CcxtRest, make_client, unless_closed, wake_on_messages
from bot.venues.ccxt_dialect import fetch_bids_asks, fetch_tickers
from bot.venues.ccxt_errors import Backoff, Operation, StreamStats, run_stream
from bot.venues.ccxt_parse import (
    MALFORMED,
    Capabilities,
    Payload,
    book_from,
    capabilities_of,
    funding_from_rate,
    funding_from_ticker,
    index_price_from,
    instrument_from_market,
    mark_price_from,
)
from bot.venues.ccxt_venue import CcxtVenue

__all__ = ["ExchangeFeed", "FeedSettings", "exchange_feed"]


@dataclass(frozen=True, slots=True)
class FeedSettings:
    backoff: Backoff = field(default_factory=Backoff)
    stall_timeout_s: float | None = 30.0  # silent this long: re-sync by REST (None: never)
    books: bool = True  # best bid/ask streams
    read_attempts: int = 2  # REST re-sync tries before the stream backs off again
    volume_poll_s: float | None = None  # perpetuals' 24 h quote volumes read this often (bot.feeds.volume_poll)


def exchange_feed(
    config: Config, source: CcxtVenue | Any | None, symbols: Iterable[Symbol], settings: FeedSettings | None = None
) -> ExchangeFeed:
    """The market streams of `symbols` through the live venue's client, a given ccxt.pro client, or (None) a
    public client of `config.venue` made here and closed with the feed: paper mode on live data needs no key."""
    if source is None:
        return ExchangeFeed(make_client(config.venue), symbols, settings, owns_client=True)
    client = source.client if isinstance(source, CcxtVenue) else source
    return ExchangeFeed(client, symbols, settings, owns_client=False)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which ccxt symbols to watch for which events."""

    marks: tuple[Symbol, ...]  # mark-price subscriptions: wanted derivatives and the perpetuals of spot pairs
    priced: frozenset[Symbol]  # derivatives whose mark is wanted
    index_of: Mapping[Symbol, tuple[Symbol, ...]]  # perpetual -> spot pairs priced by its index
    perpetuals: frozenset[Symbol]  # wanted perpetuals: funding
    books: Mapping[str, tuple[Symbol, ...]]  # by market type (ccxt asks for one type per request)


class ExchangeFeed:
    """An async iterator of market events from ccxt.pro streams (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        symbols: Iterable[Symbol],
        settings: FeedSettings | None = None,
        *,
        owns_client: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.symbols = tuple(dict.fromkeys(symbols))
        self.settings = settings or FeedSettings()
        self.capabilities: Capabilities = capabilities_of(client)
        self.stats: dict[str, StreamStats] = {}
        self.on_reconnect: Callable[[str], None] | None = None  # told the stream's name at each reconnect
        self.log = get_logger(component="exchange_feed", exchange=str(client.id))
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._rest = CcxtRest(client, self.settings.backoff, self.settings.read_attempts, self._rng)
        self._owns_client = owns_client
        self._queue: asyncio.Queue[MarketEvent | BaseException] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._plan: _Plan | None = None
        self.volume_poll: VolumePoll | None = None
        self._last: dict[tuple[str, Symbol], MarketEvent] = {}  # (kind, symbol) -> newest event handed over
        self._read: dict[tuple[str, Symbol], object] = {}  # cache entries already read (kept: ids stay unique)
        self._closed = False

    # ---- counters --------------------------------------------------------------------------------

    @property
    def reconnects(self) -> int:
        return sum(s.reconnects for s in self.stats.values())

    @property
    def resyncs(self) -> int:
        return sum(s.resyncs for s in self.stats.values())

    @property
    def dropped(self) -> int:
        """Messages dropped: unusable values here, plus messages ccxt itself could not parse on this client."""
        return sum(s.dropped for s in self.stats.values()) + int(getattr(self.client, "malformed_messages", 0))

    # ---- iteration -------------------------------------------------------------------------------

    def __aiter__(self) -> ExchangeFeed:
        return self

    async def __anext__(self) -> MarketEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._plan is None:
            await self.start()
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # it ended the feed: every later call raises it too
            raise item
        return item

    async def __aenter__(self) -> ExchangeFeed:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load markets and start the streams, each of which takes a REST snapshot once it is connected (the
        first `__anext__` does this)."""
        if self._plan is not None:
            return
        plan = self._plan = await self._make_plan()
        if self.settings.volume_poll_s is not None and plan.perpetuals:
            await self._start_volume_poll(sorted(plan.perpetuals), self.settings.volume_poll_s)
        stream = self._stream
        if plan.marks:
            stream("marks", self._watch_marks(plan), self._read_marks, self._mark_snapshot)
        if self.capabilities.funding_stream == "watch_funding_rate" and plan.perpetuals:
            perps = sorted(plan.perpetuals)
            stream("funding", lambda: self.client.watch_funding_rates(perps), self._read_funding, self._mark_snapshot)
        if self.settings.books and self.capabilities.book_stream:
            for kind, symbols in plan.books.items():
                watch = self._watch_books(symbols)
                stream(
                    f"books_{kind}", watch, functools.partial(self._read_books, symbols), self._book_snapshot(symbols)
                )

    async def _start_volume_poll(self, symbols: list[Symbol], every_s: float) -> None:
        """Proxy candidates' 24 h volumes where the marks carry none: read once before the streams start, so
        the first marks carry them, then every `every_s` (a bug in it reaches the consumer, as a stream's does)."""
        poll = self.volume_poll = VolumePoll(self._rest, symbols, every_s)
        await poll.poll()

        async def run() -> None:
            try:
                await poll.run()
            except Exception as exc:
                self.log.error("volume_poll_stopped", error=str(exc))
                self._queue.put_nowait(exc)

        self._tasks.append(asyncio.create_task(run(), name="exchange-feed-volumes"))

    async def close(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._owns_client:
            await self.client.close()

    def _stream(
        self,
        name: str,
        watch: Callable[[], Awaitable[Any]],
        on_update: Callable[[Any], None],
        resync: Callable[[], Awaitable[None]],
    ) -> None:
        stats = self.stats.setdefault(name, StreamStats())
        wake = asyncio.Event()  # every message: the caches are read again, whatever the watch returned
        wake_on_messages(self.client, wake)

        def failed(error: VenueError) -> None:
            self.log.warning("market_stream_reconnecting", stream=name, error=str(error), reconnects=stats.reconnects)
            if self.on_reconnect is not None:
                self.on_reconnect(name)

        guarded_watch = unless_closed(self.client, watch)

        async def run() -> None:
            try:
                await run_stream(
                    guarded_watch, on_update, resync, stats, self.settings.backoff, self._rng, wake=wake,
                    stall_timeout_s=self.settings.stall_timeout_s, on_failure=failed,
                )  # fmt: skip
            except Exception as exc:  # Fatal, or a bug: the consumer hears of it, not a log line only
                if getattr(self.client, "closed_by_user", False):
                    return  # shutting down: whoever owns the client closed it first
                self.log.error("market_stream_failed", stream=name, error=str(exc))
                self._queue.put_nowait(exc)

        self._tasks.append(asyncio.create_task(run(), name=f"exchange-feed-{name}"))

    async def _make_plan(self) -> _Plan:
        if self.client.markets is None:
            await self._rest.call(Operation.SETUP, self.client.load_markets)
        markets: Mapping[str, Payload] = self.client.markets
        priced: set[Symbol] = set()
        perpetuals: set[Symbol] = set()
        index_of: dict[Symbol, list[Symbol]] = {}
        books: dict[str, list[Symbol]] = {}
        for symbol in self.symbols:
            market = markets.get(symbol)
            if market is not None and market.get("type") in ("swap", "future"):
                kind = instrument_from_market(market).kind
                priced.add(symbol)
                books.setdefault(str(market["type"]), []).append(symbol)
                if kind is InstrumentKind.PERPETUAL:
                    perpetuals.add(symbol)
                continue
            base, _, quote = symbol.split(":", 1)[0].partition("/")
            perp = perp_symbol(base, quote)
            if ":" in symbol or not quote or markets.get(perp) is None:
                raise Fatal(f"{symbol}: {self.client.id} lists neither it nor a perpetual {perp} to price it by")
            index_of.setdefault(perp, []).append(symbol)
        marks = tuple(dict.fromkeys([*priced, *index_of]))
        index = {perp: tuple(spots) for perp, spots in index_of.items()}
        return _Plan(marks, frozenset(priced), index, frozenset(perpetuals), {k: tuple(v) for k, v in books.items()})

    # ---- marks, index prices and funding --------------------------------------------------------------

    def _watch_marks(self, plan: _Plan) -> Callable[[], Awaitable[Any]]:
        symbols = list(plan.marks)
        if self.capabilities.mark_stream == "watch_mark_prices":
            return lambda: self.client.watch_mark_prices(symbols)
        if self.capabilities.mark_stream == "watch_tickers":
            return lambda: self.client.watch_tickers(symbols)
        raise Fatal(f"{self.client.id} has no mark-price or ticker stream")

    def _read_marks(self, _returned: object) -> None:
        assert self._plan is not None
        for symbol in self._plan.marks:
            ticker = self._unread("marks", symbol, self.client.tickers)
            if ticker is not None:
                self._mark_events(symbol, ticker, "marks")

    def _mark_events(self, symbol: Symbol, ticker: Payload, stream: str) -> None:
        """The mark, index and funding one update carries; each dropped on its own when malformed."""
        assert self._plan is not None
        plan = self._plan
        if symbol in plan.priced:
            self._convert(stream, "mark", mark_price_from, ticker, symbol)
        for spot in plan.index_of.get(symbol, ()):
            self._convert(stream, "index", index_price_from, ticker, spot)
        if symbol in plan.perpetuals:  # None when the update carries no funding (it then has its own stream)
            self._convert(stream, "funding", funding_from_ticker, ticker)

    def _read_funding(self, returned: object) -> None:
        """Funding-rate updates (okx): a rate changes every few minutes at most, so the answer itself is read."""
        rates = returned.values() if isinstance(returned, Mapping) and "symbol" not in returned else [returned]
        for rate in rates:
            if isinstance(rate, Mapping):
                self._convert("funding", "funding", funding_from_rate, rate, 0)

    async def _mark_snapshot(self) -> None:
        """Marks, index prices and funding by REST (Binance answers all three from its premium index)."""
        assert self._plan is not None
        plan = self._plan
        if not plan.marks:
            return
        if self.capabilities.marks_from_funding_rates:
            answers: Mapping[str, Payload] = await self._rest.read(self.client.fetch_funding_rates, list(plan.marks))
            for symbol, rate in answers.items():
                self._mark_events(Symbol(symbol), rate, "snapshots")
                if Symbol(symbol) in plan.perpetuals:
                    self._convert("snapshots", "funding", funding_from_rate, rate, 0)
        else:
            tickers: Mapping[str, Payload] = await self._rest.read(fetch_tickers, self.client, list(plan.marks))
            for symbol, ticker in tickers.items():
                self._mark_events(Symbol(symbol), ticker, "snapshots")

    # ---- books ----------------------------------------------------------------------------------------

    def _watch_books(self, symbols: tuple[Symbol, ...]) -> Callable[[], Awaitable[Any]]:
        return lambda: self.client.watch_bids_asks(list(symbols))

    def _read_books(self, symbols: tuple[Symbol, ...], _returned: object) -> None:
        for symbol in symbols:
            ticker = self._unread("books", symbol, self.client.bidsasks)
            if ticker is not None:
                self._convert("books", "book", book_from, ticker)

    def _book_snapshot(self, symbols: tuple[Symbol, ...]) -> Callable[[], Awaitable[None]]:
        async def snapshot() -> None:
            if not self.client.has.get("fetchBidsAsks"):
                return
            answers: Mapping[str, Payload] = await self._rest.read(fetch_bids_asks, self.client, list(symbols))
            for ticker in answers.values():
                self._convert("books", "book", book_from, ticker)

        return snapshot

    # ---- conversion -----------------------------------------------------------------------------------

    def _unread(self, stream: str, symbol: Symbol, cache: Mapping[str, Any]) -> Payload | None:
        """The cache entry of `symbol` unless it was read before (ccxt replaces an entry on each update)."""
        entry = cache.get(symbol)
        if entry is None or self._read.get((stream, symbol)) is entry:
            return None
        self._read[(stream, symbol)] = entry
        return entry if isinstance(entry, Mapping) else None

    def _convert(self, stream: str, kind: str, build: Callable[..., MarketEvent | None], *args: Any) -> None:
        """Hand over the event `build(*args)` makes, unless malformed (counted), older than the last one, or a
        repeat of it. A different value in the same millisecond is handed over: it is the later news."""
        try:
            event = build(*args)
        except MALFORMED as exc:
            self.stats.setdefault(stream, StreamStats()).dropped += 1
            self.log.warning("market_message_dropped", stream=stream, kind=kind, error=str(exc))
            return
        if event is None:
            return
        key = (kind, event.symbol)
        last = self._last.get(key)
        if last is not None and (event.ts < last.ts or event == last):
            return
        self._last[key] = event
        if kind == "mark" and self.volume_poll is not None:
            event = self.volume_poll.attach(event)  # the last polled 24 h volume rides on the next mark
        self._queue.put_nowait(event)
