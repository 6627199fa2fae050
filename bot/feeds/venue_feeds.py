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

from collections.abc import Callable, Mapping

from bot.feeds.exchange import ExchangeFeed
from bot.feeds.merged import MergedFeed
from bot.settings.venues import DEFAULT_VENUE

__all__ = ["VenueFeeds"]


class VenueFeeds(MergedFeed):
    """The ExchangeFeeds of several venues, by venue id, merged (see the module docstring)."""

    def __init__(self, feeds: Mapping[str, ExchangeFeed]) -> None:
        super().__init__("venue-feed")
        self.feeds = dict(feeds)
        self._on_reconnect: Callable[[str], None] | None = None

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

    def _start(self) -> None:
        for venue_id, feed in self.feeds.items():
            self._spawn(venue_id, self._pump(feed))

    async def _pump(self, feed: ExchangeFeed) -> None:
        async for event in feed:
            self._queue.put_nowait(event)

    async def close(self) -> None:
        """Stop every venue's streams (closing twice is harmless)."""
        await super().close()
        for feed in self.feeds.values():
            await feed.close()


def _named(observer: Callable[[str], None], venue_id: str) -> Callable[[str], None]:
    if venue_id == DEFAULT_VENUE:
        return observer
    return lambda stream: observer(f"{venue_id}.{stream}")
