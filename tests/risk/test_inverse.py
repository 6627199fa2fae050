"""The coin-margined account maths against Binance's documented COIN-M formulas, and the buffer in the coin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import AccountSnapshot, FundingSettled, Instrument, InstrumentKind, Position, Symbol
from bot.money import coin_in_quote, funding_in_quote
from bot.risk import inverse
from bot.risk.buffer import MAX_MOVE
from bot.risk.collateral import BufferSteps, CollateralMonitor, Step

BTC_USD = Symbol("BTC/USD:BTC")
ETH_USD = Symbol("ETH/USD:ETH")
BTC = Instrument(BTC_USD, "BTC", "USD", InstrumentKind.PERPETUAL, settle="BTC", inverse=True, contract_size=100)
ETH = Instrument(ETH_USD, "ETH", "USD", InstrumentKind.PERPETUAL, settle="ETH", inverse=True, contract_size=10)
INSTRUMENTS = {BTC_USD: BTC, ETH_USD: ETH}
STEPS = BufferSteps(warn=0.40, top_up=0.30, reduce=0.20, floor=0.10, hysteresis=0.05)

# Binance's FAQ "How to Calculate Liquidation Price of COIN-M Futures Contracts", BTCUSD, written out as the FAQ
# gives it (floor, cap in BTC, rate), each maintenance amount by its rule: floor_n × (rate_n − rate_n−1) + cum_n−1.
_DOC_BTCUSD = [
    (0, 5, 0.004),
    (5, 10, 0.005),
    (10, 20, 0.01),
    (20, 50, 0.025),
    (50, 100, 0.05),
    (100, 200, 0.1),
    (200, 400, 0.125),
    (400, 1000, 0.15),
    (1000, 1500, 0.25),
    (1500, 1_000_000, 0.5),
]


def _doc_brackets() -> list[tuple[float, float, float, float]]:
    rows: list[tuple[float, float, float, float]] = []
    cum, previous = 0.0, 0.0
    for floor, cap, rate in _DOC_BTCUSD:
        cum += floor * (rate - previous)
        rows.append((floor, cap, rate, cum))
        previous = rate
    return rows


def _doc_bracket(value: float) -> tuple[float, float]:
    """(rate, maintenance amount) of the bracket a BTC value falls in."""
    for floor, cap, rate, cum in _doc_brackets():
        if floor <= value <= cap:
            return rate, cum
    raise AssertionError(value)


def _doc_liquidation(wallet: float, contracts: float, entry: float, face: float) -> float | None:
    """The FAQ's one-way formula, bracket by bracket until the result falls in the bracket it was computed with."""
    size, side = abs(contracts), (1.0 if contracts > 0 else -1.0)
    for floor, cap, rate, cum in _doc_brackets():
        denominator = (wallet + cum) / face + side * size / entry
        if denominator == 0:
            continue
        price = size * (rate + side) / denominator
        if price > 0 and floor <= size * face / price <= cap:
            return price
    return None


def test_binances_worked_example_a_300_btc_position_is_in_the_12_5_percent_bracket_with_11_605_btc_amount() -> None:
    bracket = inverse.coinm_table("BTC").at(300)
    assert bracket.maint_rate == 0.125
    assert bracket.cum == pytest.approx(11.605)
    # and the FAQ's maintenance example: 100 contracts of BTCUSD at 25,000 = 0.4 BTC → 0.0016 BTC
    assert inverse.maintenance_margin(BTC, 100, 25_000) == pytest.approx(0.0016)


prices = st.floats(min_value=1_000, max_value=200_000)
contracts = st.integers(min_value=-2_000_000, max_value=2_000_000).filter(lambda n: n != 0)


@given(qty=contracts, entry=prices, mark=prices, leverage=st.integers(1, 125))
def test_unrealised_pnl_and_margins_equal_binances_coinm_formulas_at_any_price_and_size(
    qty: int, entry: float, mark: float, leverage: int
) -> None:
    side, size = (1 if qty > 0 else -1), abs(qty)
    value = size * 100 / mark
    assert BTC.pnl(qty, entry, mark) == pytest.approx(side * size * 100 * (1 / entry - 1 / mark), rel=1e-12)
    assert inverse.position_value(BTC, qty, mark) == pytest.approx(value)
    assert inverse.initial_margin(BTC, qty, mark, leverage) == pytest.approx(value / leverage)
    rate, cum = _doc_bracket(value)
    assert inverse.maintenance_margin(BTC, qty, mark) == pytest.approx(value * rate - cum, rel=1e-9, abs=1e-12)


@given(qty=contracts, entry=prices, wallet=st.floats(min_value=0.001, max_value=2_000))
def test_liquidation_price_equals_binances_coinm_formula_and_equity_meets_maintenance_there(
    qty: int, entry: float, wallet: float
) -> None:
    expected = _doc_liquidation(wallet, qty, entry, 100)
    price = inverse.liquidation_price(BTC, qty, entry, wallet)
    if expected is None:
        assert price is None
        return
    assert price is not None
    assert price == pytest.approx(expected, rel=1e-9)
    equity = wallet + BTC.pnl(qty, entry, price)
    assert equity == pytest.approx(inverse.maintenance_margin(BTC, qty, price), rel=1e-6, abs=1e-9)


@given(qty=st.integers(-20_000, -1), mark=prices, cover=st.floats(min_value=0.05, max_value=0.95))
def test_a_short_on_part_collateral_has_its_buffer_at_binances_liquidation_price(
    qty: int, mark: float, cover: float
) -> None:
    wallet = cover * abs(qty) * 100 / mark  # less coin than the face value shorted: a rally liquidates it
    legs = inverse.legs_of([Position(BTC_USD, qty, mark)], {BTC_USD: mark}, INSTRUMENTS)
    price = inverse.liquidation_price(BTC, qty, mark, wallet)
    buffer = inverse.account_buffer(wallet, legs)
    assert price is not None
    if price > mark * (1 + MAX_MOVE):  # beyond the largest rally the buffer looks at
        assert buffer is None
        return
    assert buffer == pytest.approx(max(0.0, price / mark - 1.0), rel=1e-6, abs=1e-9)  # 0: below maintenance now


@given(holding=st.floats(min_value=0.01, max_value=5_000), mark=st.floats(min_value=100, max_value=10_000))
def test_eth_held_as_collateral_for_a_one_to_one_short_is_never_liquidated_by_a_rise(
    holding: float, mark: float
) -> None:
    qty = -round(holding * mark / 10)  # the holding's USD value in 10-USD contracts
    if qty == 0:
        return
    wallet = abs(qty) * 10 / mark  # exactly the face value shorted, in the coin
    legs = inverse.legs_of([Position(ETH_USD, qty, mark)], {ETH_USD: mark}, INSTRUMENTS)
    assert inverse.liquidation_price(ETH, qty, mark, wallet) is None
    assert inverse.account_buffer(wallet, legs) is None


def test_a_long_inverse_position_is_always_liquidated_by_a_deep_enough_fall() -> None:
    legs = inverse.legs_of([Position(BTC_USD, 500, 50_000)], {BTC_USD: 50_000}, INSTRUMENTS)
    buffer = inverse.account_buffer(10.0, legs)  # 1 BTC of position value on 10 BTC: a 90 %+ fall
    price = inverse.liquidation_price(BTC, 500, 50_000, 10.0)
    assert buffer is not None
    assert price is not None
    assert 50_000 * (1 - buffer) == pytest.approx(price, rel=1e-6)


def test_cutting_the_fraction_asked_brings_an_inverse_buffer_back_to_its_target() -> None:
    legs = inverse.legs_of([Position(BTC_USD, -20_000, 50_000)], {BTC_USD: 50_000}, INSTRUMENTS)
    wallet = 8.0  # 40 BTC shorted on 8 BTC: a rally of about 25 % liquidates it
    before = inverse.account_buffer(wallet, legs)
    assert before is not None
    assert before < 0.5
    cut = inverse.cut_fraction(wallet, legs, 0.5)
    kept = tuple(Position(leg.symbol, leg.qty * (1 - cut), 50_000) for leg in legs)
    after = inverse.account_buffer(wallet, inverse.legs_of(kept, {BTC_USD: 50_000}, INSTRUMENTS))
    assert 0 < cut < 1
    assert after is None or after >= 0.5 - 1e-9


def test_the_collateral_monitor_measures_an_inverse_account_in_the_coin() -> None:
    wallet = 8.0
    snapshot = AccountSnapshot(0, "BTC", wallet, wallet, 0.0, 0.0, (Position(BTC_USD, -20_000, 50_000),))
    escalation = CollateralMonitor(STEPS).update(0, snapshot, {BTC_USD: 50_000}, INSTRUMENTS)
    expected = inverse.liquidation_price(BTC, -20_000, 50_000, wallet)
    assert expected is not None
    assert escalation.buffer == pytest.approx(expected / 50_000 - 1, rel=1e-6)
    assert escalation.step is Step.TOP_UP  # a 23 % rally liquidates: below top-up (30 %), above reduce (20 %)
    assert escalation.maintenance_margin == pytest.approx(inverse.maintenance_margin(BTC, -20_000, 50_000))


def test_a_self_collateralised_inverse_hedge_keeps_the_collateral_monitor_at_ok() -> None:
    snapshot = AccountSnapshot(0, "ETH", 1.0, 1.0, 0.0, 0.0, (Position(ETH_USD, -200, 2_000),))
    escalation = CollateralMonitor(STEPS).update(0, snapshot, {ETH_USD: 2_000}, INSTRUMENTS)
    assert escalation.step is Step.OK
    assert escalation.buffer == float("inf")


def test_funding_paid_in_the_coin_is_valued_once_at_the_settlements_mark() -> None:
    funding = FundingSettled(0, BTC_USD, 0.0001, -100, 40_000, -0.000025, "BTC")
    assert funding_in_quote(funding, "USDT") == pytest.approx(-1.0)
    linear = FundingSettled(0, Symbol("BTC/USDT:USDT"), 0.0001, -1, 40_000, -4.0, "USDT")
    assert funding_in_quote(linear, "USDT") == -4.0
    assert coin_in_quote(0.5, 40_000) == 20_000
