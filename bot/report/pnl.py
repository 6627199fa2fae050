"""Realised and unrealised hedge P&L, from the journal's fills and valuations. Pure.

  realised     price P&L of the contracts closed by fills, each against its position's average entry (the
               paper venue's and Binance's accounting: adding averages the entry, reducing realises at it,
               flipping closes the old side and opens the rest at the fill price)
  unrealised   the open positions at the valuation's marks against their average entry:
               hedge notional at the marks − Σ qty × contract size × average entry

so that, with every fill since the positions were opened in the journal, realised + change in unrealised is
the hedge's price P&L (equity change less funding and fees). Funding and fees are cash booked as they happen,
shown apart. Linear (USDⓈ-margined) contracts only: a valuation keeps the hedge's notional, not each
contract's mark, and an inverse contract's unrealised P&L cannot be recovered from that (`Split` is None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.domain import Instrument, Position, Symbol
from bot.money import apply_to_position
from bot.store.journal import Valuation


@dataclass(frozen=True, slots=True)
class JournalFill:
    """A fill as the report needs it: signed contracts (+ bought) at a price, at a time."""

    ts: int
    symbol: str
    qty: float
    price: float


@dataclass(frozen=True, slots=True)
class Split:
    """The hedge's price P&L at one valuation: realised since the journal began, unrealised at the marks."""

    realised: float
    unrealised: float


def fills_from_rows(rows: Iterable[dict[str, object]]) -> list[JournalFill]:
    """The journal's `fills` rows (Journal.rows("fills")) in time order."""
    fills = [
        JournalFill(
            int(str(row["ts"])),
            str(row["symbol"]),
            float(str(row["qty"])) * (1.0 if row["side"] == "buy" else -1.0),
            float(str(row["price"])),
        )
        for row in rows
    ]
    return sorted(fills, key=lambda fill: fill.ts)  # stable: the journal's order within an instant


class AverageCost:
    """Positions at their average entry, and the P&L their fills realised."""

    def __init__(self, instrument_of: Callable[[str], Instrument]) -> None:
        self._instrument_of = instrument_of
        self._positions: dict[str, tuple[Instrument, Position]] = {}
        self.realised = 0.0

    def apply(self, fill: JournalFill) -> None:
        instrument, position = self._positions.get(fill.symbol) or (
            self._instrument_of(fill.symbol),
            Position(Symbol(fill.symbol), 0.0),
        )
        moved, realised = apply_to_position(instrument, position, fill.qty, fill.price)
        self._positions[fill.symbol] = (instrument, moved)
        self.realised += realised

    def cost_basis(self) -> float:
        """Σ qty × contract size × average entry: the open positions' notional at their entry (signed)."""
        return sum(instrument.notional(p.qty, p.entry_price) for instrument, p in self._positions.values())

    @property
    def inverse(self) -> bool:
        return any(instrument.inverse for instrument, _ in self._positions.values())


def splits(
    valuations: Sequence[Valuation], fills: Sequence[JournalFill], instrument_of: Callable[[str], Instrument]
) -> list[Split] | None:
    """One `Split` per valuation (fills at or before its instant count: the daemon trades, then values);
    None when an inverse contract was traded."""
    book = AverageCost(instrument_of)
    result = []
    pending = iter(fills)
    upcoming = next(pending, None)
    for valuation in valuations:
        while upcoming is not None and upcoming.ts <= valuation.ts:
            book.apply(upcoming)
            upcoming = next(pending, None)
        result.append(Split(book.realised, valuation.hedge_notional - book.cost_basis()))
    while upcoming is not None:
        book.apply(upcoming)
        upcoming = next(pending, None)
    return None if book.inverse else result
