"""Hedge legs on several venues (`[venues]`): each venue's market streams, as one stream of market events.

    feed = VenueFeeds({"main": ExchangeFeed(...), "second": ExchangeFeed(...)})   # consumed like one ExchangeFeed
    async with feed:
        async for event in feed: ...

Each venue's ExchangeFeed runs on that venue's own client and prices its own legs, so a contract needs to be
listed only where it trades. Events keep their venue's timestamps: a venue whose streams go silent ages only the
prices of its own legs, and the engine's per-symbol staleness gate holds only those. The first feed that ends
(a Fatal error: a symbol its venue does not list) ends the whole stream, as one ExchangeFeed would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from bot.domain import MarketEvent
from bot.feeds.exchange import ExchangeFeed
from bot.settings.venues import DEFAULT_VENUE

__all__ = ["VenueFeeds"]


class VenueFeeds:
    """The ExchangeFeeds of several venues, by venue id, merged (see the module docstring)."""

    def __init__(self, feeds: Mapping[str, ExchangeFeed]) -> None:
        self.feeds = dict(feeds)
        self._queue: asyncio.Queue[MarketEvent | BaseException] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_reconnect: Callable[[str], None] | None = None
        self._started = False
        self._closed = False

    @property
    def on_reconnect(self) -> Callable[[str], None] | None:
        return self._on_reconnect

    @on_reconnect.setter
    def on_reconnect(self, observer: Callable[[str], None] | None) -> None:
        """Told each reconnect; a stream of a venue other than the default is named `<venue>.<stream>` (the
        default's keep the names they had before `[venues]`, so its metrics do not change)."""
        self._on_reconnect = observer
        for venue_id, feed in self.feeds.items():
            feed.on_reconnect = None if observer is None else _named(observer, venue_id)

    def __aiter__(self) -> VenueFeeds:
        return self

    async def __anext__(self) -> MarketEvent:
        if self._closed:
            raise StopAsyncIteration
        if not self._started:
            self._start()
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # it ended the feed: every later call raises it too
            raise item
        return item

    async def __aenter__(self) -> VenueFeeds:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _start(self) -> None:
        self._started = True
        for venue_id, feed in self.feeds.items():
            self._tasks.append(asyncio.create_task(self._pump(feed), name=f"venue-feed-{venue_id}"))

    async def _pump(self, feed: ExchangeFeed) -> None:
        try:
            async for event in feed:
                self._queue.put_nowait(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # Fatal, or a bug: the consumer hears of it
            self._queue.put_nowait(exc)

    async def close(self) -> None:
        """Stop every venue's streams (closing twice is harmless)."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        for feed in self.feeds.values():
            await feed.close()


def _named(observer: Callable[[str], None], venue_id: str) -> Callable[[str], None]:
    if venue_id == DEFAULT_VENUE:
        return observer
    return lambda stream: observer(f"{venue_id}.{stream}")
