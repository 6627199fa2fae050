"""Clip planning: a parent change of position becomes child clips of a configured notional. Pure.

A parent is replaced (not stacked) when a new target arrives for the same instrument: the engine re-plans
the remainder from the current position, and `stale_clips` names the in-flight clips the new target makes
wrong (they would carry the position past it), to be cancelled first.

How the engine drives one parent, clip by clip (one working clip per instrument at a time):

1. `slippage_hold(policy, side, parent.arrival_price, mark)`: a reason to hold (mark ran too far from the
   arrival price) or None.
2. `plan_clip(...)` with the book's size on the side taken: the clip, or None when the parent is done.
3. `order_terms(policy, instrument, side, mark, parent.escalated)`: market, marketable limit or post-only.
4. `parent.placed(now, interval_ms)` once the request is journaled.
5. While a clip rests: `escalation_due(policy, order_type, rested_since, now)` → cancel it and
   `parent.escalating(now)`; the replacement clip is then priced marketable.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.config import ExecutionSection
from bot.domain import (
    ClientOrderId,
    DecisionId,
    Instrument,
    OrderType,
    Rounding,
    Side,
    Symbol,
    parse_duration_ms,
    round_to_step,
)
from bot.execution.order_states import TrackedOrder
from bot.money import slippage_bps

_MIN_NOTIONAL_MARGIN = 1.02  # 2 % above the venue's minimum notional: the price moves before the fill
_EPS = 1e-12


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
    escalated: bool = False  # the next clip is priced marketable (a resting clip waited too long)
    protective: bool = False  # a collateral cut: its reduce-only clips pass every trading state (bot.risk.state)

    def advanced(self, now: int, interval_ms: int) -> Parent:
        return replace(self, next_clip_no=self.next_clip_no + 1, next_due_ts=now + interval_ms)

    def waiting(self, now: int, interval_ms: int) -> Parent:
        """Nothing went out (held or blocked): try again after the interval, with the same clip number."""
        return replace(self, next_due_ts=now + interval_ms)

    def placed(self, now: int, interval_ms: int) -> Parent:
        """A clip went out: the next one is due after the interval, priced normally again."""
        return replace(self.advanced(now, interval_ms), escalated=False)

    def escalating(self, now: int) -> Parent:
        """The resting clip is being cancelled: its replacement goes marketable as soon as the cancel lands."""
        return replace(self, escalated=True, next_due_ts=now)

    def finished(self, status: ParentStatus) -> Parent:
        return replace(self, status=status)


@dataclass(frozen=True, slots=True)
class Clip:
    qty: float  # signed contracts, rounded to the lot step
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class ClipPolicy:
    """The execution settings a clip is planned and priced with (see `ExecutionSection`)."""

    clip_notional: float
    interval_ms: int
    order_type: OrderType = OrderType.MARKET
    limit_offset_bps: float = 2.0
    book_share: float = 0.0  # 0: the visible book does not cap the clip
    max_slippage_bps: float = 0.0  # 0: no hold however far the mark runs from the arrival price
    post_only: bool = False
    escalate_after_ms: int = 0  # 0: never escalate
    escalate_to: OrderType = OrderType.MARKET

    @staticmethod
    def from_config(execution: ExecutionSection) -> ClipPolicy:
        return ClipPolicy(
            clip_notional=execution.clip_notional,
            interval_ms=parse_duration_ms(execution.clip_interval),
            order_type=OrderType(execution.order_type),
            limit_offset_bps=execution.limit_offset_bps,
            book_share=execution.book_share,
            max_slippage_bps=execution.max_slippage_bps,
            post_only=execution.post_only,
            escalate_after_ms=parse_duration_ms(execution.escalate_after),
            escalate_to=OrderType(execution.escalate_to),
        )


def min_clip_qty(instrument: Instrument, price: float) -> float:
    """The smallest quantity (contracts, lot-rounded) a venue accepts as a new clip at `price`."""
    unit = abs(instrument.notional(1.0, price))
    by_notional = instrument.min_notional * _MIN_NOTIONAL_MARGIN / unit if unit > 0 else 0.0
    least = max(instrument.lot_step, instrument.min_qty, by_notional)
    return round_to_step(least, instrument.lot_step, Rounding.UP)


def plan_clip(
    instrument: Instrument,
    remaining: float,
    position: float,
    price: float,
    clip_notional: float,
    *,
    book_size: float | None = None,
    book_share: float = 0.0,
) -> Clip | None:
    """The next clip towards `remaining` contracts (signed), or None when what is left is below the minimums
    (a lot, the minimum quantity, and, unless the clip only reduces the position, the minimum notional).

    With `book_share` > 0 and the visible size on the side the clip takes (`book_size`, contracts), the clip
    is at most that share of it. Neither the book nor a clip notional close to the venue's minimum shrinks a
    clip below that minimum while the remainder is larger: a thin book slows a parent, it never ends it.
    """
    unit = abs(instrument.notional(1.0, price))
    size = clip_notional / unit
    if book_share > 0 and book_size is not None:
        size = min(size, book_share * book_size)
    least = min_clip_qty(instrument, price)
    if abs(remaining) >= least:
        size = max(size, least)
    qty = round_to_step(min(size, abs(remaining)), instrument.lot_step, Rounding.DOWN)
    if qty < max(instrument.lot_step, instrument.min_qty) - _EPS:
        return None
    signed = qty if remaining > 0 else -qty
    reduces = position * signed < 0 and qty <= abs(position) + _EPS
    # reduce-only orders are exempt from the minimum notional (Binance: "unless you choose reduce only"), so
    # the dust left of a hedge being closed can always be closed
    if not reduces and qty * unit < instrument.min_notional * _MIN_NOTIONAL_MARGIN:
        return None
    return Clip(signed, reduce_only=reduces)


@dataclass(frozen=True, slots=True)
class OrderTerms:
    order_type: OrderType
    price: float | None  # limit price on the tick; None for a market order
    post_only: bool = False


def order_terms(
    policy: ClipPolicy, instrument: Instrument, side: Side, mark: float, escalated: bool = False
) -> OrderTerms:
    """How a clip is priced: as configured, or marketable (`escalate_to`) once a resting clip waited too long."""
    order_type = policy.escalate_to if escalated else policy.order_type
    if order_type is OrderType.MARKET:
        return OrderTerms(OrderType.MARKET, None)
    offset = policy.limit_offset_bps / 1e4
    if policy.post_only and not escalated:
        # passive: below the mark for a buy, above for a sell, rounded away from the touch so it rests
        rounding = Rounding.DOWN if side is Side.BUY else Rounding.UP
        price = round_to_step(mark * (1 - offset * side.sign), instrument.tick_size, rounding)
        return OrderTerms(OrderType.LIMIT, max(price, instrument.tick_size), post_only=True)
    # marketable: through the mark by the offset, rounded further through so it still crosses
    rounding = Rounding.UP if side is Side.BUY else Rounding.DOWN
    price = round_to_step(mark * (1 + offset * side.sign), instrument.tick_size, rounding)
    return OrderTerms(OrderType.LIMIT, max(price, instrument.tick_size))


def slippage_hold(policy: ClipPolicy, side: Side, arrival_price: float, mark: float) -> str | None:
    """Why the parent holds its next clip (the mark ran past the slippage limit), or None to go on."""
    if policy.max_slippage_bps <= 0 or arrival_price <= 0:
        return None
    moved = slippage_bps(side, arrival_price, mark)
    if moved <= policy.max_slippage_bps:
        return None
    return (
        f"mark {mark:g} is {moved:.1f} bps against the arrival price {arrival_price:g} "
        f"(limit {policy.max_slippage_bps:g} bps): holding the parent"
    )


def escalation_due(policy: ClipPolicy, order_type: OrderType, rested_since: int, now: int) -> bool:
    """Whether a resting limit clip has waited long enough to be cancelled and replaced marketable."""
    if policy.escalate_after_ms <= 0 or order_type is not OrderType.LIMIT:
        return False
    return now - rested_since >= policy.escalate_after_ms


def stale_clips(target_qty: float, position: float, open_orders: Iterable[TrackedOrder]) -> tuple[ClientOrderId, ...]:
    """In-flight clips a new target makes wrong: those that, filled, would carry the position past it.

    Orders are kept in the order given while the position plus what they still may fill stays on the
    position's side of the target; the first that would cross it, and every later one, is named to cancel.
    """
    planned = position
    stale: list[ClientOrderId] = []
    for order in open_orders:
        remaining = order.remaining
        gap = target_qty - planned
        fits = remaining * gap >= 0 and abs(remaining) <= abs(gap) + _EPS
        if stale or not fits:
            stale.append(order.request.client_id)
        else:
            planned += remaining
    return tuple(stale)
