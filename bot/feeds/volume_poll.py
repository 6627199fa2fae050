"""Proxy candidates' 24 h quote volume, read by REST where the mark-price stream carries none (Binance's).

    poll = VolumePoll(rest, symbols, every_s=900.0)   # an ExchangeFeed makes one when `volume_poll_s` is set
    await poll.poll()                                 # one fetch_tickers for all the symbols
    event = poll.attach(mark)                         # the next mark of a polled symbol carries its volume

The volumes reach the engine as every feed's do: on a `PriceObserved` (`quote_volume_24h`), so the liquidity tiers
have one way in (`Engine._apply_market` → `ProxyChoice.on_volume`). A polled volume rides on the symbol's next mark
print rather than on a print of its own: the 24 h ticker's price is the last trade, not the mark, and a REST price
stamped now would make a dead mark stream look alive. Each poll's figure is attached once (a day's figure is the
last one seen that day, so repeating it adds nothing). A failed poll is logged once until one succeeds again; the
volumes already handed over stay in the engine's history, so a candidate keeps its tier through an outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bot.config import HedgeSection
from bot.domain import MarketEvent, PriceObserved, Symbol, parse_duration_ms
from bot.execution.venue_errors import VenueError
from bot.logs import get_logger
from bot.venues.ccxt_client import CcxtRest
from bot.venues.ccxt_dialect import fetch_tickers
from bot.venues.ccxt_parse import MALFORMED, optional_number

__all__ = ["VolumePoll", "volume_poll_s"]


def volume_poll_s(hedge: HedgeSection) -> float | None:
    """Seconds between polls (`[hedge.liquidity] volume_poll`), or None when no tiers would use the volumes."""
    if not (hedge.proxy_select and hedge.liquidity.tiers):
        return None
    return parse_duration_ms(hedge.liquidity.volume_poll) / 1000.0


class VolumePoll:
    """The 24 h quote volumes of `symbols` on one venue, polled every `every_s` (see the module docstring)."""

    def __init__(self, rest: CcxtRest, symbols: Iterable[Symbol], every_s: float) -> None:
        self.rest = rest
        self.symbols = tuple(dict.fromkeys(symbols))
        self.every_s = every_s
        self.known: dict[Symbol, float] = {}  # each symbol's last volume read, kept through failed polls
        self.polls = 0  # successful ones
        self.failures = 0
        self._unsent: dict[Symbol, float] = {}  # read, not yet attached to a mark
        self._failing = False
        self.log = get_logger(component="volume_poll", exchange=str(rest.client.id))

    async def run(self) -> None:
        """Poll every `every_s` (the first poll is the caller's, before the streams start)."""
        while True:
            await asyncio.sleep(self.every_s)  # the polling period, on the wall clock like the exchange's 24 h
            await self.poll()

    async def poll(self) -> None:
        """One fetch_tickers for every symbol; a failure keeps what is known and is logged once per outage."""
        if not self.symbols:
            return
        try:
            tickers: Mapping[str, Any] = await self.rest.read(fetch_tickers, self.rest.client, list(self.symbols))
        except VenueError as exc:  # Fatal too: a ticker poll never ends the feed it serves
            self.failures += 1
            if not self._failing:
                self.log.warning("volume_poll_failed", error=str(exc), known=len(self.known))
            self._failing = True
            return
        if self._failing:
            self.log.info("volume_poll_recovered", failures=self.failures)
        self._failing = False
        self.polls += 1
        for symbol in self.symbols:
            volume = _quote_volume(tickers.get(symbol))
            if volume is not None:
                self.known[symbol] = self._unsent[symbol] = volume

    def attach(self, event: MarketEvent) -> MarketEvent:
        """`event` (a mark print) with the volume last read of its symbol, when one is waiting and it has none."""
        if not isinstance(event, PriceObserved) or event.quote_volume_24h is not None:
            return event
        volume = self._unsent.pop(event.symbol, None)
        return event if volume is None else replace(event, quote_volume_24h=volume)


def _quote_volume(ticker: object) -> float | None:
    """A ticker's 24 h quote volume; None when it has none or an unusable one (that symbol is read next time)."""
    if not isinstance(ticker, Mapping):
        return None
    try:
        return optional_number(ticker, "quoteVolume")
    except MALFORMED:
        return None
