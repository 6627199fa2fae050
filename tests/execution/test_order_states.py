"""Orders move only along the transition table, and a fill counts once per trade id."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import ClientOrderId, Fill, OrderRequest, OrderStatus, OrderUpdate, Side, Symbol, TradeId
from bot.execution.order_states import TRANSITIONS, IllegalTransition, OrderTracker, check_transition

BTC = Symbol("BTC/USDT:USDT")
CID = ClientOrderId("hb-1-1")


def _tracker() -> OrderTracker:
    tracker = OrderTracker()
    tracker.add(OrderRequest(CID, BTC, Side.SELL, 1.0))
    return tracker


def _update(status: OrderStatus, filled: float = 0.0) -> OrderUpdate:
    return OrderUpdate(0, CID, BTC, status, filled)


def test_the_happy_path_goes_new_submitted_accepted_partial_filled() -> None:
    tracker = _tracker()
    for status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        tracker.update(_update(status))
    order = tracker.get(CID)
    assert order is not None
    assert order.status is OrderStatus.FILLED


def test_a_filled_order_cannot_become_accepted_again() -> None:
    tracker = _tracker()
    tracker.update(_update(OrderStatus.SUBMITTED))
    tracker.update(_update(OrderStatus.FILLED, 1.0))
    with pytest.raises(IllegalTransition, match="from filled to accepted"):
        tracker.update(_update(OrderStatus.ACCEPTED))


def test_a_client_id_cannot_be_used_twice() -> None:
    tracker = _tracker()
    with pytest.raises(IllegalTransition, match="already in use"):
        tracker.add(OrderRequest(CID, BTC, Side.BUY, 2.0))


def test_the_same_fill_reported_twice_counts_once() -> None:
    tracker = _tracker()
    fill = Fill(0, TradeId("t1"), CID, BTC, Side.SELL, 0.4, 50_000.0, 1.0, "USDT")
    assert tracker.fill(fill)
    assert not tracker.fill(fill)
    order = tracker.get(CID)
    assert order is not None
    assert order.filled_qty == pytest.approx(0.4)
    assert order.remaining == pytest.approx(-0.6)


def test_final_states_have_no_way_out() -> None:
    for status in OrderStatus:
        assert (not TRANSITIONS[status]) == status.is_final


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=12))
def test_any_report_sequence_leaves_the_order_in_a_status_reachable_by_the_table(reports: list[OrderStatus]) -> None:
    tracker = _tracker()
    for status in reports:
        before = tracker.get(CID)
        assert before is not None
        try:
            tracker.update(_update(status))
        except IllegalTransition:
            after = tracker.get(CID)
            assert after is not None
            assert after.status is before.status  # an illegal report changes nothing
        else:
            check_transition(before.status, status)


def test_an_adopted_order_starts_at_the_status_and_quantity_the_venue_reports() -> None:
    tracker = OrderTracker()
    request = OrderRequest(CID, BTC, Side.SELL, 1.0)
    order = tracker.adopt(request, _update(OrderStatus.PARTIALLY_FILLED, 0.4))
    assert (order.status, order.filled_qty, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 0.4, -0.6)
    assert tracker.open_orders() == [order]


def test_adopting_an_order_twice_changes_nothing_and_a_regression_is_refused() -> None:
    tracker = OrderTracker()
    request = OrderRequest(CID, BTC, Side.SELL, 1.0)
    first = tracker.adopt(request, _update(OrderStatus.ACCEPTED))
    assert tracker.adopt(request, _update(OrderStatus.ACCEPTED)) == first
    tracker.adopt(request, _update(OrderStatus.FILLED, 1.0))
    with pytest.raises(IllegalTransition):
        tracker.adopt(request, _update(OrderStatus.ACCEPTED))


def test_an_update_about_another_order_cannot_be_adopted() -> None:
    with pytest.raises(ValueError, match="is not about"):
        OrderTracker().adopt(OrderRequest(ClientOrderId("hb-2-2"), BTC, Side.BUY, 1.0), _update(OrderStatus.ACCEPTED))
