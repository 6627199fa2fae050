"""Leverage brackets and per-symbol leverage: margin, liquidation and refusals as Binance computes them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import account_payloads
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.settings import SimSettings
from bot.risk.brackets import BracketTable

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")

# Binance's BTCUSDT maintenance amounts ("cum") as its leverageBracket endpoint reports them
BINANCE_BTC_CUM = [0.0, 50.0, 1_300.0, 46_300.0, 546_300.0, 2_546_300.0, 5_046_300.0, 8_046_300.0, 28_046_300.0,
                   103_046_300.0]  # fmt: skip


def two_symbols(**overrides: Any) -> SimExchange:
    exchange = SimExchange(SimSettings(bases=("BTC", "ETH"), quarterlies=False, **overrides), T0)
    prices(exchange, T0, 30_000.0, 2_000.0)
    return exchange


def prices(exchange: SimExchange, ts: int, btc: float, eth: float) -> None:
    for symbol, value in (("BTC/USDT", btc), (BTC, btc), ("ETH/USDT", eth), (ETH, eth)):
        exchange.on_event(PriceObserved(ts, Symbol(symbol), value))


def contract(exchange: SimExchange, symbol_id: str) -> Contract:
    found = exchange.catalog.by_id(symbol_id)
    assert found is not None
    return found


def buy(exchange: SimExchange, symbol_id: str, qty: str) -> None:
    exchange.new_order({"symbol": symbol_id, "side": "BUY", "type": "MARKET", "quantity": qty})


def refusal(call: Any) -> int:
    with pytest.raises(BinanceError) as caught:
        call()
    return caught.value.code


def test_the_btc_table_derives_binances_own_maintenance_amounts() -> None:
    table = BracketTable.for_base("BTC")
    assert [b.cum for b in table.brackets] == BINANCE_BTC_CUM
    assert [(b.initial_leverage, b.cap) for b in table.brackets[:3]] == [(125, 50_000), (100, 250_000), (50, 3e6)]


@pytest.mark.parametrize("base", ["BTC", "ETH", "SOL"])
def test_maintenance_margin_is_continuous_across_every_bracket_edge(base: str) -> None:
    table = BracketTable.for_base(base)
    for bracket in table.brackets[:-1]:
        below, above = table.maintenance(bracket.cap), table.maintenance(bracket.cap + 1e-6)
        assert above == pytest.approx(below, abs=1e-3)


def test_max_notional_is_the_largest_cap_whose_bracket_allows_the_leverage() -> None:
    table = BracketTable.for_base("BTC")
    assert (table.max_notional(125), table.max_notional(20), table.max_notional(21)) == (50_000, 20e6, 3e6)


def test_one_symbols_leverage_change_leaves_the_other_symbols_margin_unchanged() -> None:
    exchange = two_symbols()
    exchange.set_leverage(contract(exchange, "BTCUSDT"), 20)
    buy(exchange, "BTCUSDT", "0.5")
    btc_margin = exchange.account.position_initial_margin(BTC)
    exchange.set_leverage(contract(exchange, "ETHUSDT"), 5)
    buy(exchange, "ETHUSDT", "1")
    assert btc_margin == pytest.approx(0.5 * 30_000 / 20)
    assert exchange.account.position_initial_margin(BTC) == pytest.approx(btc_margin)
    assert exchange.account.position_initial_margin(ETH) == pytest.approx(2_000 / 5)
    assert exchange.account.initial_margin == pytest.approx(750 + 400)
    rows = {r["symbol"]: r for r in (account_payloads.position_row_v2(exchange.account, c, T0) for c in
                                     exchange.catalog.all())}  # fmt: skip
    assert (rows["BTCUSDT"]["leverage"], rows["ETHUSDT"]["leverage"]) == ("20", "5")


def test_maintenance_margin_comes_from_the_bracket_of_each_positions_notional() -> None:
    exchange = two_symbols(collateral=1_000_000.0, leverage=10)
    buy(exchange, "BTCUSDT", "3")  # 90,000 USDT: BTC's second bracket, 0.5 % less 50
    buy(exchange, "ETHUSDT", "1")  # 2,000 USDT: ETH's first bracket, 0.5 %
    assert exchange.account.position_maint_margin(BTC) == pytest.approx(90_000 * 0.005 - 50)
    assert exchange.account.position_maint_margin(ETH) == pytest.approx(2_000 * 0.005)


def test_the_liquidation_price_solves_binances_formula_in_the_bracket_it_falls_in() -> None:
    exchange = two_symbols(collateral=10_000.0, leverage=20)
    buy(exchange, "BTCUSDT", "2")  # 60,000 USDT long in cross margin: the whole wallet stands behind it
    wallet = exchange.account.wallet_balance
    # wallet + 2 (P − entry) = 2 P × 0.005 − 50  (P × 2 in the 50k..250k bracket)
    entry = exchange.account.position(BTC).entry_price
    expected = (2 * entry - wallet - 50) / (2 - 2 * 0.005)
    assert exchange.account.liquidation_price(BTC) == pytest.approx(expected)
    prices(exchange, T0 + 60_000, expected + 5, 2_000.0)
    assert exchange.account.position(BTC).qty == 2
    prices(exchange, T0 + 120_000, expected - 5, 2_000.0)
    assert exchange.account.position(BTC).qty == 0


def test_leverage_beyond_the_symbols_brackets_or_its_position_is_refused() -> None:
    exchange = two_symbols(collateral=1_000_000.0, leverage=10)
    btc, eth = contract(exchange, "BTCUSDT"), contract(exchange, "ETHUSDT")
    assert refusal(lambda: exchange.set_leverage(eth, 101)) == -4028  # ETH's first bracket allows 100x
    exchange.set_leverage(btc, 125)
    assert refusal(lambda: buy(exchange, "BTCUSDT", "2")) == -2027  # 60,000 USDT is above 125x's 50,000 cap
    exchange.set_leverage(btc, 50)
    buy(exchange, "BTCUSDT", "2")
    assert refusal(lambda: exchange.set_leverage(btc, 125)) == -2027


def test_an_order_beyond_the_symbols_own_leverage_is_refused_with_2019() -> None:
    exchange = two_symbols(collateral=1_000.0, leverage=20)
    exchange.set_leverage(contract(exchange, "ETHUSDT"), 2)
    assert refusal(lambda: buy(exchange, "ETHUSDT", "1.1")) == -2019  # 2,200 USDT at 2x needs 1,100
    buy(exchange, "BTCUSDT", "0.5")  # 15,000 USDT at BTC's 20x needs 750
    assert exchange.account.available_balance == pytest.approx(1_000 - 750 - 15_000 * 4e-4, abs=0.5)
