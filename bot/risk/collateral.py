"""Collateral buffer: escalation steps from the distance to liquidation, and the price move that would liquidate.

Pure. The buffer is the adverse move of the hedge instruments' prices (a fraction: 0.25 = a 25 % rally for a
short hedge) that would bring the hedge account's equity down to its maintenance margin, by the venue's
brackets (`bot.risk.buffer`). The steps are the moves the book must survive (`[risk.collateral]`): as the
buffer falls below each, the step escalates at once; it steps back only once the buffer is above the
threshold + `hysteresis` (points of move), so a buffer hovering at a threshold does not flap the trading state.

| step | buffer below | hold (source `collateral`) | cut |
|---|---|---|---|
| WARN | `warn` | none (an alert) | no |
| TOP_UP | `top_up` | `reducing`: nothing that adds exposure (a reserve, where configured, is moved in) | no |
| REDUCE | `reduce` | `reducing` | yes: back to `top_up` + hysteresis |
| FLOOR | `floor` (or an unreadable equity) | `halted`: nothing adds, nor any ordinary order | yes, as REDUCE |

The cut (`escalation.reduce_fraction` of every position) is protective: its reduce-only clips pass every
trading state (`bot.risk.state`), whoever holds it. The margin ratio (equity / maintenance margin) is kept as a
secondary figure.

Hedge legs on several venues (`AccountSnapshot.venues`): each venue liquidates on its own account, whatever the
others hold, so the ladder reads the venue whose own buffer is smallest (`worst_venue`), and its cut is that
venue's legs' (`escalation.venue`): cutting another venue's legs would not move the thin one's liquidation.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.domain import AccountSnapshot, Instrument, Symbol
from bot.risk import buffer as buffers
from bot.risk import inverse
from bot.risk.state import TradingState

SOURCE = "collateral"
_Instruments = Mapping[Symbol, Instrument]

# The hedge is cut to 1 % beyond the buffer that lifts the top-up step: fees and float rounding must not leave
# the buffer a hair short of it, with the step stuck where it was.
_CUT_MARGIN = 1.01


class Step(enum.IntEnum):
    """Ordered by severity."""

    OK = 0
    WARN = 1
    TOP_UP = 2
    REDUCE = 3
    FLOOR = 4

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def hold_state(self) -> TradingState | None:
        if self >= Step.FLOOR:
            return TradingState.HALTED
        if self >= Step.TOP_UP:
            return TradingState.REDUCING
        return None


_BY_SEVERITY = tuple(sorted(Step, reverse=True))  # FLOOR first


@dataclass(frozen=True, slots=True)
class BufferSteps:
    """The adverse moves (fractions) below which each step applies; they must not increase from warn to floor.
    Steps of 0 are never reached (a buffer is never below 0): all four at 0 switch the ladder off."""

    warn: float = 0.40
    top_up: float = 0.30
    reduce: float = 0.20
    floor: float = 0.10
    hysteresis: float = 0.05  # points of move: a step is left once the buffer is above its threshold + this

    def __post_init__(self) -> None:
        if not (self.warn >= self.top_up >= self.reduce >= self.floor >= 0 and self.hysteresis >= 0):
            raise ValueError(f"buffer steps must satisfy warn ≥ top_up ≥ reduce ≥ floor ≥ 0: {self}")

    def threshold(self, step: Step) -> float:
        # a tuple indexed by the step, not a dict built per call: asked ten times per account evaluation
        return (math.inf, self.warn, self.top_up, self.reduce, self.floor)[step]

    def step_for(self, buffer: float) -> Step:
        """The step a buffer falls in, without hysteresis. An unreadable (NaN) buffer is the floor: fail closed."""
        if math.isnan(buffer):
            return Step.FLOOR
        for step in _BY_SEVERITY:  # the most severe step whose threshold the buffer is under (asked every mark)
            if buffer < self.threshold(step):
                return step
        return Step.OK

    def next_step(self, current: Step, buffer: float) -> Step:
        """Escalate at once; step down only as far as the buffer clears each threshold + hysteresis."""
        return max(self.step_for(buffer), min(current, self.step_for(buffer - self.hysteresis)))

    @property
    def cut_target(self) -> float:
        """The buffer a cut restores: where the top-up step is left."""
        return (self.top_up + self.hysteresis) * _CUT_MARGIN


@dataclass(frozen=True, slots=True)
class Escalation:
    ts: int
    step: Step
    previous: Step
    buffer: float  # the account's distance to liquidation (fraction of the prices); +inf when no move liquidates
    equity: float
    maintenance_margin: float  # by the brackets, at the marks now
    threshold: float  # the buffer below which `step` applies (+inf for OK)
    reduce_fraction: float  # share of each hedge position to close (REDUCE and FLOOR), else 0
    venue: str = ""  # legs on several venues: the venue read (the worst), whose positions the cut is of

    @property
    def changed(self) -> bool:
        return self.step != self.previous

    @property
    def margin_ratio(self) -> float:
        """The secondary figure: equity / maintenance margin (+inf with no margin in use)."""
        return math.inf if self.maintenance_margin <= 0 else self.equity / self.maintenance_margin

    @property
    def hold_state(self) -> TradingState | None:
        """The hold to place on the governor (None: release it)."""
        return self.step.hold_state

    @property
    def reason(self) -> str:
        distance = "no move liquidates" if math.isinf(self.buffer) else f"liquidation {self.buffer:.1%} away"
        distance = f"venue {self.venue}: {distance}" if self.venue else distance
        numbers = (
            f"equity {self.equity:,.2f}, maintenance margin {self.maintenance_margin:,.2f}, "
            f"margin ratio {self.margin_ratio:.2f}"
        )
        if self.step is Step.OK:
            return f"{distance} ({numbers}): buffer ok"
        cut = f", cut the hedge by {self.reduce_fraction:.0%}" if self.reduce_fraction > 0 else ""
        return f"{distance}, below {self.step} {self.threshold:.0%} ({numbers}): {self.step}{cut}"


class CollateralMonitor:
    def __init__(self, steps: BufferSteps) -> None:
        self._steps = steps
        self._step = Step.OK

    @property
    def step(self) -> Step:
        return self._step

    def update(
        self,
        ts: int,
        snapshot: AccountSnapshot,
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
    ) -> Escalation:
        """The step after this snapshot of the hedge account, its positions valued at `marks` (with legs on several
        venues, the step of the venue nearest liquidation)."""
        venue, snapshot = worst_venue(snapshot, marks, instruments)
        book = book_of(snapshot, marks, instruments)
        equity = snapshot.equity
        if math.isnan(equity):
            distance: float | None = math.nan
        else:
            distance = book.buffer(equity)
        buffer = math.inf if distance is None else distance
        previous = self._step
        self._step = self._steps.next_step(previous, buffer)
        cut = 0.0
        if self._step >= Step.REDUCE and not math.isnan(equity):  # unreadable equity: no figure to cut by
            cut = book.cut(equity, self._steps.cut_target)
        return Escalation(
            ts=ts,
            step=self._step,
            previous=previous,
            buffer=buffer,
            equity=equity,
            maintenance_margin=book.maintenance(),
            threshold=self._steps.threshold(self._step),
            reduce_fraction=cut,
            venue=venue,
        )


def worst_venue(
    snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: _Instruments
) -> tuple[str, AccountSnapshot]:
    """The account the ladder governs: `snapshot` itself ("", one venue), or, merged from several venues, the
    venue whose own buffer is smallest and its own account. An unreadable (NaN) buffer is the worst: fail closed."""
    if not snapshot.venues:
        return "", snapshot

    def buffer(part: AccountSnapshot) -> float:
        found = math.nan if math.isnan(part.equity) else book_of(part, marks, instruments).buffer(part.equity)
        distance = math.inf if found is None else found
        return -math.inf if math.isnan(distance) else distance

    return min(snapshot.venues, key=lambda item: buffer(item[1]))


def book_of(snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: _Instruments) -> _Book:
    """The snapshot's positions as the buffer sees them: linear, or in the coin for a coin-margined book."""
    if inverse.is_inverse_book(snapshot.positions, instruments):  # in the coin, not linear in price
        return _InverseBook(snapshot, marks, instruments)
    return _LinearBook(snapshot, marks, instruments)


class _Book(Protocol):
    def buffer(self, equity: float) -> float | None: ...
    def cut(self, equity: float, target: float) -> float: ...
    def maintenance(self) -> float: ...
    def move(self, equity: float, symbol: Symbol) -> float | None: ...


class _LinearBook:
    """USDT-margined positions: the buffer by `bot.risk.buffer`."""

    def __init__(self, snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: _Instruments):
        self._legs = buffers.legs_of(snapshot.positions, marks, instruments)

    def buffer(self, equity: float) -> float | None:
        return buffers.account_buffer(equity, self._legs)

    def cut(self, equity: float, target: float) -> float:
        return buffers.cut_fraction(equity, self._legs, target)

    def maintenance(self) -> float:
        return buffers.maintenance(self._legs)

    def move(self, equity: float, symbol: Symbol) -> float | None:
        """The adverse move of `symbol`'s price alone that liquidates the account."""
        return buffers.adverse_move(equity, self._legs, frozenset({symbol}))


class _InverseBook:
    """Coin-margined positions: the buffer in the coin by `bot.risk.inverse` (equity in the coin too)."""

    def __init__(self, snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: _Instruments):
        self._legs = inverse.legs_of(snapshot.positions, marks, instruments)

    def buffer(self, equity: float) -> float | None:
        return inverse.account_buffer(equity, self._legs)

    def cut(self, equity: float, target: float) -> float:
        return inverse.cut_fraction(equity, self._legs, target)

    def maintenance(self) -> float:
        return inverse.maintenance(self._legs)

    def move(self, equity: float, symbol: Symbol) -> float | None:
        """The adverse move of `symbol`'s price alone that liquidates the account, in the coin."""
        return inverse.adverse_move(equity, self._legs, frozenset({symbol}))


# ---- the price move that would liquidate ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidationEstimate:
    """The move of one position's price, all else unchanged, at which equity meets maintenance margin."""

    symbol: Symbol
    qty: float
    mark: float
    move: float | None  # fraction of the mark, signed (+0.25: a 25 % rise); 0 = liquidating now; None: no move
    price: float | None  # the mark at which it liquidates; None when no move does

    def describe(self) -> str:
        if self.move is None or self.price is None:
            return f"{self.symbol}: no move of its price alone liquidates the account"
        return f"{self.symbol} {self.qty:+g}: liquidation at {self.price:,.2f} ({self.move:+.1%} from {self.mark:,.2f})"


def liquidation_moves(
    snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
) -> tuple[LiquidationEstimate, ...]:
    """One estimate per open position of the snapshot that can be valued (known instrument and mark).

    Cross margin, by the buffer's own book (`book_of`): linear contracts by each contract's USDⓈ-M brackets at
    the moved price (`bot.risk.buffer`), inverse ones in the coin by the COIN-M brackets (`bot.risk.inverse`),
    so the status line and the collateral step read the same maintenance margin. Legs on several venues: each
    position on its own venue's account, where it liquidates.
    """
    if snapshot.venues:
        return tuple(e for _, part in snapshot.venues for e in liquidation_moves(part, marks, instruments))
    book = book_of(snapshot, marks, instruments)
    estimates = []
    for position in snapshot.positions:
        symbol, qty, mark = position.symbol, position.qty, marks.get(position.symbol)
        if qty == 0 or symbol not in instruments or mark is None:
            continue
        distance = book.move(snapshot.equity, symbol)
        move = None if distance is None else (distance if qty < 0 else -distance)  # a short is hurt by a rise
        price = None if move is None else mark * (1 + move)
        estimates.append(LiquidationEstimate(symbol, qty, mark, move, price))
    return tuple(estimates)
