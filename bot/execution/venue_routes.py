"""Which venue trades a contract: the hedge leg that holds it, placed by `[venues.<id>] instruments`. Pure.

A leg's contracts (a @quarterly leg's dated ones, and the perpetual it is sized by) go where the leg is; any
other symbol is the default venue's (bot.settings.venues).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain import Symbol
from bot.execution.legs import HedgeLeg
from bot.settings.venues import DEFAULT_VENUE


class VenueRoutes:
    def __init__(self, instruments: Iterable[str], placed: Mapping[str, str]) -> None:
        self._legs = tuple((HedgeLeg.parse(spec), placed.get(spec, DEFAULT_VENUE)) for spec in instruments)
        self.ids = tuple(dict.fromkeys([DEFAULT_VENUE, *placed.values()]))
        self._cache: dict[str, str] = {}

    def venue_of(self, symbol: str) -> str:
        """The id of the venue that trades `symbol`."""
        found = self._cache.get(symbol)
        if found is None:
            found = next(
                (venue for leg, venue in self._legs if leg.holds(Symbol(symbol)) or leg.reference == symbol),
                DEFAULT_VENUE,
            )
            self._cache[symbol] = found
        return found

    def legs_on(self, venue_id: str) -> tuple[Symbol, ...]:
        """The hedge legs (as configured) a venue trades."""
        return tuple(leg.spec for leg, venue in self._legs if venue == venue_id)

    def split(self, symbols: Iterable[Symbol]) -> dict[str, list[Symbol]]:
        """`symbols` by the venue that trades each, every venue present (its list may be empty)."""
        by_venue: dict[str, list[Symbol]] = {venue_id: [] for venue_id in self.ids}
        for symbol in symbols:
            by_venue[self.venue_of(symbol)].append(symbol)
        return by_venue
