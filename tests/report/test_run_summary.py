"""A run's totals count every money figure through its one home (bot.money), the coin-margined ones included."""

from __future__ import annotations

import pytest

from bot.domain import ClientOrderId, Fill, Side, Symbol, TradeId
from bot.execution.market_rules import default_instrument
from bot.money import book_notional
from bot.report.run_summary import Totals

INVERSE = Symbol("BTC/USD:BTC")
LINEAR = Symbol("BTC/USDT:USDT")


def _fill(symbol: Symbol, qty: float, price: float, fee: float, currency: str) -> Fill:
    return Fill(0, TradeId("1"), ClientOrderId("c1"), symbol, Side.SELL, qty, price, fee, currency)


def test_a_fee_paid_in_the_coin_is_counted_in_quote_at_the_fills_price() -> None:
    totals = Totals()
    instrument = default_instrument(INVERSE)  # 100 USD face value a contract, fees in BTC
    totals.add_fill(instrument, _fill(INVERSE, 10, 50_000.0, 0.0002, "BTC"), sent_at_mark=50_000.0, quote="USD")
    assert totals.fees == pytest.approx(10.0)  # 0.0002 BTC at 50,000
    assert totals.traded_notional == pytest.approx(1_000.0)  # 10 contracts × 100 USD, whatever the price


def test_a_fee_paid_in_quote_is_counted_as_it_is_and_slippage_against_the_mark_at_sending() -> None:
    totals = Totals()
    instrument = default_instrument(LINEAR)
    totals.add_fill(instrument, _fill(LINEAR, 0.5, 49_900.0, 9.98, "USDT"), sent_at_mark=50_000.0, quote="USDT")
    assert totals.fees == pytest.approx(9.98)
    assert totals.slippage_cost == pytest.approx(50.0)  # sold 0.5 at 100 below the mark: 50 paid


def test_a_position_that_cannot_be_valued_is_named_not_counted_as_zero() -> None:
    instruments = {LINEAR: default_instrument(LINEAR), INVERSE: default_instrument(INVERSE)}
    book = book_notional({LINEAR: -1.0, INVERSE: -10.0}, instruments, {LINEAR: 50_000.0})
    assert (book.gross, book.net, book.unpriced) == (50_000.0, -50_000.0, (INVERSE,))
