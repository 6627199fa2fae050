"""The collateral buffer: the distance to liquidation by the venue's brackets, and the steps it escalates."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, parse_config
from bot.domain import AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk.brackets import table_for
from bot.risk.buffer import account_buffer, cut_fraction, legs_of
from bot.risk.collateral import SOURCE, BufferSteps, CollateralMonitor, Step, liquidation_moves
from bot.risk.inverse import coinm_table
from bot.risk.state import Governor, TradingState

STEPS = BufferSteps(warn=0.40, top_up=0.30, reduce=0.20, floor=0.10, hysteresis=0.05)
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
MARK = 50_000.0


def _maintenance(symbol: Symbol, notional: float) -> float:
    return table_for(symbol.split("/")[0]).maintenance(notional)


def _short(equity: float, btc: float = 1.0) -> AccountSnapshot:
    """A short of `btc` BTC at 50,000 on `equity` of collateral."""
    return AccountSnapshot(0, "USDT", equity, equity, 0.0, 0.0, (Position(BTC, -btc, MARK),))


def _update(monitor: CollateralMonitor, snapshot: AccountSnapshot, ts: int = 0) -> Step:
    return monitor.update(ts, snapshot, {BTC: MARK}, LINEAR).step


def test_a_short_is_liquidated_by_the_rally_where_its_loss_meets_its_bracket_maintenance_margin() -> None:
    legs = legs_of(_short(20_000.0).positions, {BTC: MARK}, LINEAR)
    buffer = account_buffer(20_000.0, legs)
    assert buffer is not None
    # 50,000 notional: bracket 1 (0.4 %) up to 50,000, then bracket 2 (0.5 %, maintenance amount 50)
    loss, margin = 50_000.0 * buffer, 50_000.0 * (1 + buffer) * 0.005 - 50.0
    assert 20_000.0 - loss == pytest.approx(margin, abs=1e-6)
    assert buffer == pytest.approx(19_800.0 / 50_250.0, rel=1e-9)


def test_a_larger_position_pays_a_higher_bracket_rate_so_its_buffer_is_smaller_than_a_flat_rate_gives() -> None:
    big = legs_of(_short(2_000_000.0, btc=100.0).positions, {BTC: MARK}, LINEAR)  # 5 M notional: 2.5 % bracket
    buffer = account_buffer(2_000_000.0, big)
    assert buffer is not None
    flat = (2_000_000.0 - 5_000_000.0 * 0.004) / (5_000_000.0 * 1.004)  # the first bracket's rate throughout
    assert buffer < flat - 0.01


@pytest.mark.parametrize(
    ("equity", "step"),
    [
        (25_000.0, Step.OK),
        (19_000.0, Step.WARN),
        (14_000.0, Step.TOP_UP),
        (9_000.0, Step.REDUCE),
        (4_000.0, Step.FLOOR),
    ],
)
def test_each_step_applies_as_the_distance_to_liquidation_falls_below_its_move(equity: float, step: Step) -> None:
    assert _update(CollateralMonitor(STEPS), _short(equity)) is step  # buffer ≈ equity / 50,000 here


def test_a_sudden_fall_escalates_straight_to_the_floor_and_still_asks_for_the_cut() -> None:
    monitor = CollateralMonitor(STEPS)
    assert _update(monitor, _short(25_000.0)) is Step.OK
    escalation = monitor.update(1, _short(3_000.0), {BTC: MARK}, LINEAR)
    assert escalation.step is Step.FLOOR
    assert escalation.hold_state is TradingState.HALTED
    assert escalation.reduce_fraction > 0.8


def test_a_step_is_left_only_once_the_buffer_clears_its_move_plus_the_hysteresis() -> None:
    assert [STEPS.next_step(Step.TOP_UP, buffer) for buffer in (0.31, 0.349, 0.36, 0.44, 0.46)] == [
        Step.TOP_UP,  # above 30 %, not above 35 %
        Step.TOP_UP,
        Step.WARN,
        Step.WARN,  # above 40 %, not above 45 %
        Step.OK,
    ]


def test_an_account_without_positions_is_ok() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 0.0)
    escalation = CollateralMonitor(STEPS).update(0, snapshot, {}, LINEAR)
    assert escalation.step is Step.OK
    assert math.isinf(escalation.buffer)


def test_an_unreadable_equity_is_the_floor_without_a_cut_it_cannot_size() -> None:
    snapshot = AccountSnapshot(0, "USDT", math.nan, math.nan, 0.0, 100.0, (Position(BTC, -1.0, MARK),))
    escalation = CollateralMonitor(STEPS).update(0, snapshot, {BTC: MARK}, LINEAR)
    assert escalation.step is Step.FLOOR
    assert escalation.reduce_fraction == 0.0


@pytest.mark.parametrize(
    ("equity", "held"),
    [
        (19_000.0, None),
        (14_000.0, TradingState.REDUCING),
        (9_000.0, TradingState.REDUCING),
        (4_000.0, TradingState.HALTED),
    ],
)
def test_warn_holds_nothing_top_up_and_reduce_hold_reducing_and_the_floor_halts_adding(
    equity: float, held: TradingState | None
) -> None:
    escalation = CollateralMonitor(STEPS).update(0, _short(equity), {BTC: MARK}, LINEAR)
    assert escalation.hold_state == held
    governor = Governor()
    if held is not None:
        governor.hold(SOURCE, held, escalation.reason, 0)
    assert governor.state == (held or TradingState.ACTIVE)


def test_an_escalation_says_the_distance_the_step_and_the_margin_ratio() -> None:
    escalation = CollateralMonitor(STEPS).update(0, _short(9_000.0), {BTC: MARK}, LINEAR)
    assert escalation.reason.startswith("liquidation 17.5% away, below reduce 20% (equity 9,000.00, maintenance")
    assert "margin ratio 45.00" in escalation.reason
    assert escalation.reason.endswith(f"reduce, cut the hedge by {escalation.reduce_fraction:.0%}")


def test_cutting_the_hedge_by_the_reduce_fraction_restores_the_top_up_step_plus_hysteresis() -> None:
    monitor = CollateralMonitor(STEPS)
    escalation = monitor.update(0, _short(9_000.0), {BTC: MARK}, LINEAR)
    kept = 1.0 * (1 - escalation.reduce_fraction)
    after = monitor.update(1, _short(9_000.0, btc=kept), {BTC: MARK}, LINEAR)
    assert after.buffer >= 0.35
    assert after.step is Step.WARN


def test_with_no_equity_left_the_whole_hedge_is_to_be_cut() -> None:
    legs = legs_of(_short(1.0).positions, {BTC: MARK}, LINEAR)
    assert cut_fraction(-5.0, legs, 0.35) == 1.0


def test_collateral_steps_out_of_order_are_refused_in_the_model_and_in_the_config() -> None:
    with pytest.raises(ValueError, match="warn ≥ top_up"):
        BufferSteps(warn=0.2, top_up=0.3, reduce=0.1, floor=0.05)
    with pytest.raises(ConfigError, match=r"warn = 0\.2, top_up = 0\.3"):
        parse_config({"risk": {"collateral": {"warn": 0.2}}})


def test_a_short_liquidates_on_the_rise_that_eats_its_buffer() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 200.0, (Position(BTC, -1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: MARK}, LINEAR)
    # past 50,000 of notional, bracket 2: 0.5 % less a maintenance amount of 50
    assert estimate.move == pytest.approx((10_000.0 + 50.0 - 250.0) / (50_000.0 * 1.005), rel=1e-9)
    assert estimate.describe() == "BTC/USDT:USDT -1: liquidation at 59,751.24 (+19.5% from 50,000.00)"


def test_a_long_collateralised_beyond_its_value_has_no_liquidation_price() -> None:
    snapshot = AccountSnapshot(0, "USDT", 60_000.0, 60_000.0, 0.0, 250.0, (Position(BTC, 1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: MARK}, LINEAR)
    assert estimate.move is None


def test_an_account_already_at_maintenance_margin_liquidates_on_no_move() -> None:
    snapshot = AccountSnapshot(0, "USDT", 150.0, 150.0, 0.0, 250.0, (Position(BTC, -1.0),))
    (estimate,) = liquidation_moves(snapshot, {BTC: MARK}, LINEAR)
    assert estimate.move == 0.0


def test_a_position_without_a_mark_gets_no_estimate() -> None:
    snapshot = AccountSnapshot(0, "USDT", 10_000.0, 10_000.0, 0.0, 250.0, (Position(BTC, -1.0), Position(ETH, -5)))
    assert [e.symbol for e in liquidation_moves(snapshot, {BTC: MARK}, LINEAR)] == [BTC]


_qty = st.floats(-20, -0.01) | st.floats(0.01, 20)


@given(btc=_qty, eth=_qty, equity=st.floats(100, 200_000))
def test_at_the_estimated_price_a_linear_account_equity_meets_its_bracket_maintenance_margin(
    btc: float, eth: float, equity: float
) -> None:
    marks = {BTC: 50_000.0, ETH: 2_500.0}
    positions = (Position(BTC, btc), Position(ETH, eth))
    snapshot = AccountSnapshot(0, "USDT", equity, equity, 0.0, 0.0, positions)
    for estimate in liquidation_moves(snapshot, marks, LINEAR):
        if estimate.move is None or estimate.move == 0:
            continue
        moved = {**marks, estimate.symbol: marks[estimate.symbol] * (1 + estimate.move)}
        pnl = LINEAR[estimate.symbol].notional(estimate.qty, marks[estimate.symbol]) * estimate.move
        margin_there = sum(_maintenance(p.symbol, p.qty * moved[p.symbol]) for p in positions)
        assert equity + pnl == pytest.approx(margin_there, rel=1e-6, abs=1e-6)
        assert estimate.move * estimate.qty < 0  # the adverse direction: up for a short, down for a long


@given(qty=_qty.map(lambda q: round(q * 100)), equity=st.floats(0.01, 10))
def test_at_the_estimated_price_an_inverse_account_equity_meets_its_coin_m_bracket_maintenance(
    qty: float, equity: float
) -> None:
    face, mark = qty * 100.0, 40_000.0
    table = coinm_table("BTC")
    maintenance = table.maintenance(abs(face) / mark)
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
    margin_there = table.maintenance(abs(face) / estimate.price)  # the bracket at the moved price, in BTC
    assert equity_there == pytest.approx(margin_there, rel=1e-6, abs=1e-9)
