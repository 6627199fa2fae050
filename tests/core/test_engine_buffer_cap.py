"""A decision adds no more hedge than the collateral buffer allows, and says so: the cap keeps the buffer where a
cut would restore it, so a cut is not followed by the hedge added straight back (issue 15)."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine
from bot.domain import AccountSnapshot, Position
from bot.risk import buffer as buffers
from tests.core.test_engine_governance import BTC, INSTRUMENTS, _market, _reconciled


def _engine(reserve: float = 0.0, **collateral: float) -> Engine:
    risk = {"max_price_age": "2h", "max_account_age": "2h", "collateral": collateral}
    if reserve:
        risk["reserve"] = {"amount": reserve, "max_transfer": reserve, "max_daily": reserve}
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},  # 30,000 of ETH: a full hedge is 0.5 BTC short at 60,000
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": risk,
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    _market(engine, 0)
    return engine


def _flat(equity: float, short_btc: float = 0.0) -> AccountSnapshot:
    positions = (Position(BTC, -short_btc, entry_price=60_000.0),) if short_btc else ()
    return AccountSnapshot(1, "USDT", equity, equity, 0.0, 0.0, positions)


def _decision(engine: Engine) -> DecisionMade:
    return next(a for a in engine.on_time(1) if isinstance(a, DecisionMade))


def test_a_decision_on_a_thin_account_is_capped_where_a_cut_would_restore_the_buffer_and_says_so() -> None:
    engine = _engine()
    _reconciled(engine, _flat(8_000.0))  # 0.5 BTC short on 8,000 would be liquidated by a 26 % rally
    decision = _decision(engine).decision
    [target] = decision.targets
    assert -0.5 < target.qty < 0
    assert 0 < decision.numbers["buffer_cap"] < 1
    assert "capped at" in decision.reason
    assert "collateral buffer" in decision.reason
    legs = buffers.legs_of((Position(BTC, target.qty),), {BTC: 60_000.0}, INSTRUMENTS)
    kept = buffers.account_buffer(8_000.0, legs)
    assert kept is not None
    assert kept >= engine.governance.buffer_steps.cut_target


def test_a_decision_on_a_well_collateralised_account_is_not_capped() -> None:
    engine = _engine()
    _reconciled(engine, _flat(50_000.0))
    decision = _decision(engine).decision
    assert decision.targets[0].qty == -0.5
    assert "buffer_cap" not in decision.numbers


def test_a_leg_already_held_beyond_the_cap_is_neither_added_to_nor_cut_by_a_decision() -> None:
    engine = _engine()
    _reconciled(engine, _flat(7_800.0, short_btc=0.4))  # a 32 % rally liquidates 0.4 short: warn, not cut
    actions = engine.on_time(1)
    assert not any(isinstance(a, DecisionMade) for a in actions)  # 0.5 wanted, the cap holds it where it is
    assert engine.decider.targets[BTC].qty == -0.4


def test_with_the_ladder_switched_off_nothing_is_capped() -> None:
    engine = _engine(warn=0.0, top_up=0.0, reduce=0.0, floor=0.0)
    _reconciled(engine, _flat(8_000.0))
    assert _decision(engine).decision.targets[0].qty == -0.5


def test_a_reserve_that_top_ups_could_bring_in_today_counts_toward_the_hedge_a_decision_may_add() -> None:
    engine = _engine(reserve=5_000.0)
    _reconciled(engine, _flat(8_000.0))  # alone, 8,000 holds 0.371 BTC short; with 5,000 more, the full 0.5
    decision = _decision(engine).decision
    assert decision.targets[0].qty == -0.5
    assert "buffer_cap" not in decision.numbers
    small = _engine(reserve=1_000.0)
    _reconciled(small, _flat(8_000.0))
    assert -0.5 < _decision(small).decision.targets[0].qty < -0.38  # capped, but beyond what 8,000 alone holds
