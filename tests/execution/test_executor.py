"""The executor turns a parent into priced, limited clips: post-only, escalation, slippage holds, book share,
re-planning on a new target, and an execution-quality record per parent."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Config, with_overrides
from bot.domain import (
    BookObserved,
    ClientOrderId,
    DecisionId,
    Fill,
    Instrument,
    InstrumentKind,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    Symbol,
    TradeId,
)
from bot.execution.actions import CancelOrder, ClipHeld, ExecutionAction, ParentClosed, PlaceOrder
from bot.execution.executor import Executor
from bot.testing.execution import OneInstrumentView

BTC = Instrument(
    Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, "USDT", lot_step=0.001, tick_size=0.1,
    min_qty=0.001, min_notional=100.0,
)  # fmt: skip
SYMBOL = BTC.symbol
WIDE = {"max_position_notional": 1e9, "max_order_notional": 1e9, "max_orders_per_minute": 10_000}


def executor(book: OneInstrumentView, **execution: Any) -> Executor:
    return Executor(with_overrides(Config(), execution=execution, risk=WIDE), book)


def placed(actions: list[ExecutionAction]) -> list[PlaceOrder]:
    return [a for a in actions if isinstance(a, PlaceOrder)]


def accept(ex: Executor, order: PlaceOrder, now: int) -> None:
    for status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED):
        ex.on_update(OrderUpdate(now, order.request.client_id, SYMBOL, status))


def fill(ex: Executor, book: OneInstrumentView, order: PlaceOrder, price: float, trade: str) -> None:
    request = order.request
    ex.on_update(OrderUpdate(book.now, request.client_id, SYMBOL, OrderStatus.SUBMITTED))
    book.positions[SYMBOL] = book.positions.get(SYMBOL, 0.0) + request.signed_qty
    ex.on_fill(Fill(book.now, TradeId(trade), request.client_id, SYMBOL, request.side, request.qty, price, 2.0, "USDT"))
    ex.on_update(OrderUpdate(book.now, request.client_id, SYMBOL, OrderStatus.FILLED, request.qty))


def test_a_post_only_clip_rests_passively_below_the_mark_for_a_buy() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, order_type="limit", post_only=True, limit_offset_bps=10.0)
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.05, "test")
    [order] = placed(ex.work(0))
    assert order.request.post_only
    assert order.request.order_type is OrderType.LIMIT
    assert order.request.price == pytest.approx(49_950.0)


def test_a_post_only_clip_refused_for_taking_liquidity_is_priced_again_at_the_next_interval() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, order_type="limit", post_only=True, limit_offset_bps=10.0, clip_interval="1s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.05, "test")
    [first] = placed(ex.work(0))
    ex.on_update(OrderUpdate(0, first.request.client_id, SYMBOL, OrderStatus.SUBMITTED))
    refused = OrderUpdate(0, first.request.client_id, SYMBOL, OrderStatus.REJECTED, reason="-5022", would_take=True)
    ex.on_update(refused)
    book.mark = 50_100.0  # the market moved up through the resting price
    [second] = placed(ex.work(1_000))
    assert second.request.client_id != first.request.client_id
    assert second.request.post_only
    assert second.request.price == pytest.approx(50_049.9)  # 10 bps under the new mark
    assert (ex.stats.repriced, ex.stats.rejected) == (1, 0)


def test_a_rejected_clip_stops_its_parent() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, clip_interval="1s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.05, "test")
    [first] = placed(ex.work(0))
    ex.on_update(OrderUpdate(0, first.request.client_id, SYMBOL, OrderStatus.SUBMITTED))
    ex.on_update(OrderUpdate(0, first.request.client_id, SYMBOL, OrderStatus.REJECTED, reason="-2019"))
    assert placed(ex.work(1_000)) == []
    assert ex.stats.rejected == 1


def test_a_target_already_held_opens_no_parent_and_records_no_execution() -> None:
    book = OneInstrumentView(BTC)
    book.positions[SYMBOL] = 0.05
    ex = executor(book)
    assert ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.05, "test") == []
    assert ex.parents == {}
    assert not [a for a in ex.work(1_000) if isinstance(a, ParentClosed)]


def test_a_resting_clip_that_waited_too_long_is_cancelled_and_replaced_by_a_market_order() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, order_type="limit", post_only=True, escalate_after="60s", clip_interval="10s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.05, "test")
    [first] = placed(ex.work(0))
    accept(ex, first, 0)
    assert ex.work(59_000) == []
    [cancel] = ex.work(60_000)
    assert isinstance(cancel, CancelOrder)
    assert cancel.client_id == first.request.client_id
    ex.on_update(OrderUpdate(60_000, first.request.client_id, SYMBOL, OrderStatus.CANCELLED))
    [second] = placed(ex.work(60_000))
    assert second.request.order_type is OrderType.MARKET
    assert not second.request.post_only
    assert second.request.client_id != first.request.client_id
    assert ex.stats.escalations == 1


def test_a_resting_clip_of_a_replaced_parent_escalates_by_its_own_age_under_the_new_parent() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, order_type="limit", post_only=True, escalate_after="1s", clip_interval="1s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, -0.05, "test")
    [first] = placed(ex.work(0))
    accept(ex, first, 0)
    assert ex.start(900, DecisionId("d2"), 0, SYMBOL, -0.05, "the next sample") == []  # the clip still fits
    [cancel] = ex.work(1_000)
    assert isinstance(cancel, CancelOrder)
    assert cancel.client_id == first.request.client_id
    ex.on_update(OrderUpdate(1_000, first.request.client_id, SYMBOL, OrderStatus.CANCELLED))
    [second] = placed(ex.work(1_000))
    assert second.request.order_type is OrderType.MARKET
    assert second.request.decision_id == "d2"


def test_a_resting_clip_found_open_at_a_restart_escalates_after_the_wait_counted_from_then() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, order_type="limit", post_only=True, escalate_after="5s")
    old = OrderRequest(ClientOrderId("hb-d0-0-3"), SYMBOL, Side.SELL, 0.02, OrderType.LIMIT, 50_050.0,
                       post_only=True, decision_id=DecisionId("d0"), clip_no=3)  # fmt: skip
    ex.orders.adopt(old, OrderUpdate(100_000, old.client_id, SYMBOL, OrderStatus.ACCEPTED))
    ex.start(100_000, DecisionId("d1"), 0, SYMBOL, -0.05, "restart")
    assert placed(ex.work(100_000)) == []  # one working clip per contract: the adopted one
    assert ex.work(104_999) == []
    [cancel] = ex.work(105_000)
    assert isinstance(cancel, CancelOrder)
    assert cancel.client_id == old.client_id


def test_a_parent_holds_while_the_mark_is_past_its_slippage_limit_and_goes_on_when_it_returns() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, max_slippage_bps=20.0, clip_interval="1s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, -0.05, "test")  # a sell: a falling mark is slippage
    book.mark = 49_800.0  # 40 bps below the arrival price
    [held] = ex.work(0)
    assert isinstance(held, ClipHeld)
    assert "against the arrival price" in held.notes[0]
    book.mark = 49_950.0  # 10 bps: within the limit
    assert len(placed(ex.work(1_000))) == 1


def test_a_clip_takes_at_most_its_share_of_the_visible_size_on_the_side_it_takes() -> None:
    book = OneInstrumentView(BTC)
    book.books[SYMBOL] = BookObserved(0, SYMBOL, 49_999.0, 1.0, 50_000.0, 0.04)
    ex = executor(book, book_share=0.5, clip_notional=20_000.0)
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.3, "test")
    [order] = placed(ex.work(0))
    assert order.request.qty == pytest.approx(0.02)  # half of the 0.04 offered, not 0.4 of clip notional


def test_a_new_target_replaces_the_parent_and_cancels_the_clip_that_would_carry_past_it() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, clip_notional=5_000.0)
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.3, "test")
    [order] = placed(ex.work(0))
    accept(ex, order, 0)  # 0.1 BTC buying
    actions = ex.start(1_000, DecisionId("d2"), 0, SYMBOL, 0.05, "smaller")
    assert [a.client_id for a in actions if isinstance(a, CancelOrder)] == [order.request.client_id]
    assert len(ex.parents) == 1
    assert ex.parents[SYMBOL].decision_id == "d2"


def test_a_finished_parent_reports_its_arrival_price_average_fill_slippage_fees_and_duration() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, clip_notional=2_500.0, clip_interval="5s")
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.1, "test")
    [first] = placed(ex.work(0))
    fill(ex, book, first, 50_010.0, "t1")
    book.now = 5_000
    [second] = placed(ex.work(5_000))
    fill(ex, book, second, 50_030.0, "t2")
    closed = [a for a in ex.work(10_000) if isinstance(a, ParentClosed)]
    assert len(closed) == 1
    quality = closed[0].quality
    assert (quality.side, quality.arrival_price, quality.fills, quality.outcome) == (Side.BUY, 50_000.0, 2, "done")
    assert quality.average_price == pytest.approx(50_020.0)
    assert quality.slippage_bps == pytest.approx(4.0)
    assert quality.fees == pytest.approx(4.0)
    assert quality.duration_ms == 10_000


def test_clips_answered_filled_count_before_their_fills_arrive_so_the_parent_never_trades_them_again() -> None:
    book = OneInstrumentView(BTC)
    ex = executor(book, clip_notional=2_500.0, clip_interval="5s")  # 0.05 BTC a clip
    ex.start(0, DecisionId("d1"), 0, SYMBOL, 0.1, "test")
    for now in (0, 5_000):
        [clip] = placed(ex.work(now))
        request = clip.request
        ex.on_update(OrderUpdate(now, request.client_id, SYMBOL, OrderStatus.SUBMITTED))
        ex.on_update(OrderUpdate(now, request.client_id, SYMBOL, OrderStatus.FILLED, request.qty))  # no fill yet
    assert placed(ex.work(10_000)) == []  # the target is reached: the user stream is only late with the fills
    assert ex.planned_position(SYMBOL) == pytest.approx(0.1)
    assert ex.inflight_symbols() == [SYMBOL]
    assert ex.working() == []
