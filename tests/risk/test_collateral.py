"""The collateral buffer escalates step by step as the margin ratio falls, and knows what move liquidates."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, parse_config
from bot.domain import AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk.collateral import (
    SOURCE,
    CollateralMonitor,
    MarginSteps,
    Step,
    liquidation_moves,
    reduce_fraction,
)
from bot.risk.state import Governor, TradingState

STEPS = MarginSteps(warn=3.0, stop_adding=2.0, reduce=1.5, halt=1.2, hysteresis=0.1)
BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
BTC_USD = Symbol("BTC/USD:BTC")
LINEAR = {
    BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT"),
    ETH: Instrument(ETH, "ETH", "USDT", InstrumentKind.PERPETUAL, settle="USDT"),
}
INVERSE = {
    BTC_USD: Instrument(BTC_USD, "BTC", "USD", InstrumentKind.PERPETUAL, settle="BTC", inverse=True, contract_size=100)
}


def _snapshot(ratio: float, equity: float = 10_000.0, positions: tuple[Position, ...] = ()) -> AccountSnapshot:
    return AccountSnapshot(0, "USDT", equity, equity, 0.0, equity / ratio, positions)


def _steps(ratios: list[float]) -> list[Step]:
    monitor = CollateralMonitor(STEPS)
    return [monitor.update(i, _snapshot(ratio)).step for i, ratio in enumerate(ratios)]


def test_each_step_applies_as_the_margin_ratio_falls_below_its_threshold() -> None:
    assert _steps([4.0, 2.5, 1.8, 1.4, 1.1]) == [Step.OK, Step.WARN, Step.STOP_ADDING, Step.REDUCE, Step.HALT]


def test_a_sudden_fall_escalates_straight_to_the_step_it_lands_in() -> None:
    assert _steps([4.0, 1.1]) == [Step.OK, Step.HALT]


def test_a_step_is_left_only_once_the_ratio_clears_its_threshold_with_hysteresis() -> None:
    assert _steps([1.9, 2.1, 2.19, 2.21, 3.1, 3.31]) == [
        Step.STOP_ADDING,
        Step.STOP_ADDING,  # above 2.0, not above 2.2
        Step.STOP_ADDING,
        Step.WARN,
        Step.WARN,  # above 3.0, not above 3.3
        Step.OK,
    ]


def test_an_account_without_margin_in_use_is_ok() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 0.0)
    assert CollateralMonitor(STEPS).update(0, snapshot).step is Step.OK


def test_an_unreadable_margin_ratio_halts() -> None:
    snapshot = AccountSnapshot(0, "USDT", math.nan, math.nan, 0.0, 100.0)
    assert CollateralMonitor(STEPS).update(0, snapshot).step is Step.HALT


@pytest.mark.parametrize(
    ("ratio", "held"),
    [(2.5, None), (1.8, TradingState.REDUCING), (1.4, TradingState.REDUCING), (1.1, TradingState.HALTED)],
)
def test_warn_holds_nothing_stop_adding_and_reduce_hold_reducing_and_halt_halts(
    ratio: float, held: TradingState | None
) -> None:
    governor = Governor()
    escalation = CollateralMonitor(STEPS).update(7, _snapshot(ratio))
    if escalation.hold_state is None:
        governor.release(SOURCE, 7)
    else:
        governor.hold(SOURCE, escalation.hold_state, escalation.reason, 7)
    assert escalation.hold_state is held
    assert governor.state is (held or TradingState.ACTIVE)


def test_an_escalation_says_the_ratio_the_threshold_and_the_numbers() -> None:
    escalation = CollateralMonitor(STEPS).update(0, _snapshot(1.25))
    assert escalation.changed
    assert escalation.reason == (
        "margin ratio 1.25 below 1.5 (equity 10,000.00 / maintenance margin 8,000.00): reduce, cut the hedge by 44%"
    )


def test_cutting_the_hedge_by_the_reduce_fraction_brings_the_step_back_to_warn() -> None:
    monitor = CollateralMonitor(STEPS)
    escalation = monitor.update(0, _snapshot(1.25))
    left = escalation.maintenance_margin * (1 - escalation.reduce_fraction)
    after = monitor.update(1, AccountSnapshot(1, "USDT", 10_000.0, 10_000.0, 0.0, left))
    assert after.step is Step.WARN


def test_with_no_equity_left_the_whole_hedge_is_to_be_cut() -> None:
    assert reduce_fraction(-5.0, 100.0, 2.2) == 1.0


def test_margin_steps_out_of_order_are_refused_in_the_model_and_in_the_config() -> None:
    with pytest.raises(ValueError, match="warn ≥ stop_adding"):
        MarginSteps(warn=1.5, stop_adding=2.0, reduce=1.4, halt=1.2)
    with pytest.raises(ConfigError, match=r"margin_warn_ratio = 1\.5, margin_stop_adding_ratio = 2"):
        parse_config({"risk": {"margin_warn_ratio": 1.5}})


def test_a_short_liquidates_on_the_rise_that_eats_its_buffer() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 250.0, (Position(BTC, -1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: 50_000.0}, LINEAR)
    assert estimate.move == pytest.approx(9_750.0 / 50_250.0)  # buffer / (notional + its margin)
    assert estimate.price == pytest.approx(59_701.49, abs=0.01)
    assert estimate.describe() == "BTC/USDT:USDT -1: liquidation at 59,701.49 (+19.4% from 50,000.00)"


def test_a_long_collateralised_beyond_its_value_has_no_liquidation_price() -> None:
    snapshot = AccountSnapshot(0, "USDT", 60_000.0, 60_000.0, 0.0, 250.0, (Position(BTC, 1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: 50_000.0}, LINEAR)
    assert estimate.move is None


def test_an_account_already_at_maintenance_margin_liquidates_on_no_move() -> None:
    snapshot = AccountSnapshot(0, "USDT", 200.0, 200.0, 0.0, 250.0, (Position(BTC, -1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: 50_000.0}, LINEAR)
    assert estimate.move == 0.0


def test_a_position_without_a_mark_gets_no_estimate() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 250.0, (Position(BTC, -1.0), Position(ETH, -5)))
    assert [e.symbol for e in liquidation_moves(snapshot, {BTC: 50_000.0}, LINEAR)] == [BTC]


_qty = st.floats(-20, -0.01) | st.floats(0.01, 20)


@given(
    btc=_qty,
    eth=_qty,
    equity=st.floats(100, 200_000),
    rate=st.floats(0.001, 0.1),
)
def test_at_the_estimated_price_a_linear_account_equity_meets_its_maintenance_margin(
    btc: float, eth: float, equity: float, rate: float
) -> None:
    marks = {BTC: 50_000.0, ETH: 2_500.0}
    notionals = {BTC: btc * 50_000.0, ETH: eth * 2_500.0}
    maintenance = rate * sum(abs(n) for n in notionals.values())
    positions = (Position(BTC, btc), Position(ETH, eth))
    snapshot = AccountSnapshot(0, "USDT", equity, equity, 0.0, maintenance, positions)
    for estimate in liquidation_moves(snapshot, marks, LINEAR):
        if estimate.move is None or estimate.move == 0:
            continue
        notional = notionals[estimate.symbol]
        equity_there = equity + notional * estimate.move
        margin_there = maintenance + rate * abs(notional) * estimate.move
        assert equity_there == pytest.approx(margin_there, rel=1e-6, abs=1e-6)
        assert estimate.move * notional < 0  # the adverse direction: up for a short, down for a long


@given(qty=_qty.map(lambda q: round(q * 100)), equity=st.floats(0.01, 10), rate=st.floats(0.001, 0.1))
def test_at_the_estimated_price_an_inverse_account_equity_meets_its_maintenance_margin(
    qty: float, equity: float, rate: float
) -> None:
    face, mark = qty * 100.0, 40_000.0
    maintenance = rate * abs(face) / mark
    snapshot = AccountSnapshot(0, "BTC", equity, equity, 0.0, maintenance, (Position(BTC_USD, qty),))
    (estimate,) = liquidation_moves(snapshot, {BTC_USD: mark}, INVERSE)
    if maintenance >= equity:
        assert estimate.move == 0.0
        return
    if qty > 0:
        assert estimate.price is not None  # a coin-margined long always has a liquidation price
    if estimate.price is None:
        return
    equity_there = equity + face * (1 / mark - 1 / estimate.price)
    margin_there = rate * abs(face) / estimate.price
    assert equity_there == pytest.approx(margin_there, rel=1e-6, abs=1e-12)
