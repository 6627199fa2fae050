"""Clips planned towards changing targets, through partial fills, cancels, rejects and escalations, never
carry the position past its target by more than a lot, and never reuse a client order id.

The simulation drives the pure planner the way the engine does: one working clip per instrument, a new
target replaces the parent (re-planning the remainder) after cancelling the in-flight clips it makes wrong,
and the venue is a loop that fills, cancels or rejects the working clip as hypothesis says. Cancels are
acknowledged at once here; fills that happened before a cancel stand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    ClientOrderId,
    Fill,
    Instrument,
    InstrumentKind,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Rounding,
    Side,
    Symbol,
    TradeId,
    round_to_step,
)
from bot.execution.clips import (
    ClipPolicy,
    Parent,
    ParentStatus,
    escalation_due,
    min_clip_qty,
    order_terms,
    plan_clip,
    slippage_hold,
    stale_clips,
)
from bot.execution.ids import client_order_id, decision_id
from bot.execution.orders import OrderTracker, TrackedOrder

LOT = 0.001
BTC = Instrument(
    Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, "USDT", lot_step=LOT, tick_size=0.1,
    min_qty=LOT, min_notional=100.0,
)  # fmt: skip
SYMBOL = BTC.symbol


@dataclass
class Simulation:
    policy: ClipPolicy
    mark: float = 50_000.0
    now: int = 0
    position: float = 0.0
    target: float = 0.0
    parent: Parent | None = None
    orders: OrderTracker = field(default_factory=OrderTracker)
    decisions: int = 0
    trades: int = 0
    sent: list[ClientOrderId] = field(default_factory=list)
    worst_overshoot: float = 0.0

    # ---- the engine's side ------------------------------------------------------------------------

    def new_target(self, qty: float) -> None:
        for cid in stale_clips(qty, self.position, self.orders.open_orders()):
            self._finish(cid, OrderStatus.CANCELLED)
        self.parent = Parent(
            decision_id(self.now, self.decisions), 0, SYMBOL, qty, "test", self.now, self.now, arrival_price=self.mark
        )
        self.decisions += 1
        self.target = qty

    def tick(self, dt_ms: int) -> None:
        self.now += dt_ms
        parent = self.parent
        if parent is None or parent.status is not ParentStatus.WORKING:
            return
        working = self.orders.open_orders()
        if working:
            order = working[0].request
            if escalation_due(self.policy, order.order_type, parent.placed_ts, self.now):
                self._finish(order.client_id, OrderStatus.CANCELLED)
                self.parent = parent.escalating(self.now)
            return
        if self.now < parent.next_due_ts:
            return
        self._next_clip(parent)

    def _next_clip(self, parent: Parent) -> None:
        remaining = parent.target_qty - self.position
        side = Side.of(remaining)
        if slippage_hold(self.policy, side, parent.arrival_price, self.mark):
            self.parent = parent.advanced(self.now, self.policy.interval_ms)
            return
        book = 0.05 + (self.now // 1000 % 7) * 0.1  # a visible size that varies with time
        clip = plan_clip(
            BTC, remaining, self.position, self.mark, self.policy.clip_notional,
            book_size=book, book_share=self.policy.book_share,
        )  # fmt: skip
        if clip is None:
            self.parent = parent.finished(ParentStatus.DONE)
            return
        terms = order_terms(self.policy, BTC, side, self.mark, parent.escalated)
        cid = client_order_id(parent.decision_id, parent.leg, parent.next_clip_no)
        request = OrderRequest(
            cid, SYMBOL, side, abs(clip.qty), terms.order_type, terms.price, clip.reduce_only, terms.post_only
        )
        self.orders.add(request)
        self.orders.update(OrderUpdate(self.now, cid, SYMBOL, OrderStatus.SUBMITTED))
        self.orders.update(OrderUpdate(self.now, cid, SYMBOL, OrderStatus.ACCEPTED))
        self.sent.append(cid)
        self.parent = parent.placed(self.now, self.policy.interval_ms)

    # ---- the venue's side -------------------------------------------------------------------------

    def fill(self, share: float) -> None:
        working = self.orders.open_orders()
        if not working:
            return
        order = working[0]
        left = abs(order.remaining)
        qty = min(left, max(LOT, round_to_step(left * share, LOT, Rounding.UP)))
        self.trades += 1
        side = order.request.side
        fill = Fill(
            self.now, TradeId(f"t{self.trades}"), order.request.client_id, SYMBOL, side, qty, self.mark, 0.0, "USDT"
        )
        self.orders.fill(fill)
        self.position = round_to_step(self.position + fill.signed_qty, LOT, Rounding.NEAREST)
        filled = self.orders.get(order.request.client_id)
        assert filled is not None
        status = OrderStatus.FILLED if filled.filled_qty >= order.request.qty - 1e-12 else OrderStatus.PARTIALLY_FILLED
        self.orders.update(OrderUpdate(self.now, order.request.client_id, SYMBOL, status, filled.filled_qty))
        # how far this fill carried the position past the target, in the fill's own direction
        self.worst_overshoot = max(self.worst_overshoot, side.sign * (self.position - self.target))
        self.orders.forget_final()

    def venue_cancel(self) -> None:
        for order in self.orders.open_orders():
            self._finish(order.request.client_id, OrderStatus.CANCELLED)

    def reject(self) -> None:
        working = self.orders.open_orders()
        if working and self.parent is not None and working[0].request.decision_id == self.parent.decision_id:
            self._finish(working[0].request.client_id, OrderStatus.REJECTED)
            self.parent = self.parent.finished(ParentStatus.STOPPED)

    def _finish(self, cid: ClientOrderId, status: OrderStatus) -> None:
        order: TrackedOrder | None = self.orders.get(cid)
        assert order is not None
        self.orders.update(OrderUpdate(self.now, cid, SYMBOL, status, order.filled_qty))
        self.orders.forget_final()


policies = st.builds(
    ClipPolicy,
    clip_notional=st.sampled_from([150.0, 1_000.0, 5_000.0, 20_000.0]),
    interval_ms=st.sampled_from([0, 1_000, 30_000]),
    order_type=st.sampled_from([OrderType.MARKET, OrderType.LIMIT]),
    book_share=st.sampled_from([0.0, 0.25, 1.0]),
    max_slippage_bps=st.sampled_from([0.0, 30.0]),
    escalate_after_ms=st.sampled_from([0, 5_000, 60_000]),
    escalate_to=st.sampled_from([OrderType.MARKET, OrderType.LIMIT]),
)
ticks = st.tuples(st.just("tick"), st.sampled_from([500, 1_000, 5_000, 30_000, 90_000]))
fills = st.tuples(st.just("fill"), st.sampled_from([0.1, 0.33, 0.5, 1.0]))
steps = st.one_of(  # ticks and fills listed twice: most steps let clips go out and fill
    st.tuples(st.just("target"), st.integers(-400, 400)),  # lots of 0.001 BTC: up to ±0.4 BTC (±20,000 USDT)
    ticks,
    fills,
    ticks,
    fills,
    st.tuples(st.just("cancel"), st.just(0)),
    st.tuples(st.just("reject"), st.just(0)),
    st.tuples(st.just("price"), st.integers(-80, 80)),  # bps
)


def _run(sim: Simulation, script: list[tuple[str, float]]) -> None:
    for action, value in script:
        if action == "target":
            sim.new_target(round_to_step(value * LOT, LOT, Rounding.NEAREST))
        elif action == "tick":
            sim.tick(int(value))
        elif action == "fill":
            sim.fill(value)
        elif action == "cancel":
            sim.venue_cancel()
        elif action == "reject":
            sim.reject()
        else:
            sim.mark = round_to_step(sim.mark * (1 + value / 1e4), BTC.tick_size, Rounding.NEAREST)


def _settle(sim: Simulation) -> None:
    """No new targets: the venue fills everything, a stopped parent is re-decided, until the parent ends."""
    for _ in range(2_000):
        parent = sim.parent
        if parent is None or (parent.status is ParentStatus.DONE and not sim.orders.open_orders()):
            return
        if parent.status is ParentStatus.STOPPED:
            sim.new_target(sim.target)
            continue
        sim.mark = parent.arrival_price  # the price comes back: a slippage hold lifts
        sim.tick(max(sim.policy.interval_ms, 1))
        sim.fill(1.0)
    pytest.fail("the parent never finished")


@settings(max_examples=500)
@given(policies, st.lists(steps, min_size=10, max_size=80))
def test_fills_never_overshoot_a_target_by_more_than_a_lot_and_client_ids_are_never_reused(
    policy: ClipPolicy, script: list[tuple[str, float]]
) -> None:
    sim = Simulation(policy)
    _run(sim, script)
    _settle(sim)
    assert sim.worst_overshoot <= LOT + 1e-9
    assert len(sim.sent) == len(set(sim.sent))


@settings(max_examples=100)
@given(policies, st.lists(steps, min_size=10, max_size=60))
def test_a_parent_left_to_finish_ends_within_one_minimum_clip_of_its_target(
    policy: ClipPolicy, script: list[tuple[str, float]]
) -> None:
    sim = Simulation(policy)
    _run(sim, script)
    _settle(sim)
    assert abs(sim.position - sim.target) < min_clip_qty(BTC, sim.mark)


@given(
    remaining=st.integers(-100_000, 100_000).map(lambda lots: lots * LOT),
    position=st.integers(-100_000, 100_000).map(lambda lots: lots * LOT),
    price=st.floats(1_000.0, 200_000.0),
    clip_notional=st.floats(10.0, 50_000.0),
    book=st.one_of(st.none(), st.floats(0.0, 50.0)),
    share=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_a_clip_is_whole_lots_within_the_remainder_above_the_minimum_and_reduce_only_only_when_it_reduces(
    remaining: float, position: float, price: float, clip_notional: float, book: float | None, share: float
) -> None:
    clip = plan_clip(BTC, remaining, position, price, clip_notional, book_size=book, book_share=share)
    if clip is None:
        return
    assert abs(clip.qty) <= abs(remaining) + 1e-9
    assert clip.qty * remaining > 0
    assert round_to_step(clip.qty, LOT, Rounding.NEAREST) == pytest.approx(clip.qty, abs=1e-12)
    assert abs(clip.qty) * price >= BTC.min_notional
    assert clip.reduce_only == (position * clip.qty < 0 and abs(clip.qty) <= abs(position) + 1e-12)
