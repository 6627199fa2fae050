"""The carry rule moves a short leg to the dated contract when funding turns against it, and back, past a threshold,
from what was known before each period; what it saved counts the switches' fees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.carry_overlay import CarryRule, CarrySelector, Settlement, replay_carry, settlements_from_journal

RULE = CarryRule(basis_annual=0.05, fee_rate=0.0004, threshold=0.02, lookback_ms=7 * MS_PER_DAY)
EIGHT_HOURS = 8 * MS_PER_HOUR


def _settlements(rates: list[float], notional: float = 100_000.0) -> list[Settlement]:
    return [Settlement(i * EIGHT_HOURS, rate, 8.0, notional) for i, rate in enumerate(rates)]


def test_a_leg_earning_rich_funding_stays_on_the_perpetual_and_saves_nothing() -> None:
    overlay = replay_carry(_settlements([0.0003] * 90), RULE)  # about 33 % a year to a short
    assert overlay.switches == ()
    assert overlay.saved == 0.0
    assert overlay.perpetual_only == pytest.approx(90 * 0.0003 * 100_000)


def test_negative_funding_moves_the_leg_to_the_dated_contract_and_saves_carry() -> None:
    overlay = replay_carry(_settlements([-0.0002] * 90), RULE)  # a short pays about 22 % a year
    assert [s.to_dated for s in overlay.switches] == [True]
    assert overlay.switches[0].ts == EIGHT_HOURS  # decided after the first settlement, never on its own rate
    assert overlay.dated_settlements == 89
    assert overlay.saved > 0
    assert "dated" in overlay.switches[0].reason


def test_funding_within_the_threshold_of_the_dated_yield_does_not_switch() -> None:
    near = RULE.dated_yield - 0.01  # the dated contract is better, but by less than the 2 % threshold
    rate = near / (3 * 365)
    assert replay_carry(_settlements([rate] * 90), RULE).switches == ()


def test_the_leg_returns_to_the_perpetual_when_funding_recovers_and_pays_for_both_switches() -> None:
    rates = [-0.0002] * 30 + [0.0005] * 60
    overlay = replay_carry(_settlements(rates), RULE)
    assert [s.to_dated for s in overlay.switches] == [True, False]
    back = overlay.switches[1].ts // EIGHT_HOURS  # dated from settlement 1 up to this one
    assert overlay.dated_settlements == back - 1
    fees = 2 * (2 * RULE.fee_rate * 100_000)
    dated = (back - 1) * 100_000 * RULE.dated_yield * 8 / (365 * 24)
    perpetual = sum(rate * 100_000 for rate in [rates[0], *rates[back:]])
    assert overlay.chosen == pytest.approx(perpetual + dated - fees)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-0.003, 0.003), min_size=1, max_size=60))
def test_with_an_unreachable_threshold_the_choice_is_the_perpetual_only_leg(rates: list[float]) -> None:
    rule = CarryRule(0.05, 0.0004, threshold=10.0, lookback_ms=3 * MS_PER_DAY)
    overlay = replay_carry(_settlements(rates), rule)
    assert overlay.switches == ()
    assert overlay.chosen == overlay.perpetual_only


def test_journal_rows_become_short_settlements_and_a_long_or_flat_leg_is_left_out() -> None:
    rows = [(0, 0.0001, -2.0, 100.0), (EIGHT_HOURS, 0.0001, 0.0, 100.0), (3 * EIGHT_HOURS, 0.0002, -1.0, 110.0)]
    settlements = settlements_from_journal(rows)
    assert settlements == [Settlement(0, 0.0001, 8.0, 200.0), Settlement(3 * EIGHT_HOURS, 0.0002, 8.0, 110.0)]


def test_the_selector_decides_nothing_before_a_funding_settlement_is_in_its_lookback() -> None:
    selector = CarrySelector(RULE)
    assert selector.decide(0) is None
    selector.on_funding(0, 0.0003, 8.0)
    assert selector.decide(8 * MS_PER_DAY) is None  # the only settlement is older than the 7-day lookback


def test_the_selector_flags_a_switch_once_and_gives_the_numbers_behind_it() -> None:
    selector = CarrySelector(RULE)
    for i in range(6):
        selector.on_funding(i * EIGHT_HOURS, -0.0002, 8.0)  # a short pays about 22 % a year
    first = selector.decide(6 * EIGHT_HOURS)
    second = selector.decide(6 * EIGHT_HOURS + 1)
    assert first is not None
    assert second is not None
    assert (first.use_dated, first.switched) == (True, True)
    assert (second.use_dated, second.switched) == (True, False)
    assert first.numbers()["funding_yield"] == pytest.approx(-0.0002 * 3 * 365)
    assert first.dated_yield == pytest.approx(0.05 - 2 * 0.0004 * 4)


def test_a_dated_contract_priced_at_a_discount_keeps_the_leg_on_the_perpetual() -> None:
    selector = CarrySelector(RULE)
    selector.on_funding(0, 0.0, 8.0)  # no funding either way
    decision = selector.decide(1, basis_annual=-0.10)  # the real dated price, below spot: a short loses on it
    assert decision is not None
    assert not decision.use_dated
    assert decision.basis_yield == -0.10
