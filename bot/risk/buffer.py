"""The collateral buffer as a distance to liquidation: the adverse price move the hedge account survives. Pure.

A venue liquidates a cross-margined account when its equity falls to its maintenance margin. Both move with
prices: a short loses its notional × the move, and its maintenance margin (by the contract's Binance brackets,
`bot.risk.brackets`) grows with its notional. The buffer is the smallest adverse move, as a fraction of the
prices, at which equity meets maintenance margin:

- for the account: every hedge instrument moves by the same fraction, in the direction that hurts the book
  (up for a net short hedge, down for a net long one);
- per position: that instrument's price alone moves, the others held at their marks.

0.0 means at or below maintenance margin now; None means no move liquidates (a rise of 1,000 % for a short,
a fall to zero for a long). Linear (USDT-margined) contracts; inverse ones are solved in the coin by
`bot.risk.inverse`.

`cut_fraction` is the share of every position to close so that the account's buffer is back at a target:
closing at the mark leaves equity unchanged (fees aside) and shrinks the margin and the loss per move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from bot.domain import Instrument, Position, Symbol
from bot.risk.brackets import BracketTable, table_for

MAX_MOVE = 10.0  # a rise of 1,000 %: beyond it a short is taken as not liquidatable by a move


@dataclass(frozen=True, slots=True)
class Leg:
    """One position as the buffer sees it: its signed notional at the mark (quote) and its bracket table."""

    symbol: Symbol
    notional: float
    mark: float
    table: BracketTable

    def maintenance(self, factor: float = 1.0) -> float:
        """Maintenance margin with the price × `factor`."""
        return self.table.maintenance(self.notional * factor)


def legs_of(
    positions: Iterable[Position], marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
) -> tuple[Leg, ...]:
    """The open positions valued at their marks (at the entry price when no mark is known yet)."""
    legs = []
    for position in positions:
        mark = marks.get(position.symbol) or position.entry_price
        if position.qty == 0 or not mark > 0:
            continue
        instrument = instruments.get(position.symbol)
        notional = instrument.notional(position.qty, mark) if instrument else position.qty * mark
        base = instrument.base if instrument else position.symbol.split("/")[0]
        legs.append(Leg(position.symbol, notional, mark, table_for(base)))
    return tuple(legs)


def maintenance(legs: Iterable[Leg]) -> float:
    return sum(leg.maintenance() for leg in legs)


def adverse_move(equity: float, legs: tuple[Leg, ...], moving: frozenset[Symbol] | None = None) -> float | None:
    """The smallest adverse move of the `moving` legs' prices (all of them when None) at which equity meets the
    maintenance margin. 0.0: already there (or equity unreadable); None: no move up to `MAX_MOVE` (or to zero
    for a net long) does it.

    Margin left is linear in the move between the points where a moving leg crosses a bracket edge, so it is
    evaluated at those points only and the root solved exactly in the segment where it changes sign (a few
    evaluations instead of a bisection's sixty: this runs at every mark of every backtest)."""
    moved = [leg for leg in legs if moving is None or leg.symbol in moving]
    if not moved:
        return None
    net = sum(leg.notional for leg in moved)
    direction = -1.0 if net > 0 else 1.0  # a net long is hurt by a fall, a net short (or flat) by a rise
    ceiling = MAX_MOVE if direction > 0 else 1.0
    still = equity - sum(leg.maintenance() for leg in legs if leg not in moved)
    exposure = sum(leg.notional for leg in moved) * direction

    def margin_left(move: float) -> float:
        factor = 1.0 + direction * move
        return still + exposure * move - sum(leg.maintenance(factor) for leg in moved)

    low, left_at_low = 0.0, margin_left(0.0)
    if not left_at_low > 0:  # also NaN equity: fail closed
        return 0.0
    for edge in (*_bracket_edges(moved, direction, ceiling), ceiling):
        left = margin_left(edge)
        if not left > 0:  # the root is in (low, edge], where margin left is a straight line
            return low + (edge - low) * left_at_low / (left_at_low - left)
        low, left_at_low = edge, left
    return None


def _bracket_edges(legs: Iterable[Leg], direction: float, ceiling: float) -> list[float]:
    """The moves in (0, ceiling) at which a leg's notional crosses one of its bracket caps, ascending."""
    edges = set()
    for leg in legs:
        size = abs(leg.notional)
        for bracket in leg.table.brackets:
            move = (bracket.cap / size - 1.0) * direction if size else 0.0
            if 0.0 < move < ceiling:
                edges.add(move)
    return sorted(edges)


def account_buffer(equity: float, legs: tuple[Leg, ...]) -> float | None:
    """The account's buffer: every hedge instrument moves together against the book."""
    return adverse_move(equity, legs)


def scaled(legs: tuple[Leg, ...], keep: float) -> tuple[Leg, ...]:
    if keep == 1.0:  # x × 1.0 is x: the whole book, asked first at every decision's cap, is not copied
        return legs
    return tuple(replace(leg, notional=leg.notional * keep) for leg in legs)


def cut_fraction(equity: float, legs: tuple[Leg, ...], target: float) -> float:
    """The smallest share of every position to close for the account's buffer to be at least `target`.

    1.0 when equity is gone or unreadable (only a flat book is safe), 0.0 when the buffer already reaches it."""
    if not equity > 0:
        return 1.0 if legs else 0.0

    def enough(fraction: float) -> bool:
        buffer = account_buffer(equity, scaled(legs, 1.0 - fraction))
        return buffer is None or buffer >= target

    return smallest_fraction(enough)


def smallest_fraction(enough: Callable[[float], bool]) -> float:
    """The smallest share in [0, 1] for which `enough` holds (monotone), bisected: 0.0 when none is needed.

    Shared with the coin-margined buffer (`bot.risk.inverse.cut_fraction`)."""
    if enough(0.0):
        return 0.0
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high
