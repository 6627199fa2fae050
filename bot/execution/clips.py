"""Clip planning: a parent change of position becomes child clips of a configured notional. Pure.

A parent is replaced (not stacked) when a new target arrives for the same instrument: the engine re-plans
the remainder from the current position.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from bot.domain import DecisionId, Instrument, Rounding, Symbol, round_to_step


class ParentStatus(enum.StrEnum):
    WORKING = "working"
    DONE = "done"
    STOPPED = "stopped"  # a clip was rejected or blocked for good; the next decision re-plans


@dataclass(frozen=True, slots=True)
class Parent:
    decision_id: DecisionId
    leg: int  # the instrument's place in its decision: client ids are (decision, leg, clip)
    symbol: Symbol
    target_qty: float  # the position (contracts, signed) this parent drives towards
    reason: str
    created_ts: int
    next_due_ts: int
    next_clip_no: int = 1
    status: ParentStatus = ParentStatus.WORKING
    arrival_price: float = 0.0

    def advanced(self, now: int, interval_ms: int) -> Parent:
        return replace(self, next_clip_no=self.next_clip_no + 1, next_due_ts=now + interval_ms)

    def finished(self, status: ParentStatus) -> Parent:
        return replace(self, status=status)


@dataclass(frozen=True, slots=True)
class Clip:
    qty: float  # signed contracts, rounded to the lot step
    reduce_only: bool


def plan_clip(
    instrument: Instrument, remaining: float, position: float, price: float, clip_notional: float
) -> Clip | None:
    """The next clip towards `remaining` contracts (signed), or None when what is left is below the minimums."""
    unit = abs(instrument.notional(1.0, price))
    size = min(abs(remaining), clip_notional / unit)
    qty = round_to_step(size, instrument.lot_step, Rounding.DOWN)
    # 2 % above the venue's minimum notional: the price moves between planning and the fill
    if qty < max(instrument.lot_step, instrument.min_qty) - 1e-12 or qty * unit < instrument.min_notional * 1.02:
        return None
    signed = qty if remaining > 0 else -qty
    reduces = position * signed < 0 and qty <= abs(position) + 1e-12
    return Clip(signed, reduce_only=reduces)
