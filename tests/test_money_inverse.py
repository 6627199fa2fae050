"""Money figures of inverse (coin-margined) fills: fees, funding and slippage in the coin, valued once in quote."""

from __future__ import annotations

import pytest

from bot.domain import ClientOrderId, Fill, Instrument, InstrumentKind, Side, Symbol, TradeId
from bot.money import fee_in_quote, slippage_cost, traded_notional

ETH_USD = Symbol("ETH/USD:ETH")
ETH = Instrument(ETH_USD, "ETH", "USD", InstrumentKind.PERPETUAL, settle="ETH", inverse=True, contract_size=10)
LINEAR = Instrument(Symbol("ETH/USDT:USDT"), "ETH", "USDT", InstrumentKind.PERPETUAL, settle="USDT")


def _fill(instrument: Instrument, side: Side, qty: float, price: float, fee: float, currency: str) -> Fill:
    return Fill(0, TradeId("1"), ClientOrderId("c"), instrument.symbol, side, qty, price, fee, currency)


def test_a_sell_of_inverse_contracts_above_the_mark_earns_its_slippage_in_quote_not_its_face_value() -> None:
    fill = _fill(ETH, Side.SELL, 1_000, 2_002.0, 0.0, "ETH")  # 10,000 USD face sold 2 above a mark of 2,000
    earned = slippage_cost(ETH, fill, 2_000.0)
    # 10,000 USD × (1/2000 − 1/2002) ETH valued at the fill: 10 USDT earned (5 ETH × 2), not 20,000
    assert earned == pytest.approx(-10_000 * (1 / 2_000 - 1 / 2_002) * 2_002)
    assert earned == pytest.approx(-10.0)


def test_slippage_of_a_linear_fill_is_its_quantity_times_the_price_difference() -> None:
    fill = _fill(LINEAR, Side.BUY, 5.0, 2_001.0, 0.0, "USDT")
    assert slippage_cost(LINEAR, fill, 2_000.0) == pytest.approx(5.0)


def test_an_inverse_fills_fee_in_coin_is_valued_at_the_fill_and_its_size_is_its_face_value() -> None:
    fill = _fill(ETH, Side.SELL, 1_000, 2_000.0, 0.0025, "ETH")
    assert fee_in_quote(fill, "USDT") == pytest.approx(5.0)
    assert traded_notional(ETH, fill) == 10_000
