from __future__ import annotations

import calendar
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Symbol
from bot.exchange_sim.catalog import Catalog, decimals_of, quarterly_deliveries_after

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def test_the_perpetual_and_two_quarterlies_are_listed_under_binance_ids() -> None:
    catalog = Catalog(("BTC",), "USDT", True, T0)
    assert [c.id for c in catalog.all()] == ["BTCUSDT_260327", "BTCUSDT_260626", "BTCUSDT"]
    current, following, perp = catalog.all()
    assert current.symbol == Symbol("BTC/USDT:USDT-260327")
    assert [catalog.contract_type(c, T0) for c in (current, following, perp)] == [
        "CURRENT_QUARTER",
        "NEXT_QUARTER",
        "PERPETUAL",
    ]


def test_when_a_quarter_delivers_the_next_one_is_listed_and_becomes_current() -> None:
    catalog = Catalog(("BTC",), "USDT", True, T0)
    march = catalog.by_id("BTCUSDT_260327")
    assert march is not None
    after = march.delivery_ms + 1
    listed = catalog.refresh(after)
    assert [c.id for c in listed] == ["BTCUSDT_260925"]
    assert [c.id for c in catalog.due_for_delivery(after)] == ["BTCUSDT_260327"]
    june = catalog.by_id("btcusdt_260626")
    assert june is not None
    assert catalog.contract_type(june, after) == "CURRENT_QUARTER"
    assert [c.id for c in catalog.trading(after)] == ["BTCUSDT_260626", "BTCUSDT_260925", "BTCUSDT"]


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_quarterly_deliveries_are_last_fridays_of_quarter_months_at_0800_utc(now_ms: int) -> None:
    first, second = quarterly_deliveries_after(now_ms)
    assert now_ms < first < second
    for delivery in (first, second):
        day = datetime.fromtimestamp(delivery / 1000, tz=UTC)
        assert (day.month % 3, day.weekday(), day.hour, day.minute) == (0, calendar.FRIDAY, 8, 0)
        assert day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    assert second - first < 100 * 86_400_000


def test_precision_decimals_follow_the_step() -> None:
    assert [decimals_of(s) for s in (0.001, 0.1, 1.0, 0.00001, 10.0)] == [3, 1, 0, 5, 0]
