"""The executor, driven towards changing targets through partial fills, cancels, rejects and escalations,
never carries the position past its target by more than a lot, and never reuses a client order id.

The test plays the engine's side (targets, ticks) and the venue's (fills, cancels, rejects) around the real
`Executor`: one working clip per instrument, a new target replaces the parent after cancelling the
in-flight clips it makes wrong, resting clips escalate after their wait. Cancels are acknowledged at once;
fills that happened before a cancel stand. The limits are wide: this is about execution, not governance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Config, with_overrides
from bot.domain import (
    BookObserved,
    ClientOrderId,
    Fill,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    Rounding,
    Symbol,
    TradeId,
    round_to_step,
)
from bot.execution.actions import CancelOrder, ExecutionAction, PlaceOrder
from bot.execution.clips import ParentStatus, min_clip_qty, plan_clip
from bot.execution.executor import Executor
from bot.execution.ids import decision_id
from bot.testing.execution import OneInstrumentView

LOT = 0.001
BTC = Instrument(
    Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, "USDT", lot_step=LOT, tick_size=0.1,
    min_qty=LOT, min_notional=100.0,
)  # fmt: skip
SYMBOL = BTC.symbol
WIDE_LIMITS = {
    "max_leverage": 50.0,
    "max_position_notional": 1e9,
    "max_order_notional": 1e9,
    "max_orders_per_minute": 100_000,
    "price_band_bps": 1_000.0,
    "max_price_age": "1000d",
}


@dataclass
class Simulation(OneInstrumentView):
    """The engine's state the executor reads (its `TradingView`), and both sides of the conversation."""

    config: Config = field(default_factory=Config)
    target: float = 0.0
    decisions: int = 0
    trades: int = 0
    sent: list[ClientOrderId] = field(default_factory=list)
    worst_overshoot: float = 0.0
    reject_next: bool = False  # the venue refuses the next order it receives

    def __post_init__(self) -> None:
        self.executor = Executor(self.config, self)

    @property
    def position(self) -> float:
        return self.positions.get(SYMBOL, 0.0)

    @property
    def parent_status(self) -> ParentStatus | None:
        parent = self.executor.parents.get(SYMBOL)
        return None if parent is None else parent.status

    # ---- the engine's side ------------------------------------------------------------------------

    def new_target(self, qty: float) -> None:
        self.target = qty
        decision = decision_id(self.now, self.decisions)
        self.decisions += 1
        self._act(self.executor.start(self.now, decision, 0, SYMBOL, qty, "test"))

    def tick(self, dt_ms: int) -> None:
        self.now += dt_ms
        size = 0.05 + (self.now // 1000 % 7) * 0.1  # a visible size that varies with time
        self.books[SYMBOL] = BookObserved(self.now, SYMBOL, self.mark - 0.1, size, self.mark, size)
        self._act(self.executor.work(self.now))

    def _act(self, actions: list[ExecutionAction]) -> None:
        for action in actions:
            if isinstance(action, PlaceOrder):
                cid = action.request.client_id
                self.sent.append(cid)
                self.executor.on_update(OrderUpdate(self.now, cid, SYMBOL, OrderStatus.SUBMITTED))
                answer = OrderStatus.REJECTED if self.reject_next else OrderStatus.ACCEPTED
                self.reject_next = False
                self.executor.on_update(OrderUpdate(self.now, cid, SYMBOL, answer))
            elif isinstance(action, CancelOrder):
                self._finish(action.client_id, OrderStatus.CANCELLED)

    # ---- the venue's side -------------------------------------------------------------------------

    def fill(self, share: float) -> None:
        working = self.executor.orders.open_orders()
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
        self.positions[SYMBOL] = round_to_step(self.position + fill.signed_qty, LOT, Rounding.NEAREST)
        self.executor.on_fill(fill)
        filled = self.executor.orders.get(order.request.client_id)
        assert filled is not None
        status = OrderStatus.FILLED if filled.filled_qty >= order.request.qty - 1e-12 else OrderStatus.PARTIALLY_FILLED
        self.executor.on_update(OrderUpdate(self.now, order.request.client_id, SYMBOL, status, filled.filled_qty))
        # how far this fill carried the position past the target, in the fill's own direction
        self.worst_overshoot = max(self.worst_overshoot, side.sign * (self.position - self.target))

    def venue_cancel(self) -> None:
        for order in self.executor.orders.open_orders():
            self._finish(order.request.client_id, OrderStatus.CANCELLED)

    def reject(self) -> None:
        self.reject_next = True

    def _finish(self, cid: ClientOrderId, status: OrderStatus) -> None:
        order = self.executor.orders.get(cid)
        if order is not None and order.status.is_open:
            self.executor.on_update(OrderUpdate(self.now, cid, SYMBOL, status, order.filled_qty))


executions = st.fixed_dictionaries(
    {
        "clip_notional": st.sampled_from([150.0, 1_000.0, 5_000.0, 20_000.0]),
        "clip_interval": st.sampled_from(["0s", "1s", "30s"]),
        "order_type": st.sampled_from(["market", "limit"]),
        "book_share": st.sampled_from([0.0, 0.25, 1.0]),
        "max_slippage_bps": st.sampled_from([0.0, 30.0]),
        "escalate_after": st.sampled_from(["0s", "5s", "60s"]),
        "escalate_to": st.sampled_from(["market", "limit"]),
    }
)
policies = executions.map(lambda execution: with_overrides(Config(), execution=execution, risk=WIDE_LIMITS))
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
        status = sim.parent_status
        if status is None or (status is ParentStatus.DONE and not sim.executor.orders.open_orders()):
            return
        if status is ParentStatus.STOPPED:
            sim.new_target(sim.target)
            continue
        sim.mark = sim.executor.parents[SYMBOL].arrival_price  # the price comes back: a slippage hold lifts
        sim.tick(max(sim.executor.policy.interval_ms, 1))
        sim.fill(1.0)
    pytest.fail("the parent never finished")


@settings(max_examples=500)
@given(policies, st.lists(steps, min_size=10, max_size=80))
def test_fills_never_overshoot_a_target_by_more_than_a_lot_and_client_ids_are_never_reused(
    policy: Config, script: list[tuple[str, float]]
) -> None:
    sim = Simulation(BTC, config=policy)
    _run(sim, script)
    _settle(sim)
    assert sim.worst_overshoot <= LOT + 1e-9
    assert len(sim.sent) == len(set(sim.sent))


@settings(max_examples=100)
@given(policies, st.lists(steps, min_size=10, max_size=60))
def test_a_parent_left_to_finish_ends_within_one_minimum_clip_of_its_target(
    policy: Config, script: list[tuple[str, float]]
) -> None:
    sim = Simulation(BTC, config=policy)
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
def test_a_clip_is_whole_lots_within_the_remainder_above_the_minimum_unless_it_only_reduces(
    remaining: float, position: float, price: float, clip_notional: float, book: float | None, share: float
) -> None:
    clip = plan_clip(BTC, remaining, position, price, clip_notional, book_size=book, book_share=share)
    if clip is None:
        return
    assert abs(clip.qty) <= abs(remaining) + 1e-9
    assert clip.qty * remaining > 0
    assert round_to_step(clip.qty, LOT, Rounding.NEAREST) == pytest.approx(clip.qty, abs=1e-12)
    assert clip.reduce_only == (position * clip.qty < 0 and abs(clip.qty) <= abs(position) + 1e-12)
    assert clip.reduce_only or abs(clip.qty) * price >= BTC.min_notional  # reduce-only is exempt (dust closes)


@given(dust_lots=st.integers(1, 3), price=st.floats(1_000.0, 200_000.0))
def test_the_dust_left_of_a_hedge_being_closed_is_closed_by_a_reduce_only_clip_below_the_minimum_notional(
    dust_lots: int, price: float
) -> None:
    position = -dust_lots * LOT  # e.g. 0.002 BTC short: 60 USDT at 30,000, under the 100 USDT minimum
    clip = plan_clip(BTC, -position, position, price, 5_000.0)
    assert clip is not None
    assert clip.qty == pytest.approx(-position)
    assert clip.reduce_only
