"""The carry rule's hysteresis: no switch while the edge is within the threshold, none within the minimum hold of
the last one, and the rolls' fees and slippage taken off the basis before it is compared."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.carry import annualised_funding
from bot.hedge.carry_overlay import CarryRule, CarrySelector

EIGHT_HOURS = 8 * MS_PER_HOUR


def _rule(threshold: float = 0.02, min_hold_ms: int = 0, lookback_ms: int = 3 * MS_PER_DAY) -> CarryRule:
    return CarryRule(0.05, 0.0004, threshold, lookback_ms, slippage_rate=0.0002, min_hold_ms=min_hold_ms)


@settings(max_examples=200, deadline=None)
@given(
    rates=st.lists(st.floats(-0.002, 0.002, allow_nan=False), min_size=1, max_size=40),
    threshold=st.floats(0.001, 0.5),
    dated=st.booleans(),
)
def test_the_choice_never_switches_while_the_edge_is_within_the_threshold(
    rates: list[float], threshold: float, dated: bool
) -> None:
    rule = _rule(threshold)
    selector = CarrySelector(rule, dated)
    trailing: list[float] = []
    for i, rate in enumerate(rates):
        selector.on_funding(i * EIGHT_HOURS, rate, 8.0)
        trailing = [*trailing, annualised_funding(rate, 8.0)][-9:]  # the 3-day lookback: nine settlements
        funding = sum(trailing) / len(trailing)
        basis = funding + rule.roll_cost_annual + (threshold * 0.9 if i % 2 else -threshold * 0.9)
        decision = selector.decide(i * EIGHT_HOURS + 1, basis)  # the edge: just inside the threshold, either way
        assert decision is not None
        assert not decision.switched
        assert decision.use_dated == dated


@settings(max_examples=100, deadline=None)
@given(hours=st.integers(1, 7 * 24 - 1))
def test_no_switch_within_the_minimum_hold_of_the_last_one(hours: int) -> None:
    selector = CarrySelector(_rule(min_hold_ms=7 * MS_PER_DAY, lookback_ms=30 * MS_PER_DAY))
    selector.on_funding(0, -0.001, 8.0)  # a short pays 110 %/y: the dated contract at once
    first = selector.decide(1, 0.05)
    assert first is not None
    assert first.switched
    assert first.use_dated
    selector.on_funding(2, 0.003, 8.0)  # then funding turns rich: the perpetual is far better ...
    later = selector.decide(1 + hours * MS_PER_HOUR, 0.05)
    assert later is not None
    assert not later.switched
    assert later.use_dated
    after = selector.decide(1 + 7 * MS_PER_DAY, 0.05)
    assert after is not None
    assert after.switched
    assert not after.use_dated


def test_the_dated_yield_is_the_basis_less_four_rolls_of_two_trades_fees_and_slippage() -> None:
    rule = _rule()
    assert rule.roll_cost_annual == 2 * (0.0004 + 0.0002) * 4
    selector = CarrySelector(rule)
    selector.on_funding(0, 0.0, 8.0)
    decision = selector.decide(1, 0.10)
    assert decision is not None
    assert decision.dated_yield == 0.10 - rule.roll_cost_annual
    assert decision.numbers()["switch_cost"] == 2 * (0.0004 + 0.0002)


def test_a_restored_choice_counts_its_hold_from_when_it_was_made() -> None:
    selector = CarrySelector(_rule(min_hold_ms=7 * MS_PER_DAY))
    selector.restore(True, since_ms=0)
    selector.on_funding(MS_PER_DAY, 0.003, 8.0)
    held = selector.decide(2 * MS_PER_DAY, 0.0)
    assert held is not None
    assert held.use_dated
    assert not held.switched
