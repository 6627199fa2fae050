"""OrderMemory: REST answers and stream messages may overlap in any order; what is reported only moves forward."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import ClientOrderId, Fill, OrderStatus, OrderUpdate, Side, Symbol, TradeId
from bot.venues.ccxt_user_stream import OrderMemory

PERP = Symbol("BTC/USDT:USDT")
RANK = {OrderStatus.ACCEPTED: 1, OrderStatus.PARTIALLY_FILLED: 2}


def update(status: OrderStatus, filled: float = 0.0, client_id: str = "hb-1") -> OrderUpdate:
    return OrderUpdate(0, ClientOrderId(client_id), PERP, status, filled, 30_000.0, exchange_id="42")


def rank(status: OrderStatus) -> int:
    return 3 if status.is_final else RANK.get(status, 0)


def test_a_newer_status_with_an_older_fill_figure_keeps_the_larger_fill() -> None:
    memory = OrderMemory()
    memory.remember(update(OrderStatus.PARTIALLY_FILLED, 0.004))
    cancelled = memory.remember(update(OrderStatus.CANCELLED, 0.002))
    assert cancelled is not None
    assert (cancelled.status, cancelled.filled_qty) == (OrderStatus.CANCELLED, 0.004)


def test_a_late_new_never_follows_a_fill_and_a_final_state_is_reported_once() -> None:
    memory = OrderMemory()
    reported = [
        memory.remember(u) is not None
        for u in [
            update(OrderStatus.PARTIALLY_FILLED, 0.004),
            update(OrderStatus.ACCEPTED),
            update(OrderStatus.PARTIALLY_FILLED, 0.004),
            update(OrderStatus.FILLED, 0.01),
            update(OrderStatus.FILLED, 0.01),
            update(OrderStatus.CANCELLED, 0.01),
        ]
    ]
    assert reported == [True, False, False, True, False, False]
    assert memory.client_ids == {"42": "hb-1"}
    assert memory.working == {}


def test_an_order_reported_working_is_remembered_until_it_is_final() -> None:
    memory = OrderMemory()
    memory.remember(update(OrderStatus.ACCEPTED))
    assert memory.working == {"hb-1": PERP}
    memory.remember(update(OrderStatus.EXPIRED))
    assert memory.working == {}


def test_a_fill_is_new_once_per_symbol_and_trade_id() -> None:
    memory = OrderMemory()
    fill = Fill(5, TradeId("7"), ClientOrderId("hb-1"), PERP, Side.BUY, 0.01, 30_000.0, 0.12, "USDT")
    assert [memory.first_time(fill), memory.first_time(fill)] == [True, False]
    assert memory.last_fill_ms == 5


STATUSES = st.sampled_from([s for s in OrderStatus if s not in (OrderStatus.NEW, OrderStatus.SUBMITTED)])


@given(st.lists(st.tuples(STATUSES, st.integers(min_value=0, max_value=10)), max_size=30))
def test_whatever_order_reports_arrive_in_the_reported_ones_never_go_backwards(
    reports: list[tuple[OrderStatus, int]],
) -> None:
    memory = OrderMemory()
    passed = [p for p in (memory.remember(update(status, steps / 1000)) for status, steps in reports) if p]
    ranks = [rank(u.status) for u in passed]
    filled = [u.filled_qty for u in passed]
    assert ranks == sorted(ranks)
    assert filled == sorted(filled)
    assert sum(u.status.is_final for u in passed) <= 1
    if passed and passed[-1].status.is_final:
        assert memory.working == {}
