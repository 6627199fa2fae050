"""Collateral buffer: escalation steps from the margin ratio, and the price move that would liquidate. Pure.

The margin ratio is hedge-account equity over maintenance margin (below 1.0 the venue liquidates). As it
falls through each configured ratio the step escalates, at once: warn, stop adding, reduce the hedge in
clips, halt. It steps back down only once the ratio is above the threshold × (1 + hysteresis), so a ratio
hovering at a threshold does not flap the trading state.

Governor: source `SOURCE`. While `escalation.hold_state` is not None, hold it with `escalation.reason`, else
release. WARN holds nothing (alert on `escalation.changed`); STOP_ADDING and REDUCE hold `reducing`; HALT
holds `halted`. At REDUCE (and HALT, if it is lifted by hand) the hedge should be cut by
`escalation.reduce_fraction` of each position, in reduce-only clips.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import AccountSnapshot, Instrument, Symbol
from bot.risk.state import TradingState

SOURCE = "collateral"

# The hedge is cut to 1 % above the ratio that lifts stop-adding: fees and float rounding must not leave the
# ratio a hair short of it, with the step stuck where it was.
_CUT_MARGIN = 1.01


class Step(enum.IntEnum):
    """Ordered by severity."""

    OK = 0
    WARN = 1
    STOP_ADDING = 2
    REDUCE = 3
    HALT = 4

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def hold_state(self) -> TradingState | None:
        if self >= Step.HALT:
            return TradingState.HALTED
        if self >= Step.STOP_ADDING:
            return TradingState.REDUCING
        return None


@dataclass(frozen=True, slots=True)
class MarginSteps:
    """Margin ratios below which each step applies; they must not increase from warn to halt."""

    warn: float
    stop_adding: float
    reduce: float
    halt: float
    hysteresis: float = 0.1

    def __post_init__(self) -> None:
        if not (self.warn >= self.stop_adding >= self.reduce >= self.halt >= 1.0 and self.hysteresis >= 0):
            raise ValueError(f"margin steps must satisfy warn ≥ stop_adding ≥ reduce ≥ halt ≥ 1: {self}")

    def threshold(self, step: Step) -> float:
        return {
            Step.OK: math.inf,
            Step.WARN: self.warn,
            Step.STOP_ADDING: self.stop_adding,
            Step.REDUCE: self.reduce,
            Step.HALT: self.halt,
        }[step]

    def step_for(self, ratio: float) -> Step:
        """The step a ratio falls in, without hysteresis. An unreadable (NaN) ratio halts: fail closed."""
        if math.isnan(ratio):
            return Step.HALT
        return max((step for step in Step if ratio < self.threshold(step)), default=Step.OK)

    def next_step(self, current: Step, ratio: float) -> Step:
        """Escalate at once; step down only as far as the ratio clears each threshold × (1 + hysteresis)."""
        return max(self.step_for(ratio), min(current, self.step_for(ratio / (1 + self.hysteresis))))


@dataclass(frozen=True, slots=True)
class Escalation:
    ts: int
    step: Step
    previous: Step
    ratio: float  # equity / maintenance margin; +inf with no margin in use
    equity: float
    maintenance_margin: float
    threshold: float  # the ratio below which `step` applies (+inf for OK)
    reduce_fraction: float  # share of each hedge position to close (REDUCE and HALT), else 0

    @property
    def changed(self) -> bool:
        return self.step != self.previous

    @property
    def hold_state(self) -> TradingState | None:
        """The hold to place on the governor (None: release it)."""
        return self.step.hold_state

    @property
    def reason(self) -> str:
        numbers = f"equity {self.equity:,.2f} / maintenance margin {self.maintenance_margin:,.2f}"
        if self.step is Step.OK:
            return f"margin ratio {self.ratio:.2f} ({numbers}): buffer ok"
        cut = f", cut the hedge by {self.reduce_fraction:.0%}" if self.reduce_fraction > 0 else ""
        return f"margin ratio {self.ratio:.2f} below {self.threshold:g} ({numbers}): {self.step}{cut}"


def reduce_fraction(equity: float, maintenance_margin: float, target_ratio: float) -> float:
    """Share of every position to close so that equity / maintenance margin is back at `target_ratio`.

    Maintenance margin scales with the positions; closing them (fees aside) leaves equity unchanged.
    """
    if maintenance_margin <= 0:
        return 0.0
    if not equity > 0:  # also NaN: nothing can be trusted, close everything
        return 1.0
    return min(max(1.0 - equity / (target_ratio * maintenance_margin), 0.0), 1.0)


class CollateralMonitor:
    def __init__(self, steps: MarginSteps) -> None:
        self._steps = steps
        self._step = Step.OK

    @property
    def step(self) -> Step:
        return self._step

    def update(self, ts: int, snapshot: AccountSnapshot) -> Escalation:
        """The step after this snapshot of the hedge account."""
        previous, ratio = self._step, snapshot.margin_ratio
        self._step = self._steps.next_step(previous, ratio)
        cut = 0.0
        if self._step >= Step.REDUCE:  # back above where the stop-adding step is left, or it would not lift
            target = self._steps.stop_adding * (1 + self._steps.hysteresis) * _CUT_MARGIN
            cut = reduce_fraction(snapshot.equity, snapshot.maintenance_margin, target)
        return Escalation(
            ts=ts,
            step=self._step,
            previous=previous,
            ratio=ratio,
            equity=snapshot.equity,
            maintenance_margin=snapshot.maintenance_margin,
            threshold=self._steps.threshold(self._step),
            reduce_fraction=cut,
        )


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

    Cross margin, in the snapshot's settlement currency: the account's maintenance margin is spread over
    the positions in proportion to their value, at one rate (total maintenance margin / gross value).
    """
    priced = [
        (position.symbol, position.qty, instruments[position.symbol], marks[position.symbol])
        for position in snapshot.positions
        if position.qty != 0 and position.symbol in instruments and position.symbol in marks
    ]
    gross = sum(_value(instrument, qty, mark) for _, qty, instrument, mark in priced)
    if gross <= 0:
        return ()
    rate = snapshot.maintenance_margin / gross
    buffer = snapshot.equity - snapshot.maintenance_margin
    estimates = []
    for symbol, qty, instrument, mark in priced:
        move = _liquidating_move(instrument, qty, mark, buffer, rate)
        price = None if move is None else mark * (1 + move)
        estimates.append(LiquidationEstimate(symbol, qty, mark, move, price))
    return tuple(estimates)


def _value(instrument: Instrument, qty: float, mark: float) -> float:
    """Absolute value of a position in its settlement currency: quote for linear, coin for inverse."""
    if instrument.inverse:
        return abs(qty * instrument.contract_size / mark)
    return abs(instrument.notional(qty, mark))


def _liquidating_move(instrument: Instrument, qty: float, mark: float, buffer: float, rate: float) -> float | None:
    """Solve equity(P') = maintenance(P') for this position's price P', everything else fixed."""
    if buffer <= 0:
        return 0.0
    if instrument.inverse:
        # equity(P') = E + q·S·(1/P − 1/P'); its margin is rate·|q·S|/P'. In u = 1/P' both are linear:
        # u = 1/P + buffer / (q·S + rate·|q·S|)
        face = qty * instrument.contract_size
        slope = face + rate * abs(face)
        inverse_price = 1.0 / mark + buffer / slope if slope else 0.0
        return 1.0 / (inverse_price * mark) - 1.0 if inverse_price > 0 else None
    # linear: equity(x) = E + N·x; its margin is rate·|N|·(1 + x) with N the signed notional at the mark
    notional = instrument.notional(qty, mark)
    slope = notional - rate * abs(notional)
    if slope == 0:
        return None
    move = -buffer / slope
    return move if move > -1 else None  # a price cannot fall below zero
