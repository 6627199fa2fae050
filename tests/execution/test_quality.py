"""Execution quality is recorded per parent: arrival price, average fill, slippage in bps, fees, duration."""

from __future__ import annotations

import pytest

from bot.domain import ClientOrderId, DecisionId, Fill, Side, Symbol, TradeId
from bot.execution.quality import QualityLedger, open_quality
from bot.money import fee_in_quote, slippage_bps

BTC = Symbol("BTC/USDT:USDT")
DECISION = DecisionId("18cc-1")


def _fill(
    trade: str, side: Side, qty: float, price: float, fee: float = 0.0, ts: int = 0, currency: str = "USDT"
) -> Fill:
    return Fill(ts, TradeId(trade), ClientOrderId("hb-18cc-1-0-1"), BTC, side, qty, price, fee, currency)


def test_a_sell_filled_below_its_arrival_price_costs_positive_slippage() -> None:
    record = open_quality(DECISION, BTC, arrival_price=50_000.0, position=0.0, target_qty=-0.2, now=1_000)
    record = record.with_fill(_fill("1", Side.SELL, 0.1, 49_990.0, fee=2.0, ts=5_000), "USDT")
    record = record.with_fill(_fill("2", Side.SELL, 0.1, 49_970.0, fee=2.0, ts=65_000), "USDT")
    assert record.side is Side.SELL
    assert record.average_price == pytest.approx(49_980.0)
    assert record.slippage_bps == pytest.approx(4.0)
    assert record.fees == pytest.approx(4.0)
    assert record.filled_qty == pytest.approx(-0.2)
    assert record.fill_ratio == pytest.approx(1.0)
    assert record.closed(70_000, "done").duration_ms == 69_000


def test_a_buy_filled_below_its_arrival_price_is_negative_slippage_a_gain() -> None:
    record = open_quality(DECISION, BTC, arrival_price=50_000.0, position=-0.3, target_qty=-0.1, now=0)
    record = record.with_fill(_fill("1", Side.BUY, 0.2, 49_950.0), "USDT")
    assert record.slippage_bps == pytest.approx(-10.0)


def test_a_fill_is_counted_once_however_often_it_is_reported() -> None:
    record = open_quality(DECISION, BTC, 50_000.0, 0.0, -0.2, 0)
    fill = _fill("1", Side.SELL, 0.1, 50_000.0, fee=2.0)
    twice = record.with_fill(fill, "USDT").with_fill(fill, "USDT")
    assert (twice.fills, twice.filled_qty, twice.fees) == (1, -0.1, 2.0)


def test_a_parent_without_fills_has_no_average_and_no_slippage() -> None:
    record = open_quality(DECISION, BTC, 50_000.0, 0.0, -0.2, 0)
    assert record.average_price is None
    assert record.slippage_bps is None
    assert record.duration_ms is None


def test_a_fee_paid_in_the_base_coin_is_valued_at_the_fill_price() -> None:
    assert fee_in_quote(_fill("1", Side.SELL, 1.0, 50_000.0, fee=0.0001, currency="BTC"), "USDT") == pytest.approx(5.0)
    assert fee_in_quote(_fill("1", Side.SELL, 1.0, 50_000.0, fee=3.0), "USDT") == 3.0


def test_slippage_is_measured_against_the_trade_direction() -> None:
    assert slippage_bps(Side.BUY, 100.0, 101.0) == pytest.approx(100.0)
    assert slippage_bps(Side.SELL, 100.0, 101.0) == pytest.approx(-100.0)


def test_the_ledger_routes_fills_by_decision_and_hands_back_the_closed_record() -> None:
    ledger = QualityLedger("USDT")
    ledger.open(open_quality(DECISION, BTC, 50_000.0, 0.0, -0.2, 0))
    assert ledger.fill(DecisionId("other"), _fill("1", Side.SELL, 0.1, 50_000.0)) is None
    assert ledger.fill(DECISION, _fill("2", Side.SELL, 0.1, 49_995.0, ts=10)) is not None
    closed = ledger.close(DECISION, BTC, 20, "replaced")
    assert closed is not None
    assert closed.as_record()["outcome"] == "replaced"
    assert closed.as_record()["slippage_bps"] == pytest.approx(1.0)
    assert ledger.get(DECISION, BTC) is None
    assert ledger.close(DECISION, BTC, 30, "done") is None
