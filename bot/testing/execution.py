"""Fakes for tests of execution: the engine state the executor reads, over one instrument, as plain values.

Shipped with the package (like `bot.testing.loopback`) so every test that drives an `Executor` gives it
the same kind of view instead of writing its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain import BookObserved, Instrument, Symbol
from bot.risk.state import Governor


@dataclass
class OneInstrumentView:
    """A `TradingView` of one instrument marked at `mark` at time `now` (a fresh mark: never stale)."""

    instrument: Instrument
    mark: float = 50_000.0
    now: int = 0
    positions: dict[Symbol, float] = field(default_factory=dict)
    books: dict[Symbol, BookObserved] = field(default_factory=dict)
    equity: float | None = 1_000_000.0
    governor: Governor = field(default_factory=Governor)

    @property
    def instruments(self) -> dict[Symbol, Instrument]:
        return {self.instrument.symbol: self.instrument}

    def venue_of(self, symbol: Symbol) -> str:
        return ""  # one venue

    def venue_equity(self, venue: str) -> float | None:
        return self.equity

    @property
    def prices(self) -> dict[Symbol, float]:
        return {self.instrument.symbol: self.mark}

    @property
    def price_ts(self) -> dict[Symbol, int]:
        return {self.instrument.symbol: self.now}
