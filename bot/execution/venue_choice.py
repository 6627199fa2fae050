"""Where an instrument listed on several venues trades (`[venues.<id>] candidates`): chosen once, at start. Pure.

The venue already holding a position in it keeps it (a hedge is never moved between venues while open: closing
it on one and opening it on another would pay twice and leave it unhedged between). Otherwise the cheapest of
the venues liquid enough: cost = the taker fee of one trade + the funding a short hedge would pay over a day (three
8-hour settlements at the rate accruing now: a positive rate is received by shorts, so it lowers the cost). A
venue is liquid enough when its 24-hour quote volume is at least its `min_volume` (`[venues.<id>]
min_quote_volume`); a venue that could not be quoted is no candidate. With none left, the default venue (the
first) keeps it. Ties go to the earlier venue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SETTLEMENTS_A_DAY = 3


@dataclass(frozen=True, slots=True)
class VenueQuote:
    venue: str
    taker_fee: float | None  # a fraction of the notional (0.0004 = 4 bp); None: not known
    funding_rate: float | None  # per settlement, accruing now
    quote_volume: float | None  # the last 24 hours, in the quote
    position: float = 0.0  # contracts held there now
    min_volume: float = 0.0  # the venue's liquidity limit: less 24-hour quote volume and it is no candidate

    @property
    def cost(self) -> float | None:
        if self.taker_fee is None or self.funding_rate is None:
            return None
        return self.taker_fee - SETTLEMENTS_A_DAY * self.funding_rate  # a short receives a positive rate


@dataclass(frozen=True, slots=True)
class VenueChoice:
    symbol: str
    venue: str
    reason: str
    quotes: tuple[VenueQuote, ...]

    def as_record(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "reason": self.reason,
            "quotes": [
                {"venue": q.venue, "taker_fee": q.taker_fee, "funding_rate": q.funding_rate,
                 "quote_volume": q.quote_volume, "min_volume": q.min_volume, "position": q.position, "cost": q.cost}
                for q in self.quotes
            ],
        }  # fmt: skip


def choose_venue(symbol: str, quotes: Sequence[VenueQuote]) -> VenueChoice:
    """The venue `symbol` trades on, and why (see the module docstring); `quotes` in config order, default first."""
    held = [q for q in quotes if q.position]
    if held:
        return VenueChoice(symbol, held[0].venue, f"holds {held[0].position:+g} there: not moved", tuple(quotes))
    usable = [q for q in quotes if q.cost is not None and q.quote_volume is not None and q.quote_volume >= q.min_volume]
    if not usable:
        default = quotes[0].venue
        return VenueChoice(symbol, default, "no venue quoted and liquid enough: the default venue", tuple(quotes))
    best = min(usable, key=lambda q: q.cost or 0.0)
    others = ", ".join(f"{q.venue} {q.cost:.6f}" for q in usable if q is not best)
    reason = f"cheapest: cost {best.cost:.6f} (taker fee + a day's funding)" + (f" vs {others}" if others else "")
    return VenueChoice(symbol, best.venue, reason, tuple(quotes))
