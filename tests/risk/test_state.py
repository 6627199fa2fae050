"""The effective trading state is the most restrictive hold in force; every change carries its reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.risk.state import Governor, TradingState


def test_with_no_hold_trading_is_active() -> None:
    assert Governor().state is TradingState.ACTIVE


def test_a_hold_changes_the_state_and_says_why() -> None:
    governor = Governor()
    change = governor.hold("staleness", TradingState.REDUCING, "BTC price 400 s old", ts=5)
    assert change is not None
    assert (change.old, change.new) == (TradingState.ACTIVE, TradingState.REDUCING)
    assert "BTC price 400 s old" in change.reason


def test_lifting_one_hold_does_not_override_a_stricter_one() -> None:
    governor = Governor()
    governor.hold("operator", TradingState.HALTED, "kill", ts=1)
    governor.hold("staleness", TradingState.REDUCING, "stale", ts=2)
    assert governor.release("staleness", ts=3) is None
    assert governor.state is TradingState.HALTED


def test_halted_lets_nothing_through_and_reducing_only_reducing_orders() -> None:
    assert not TradingState.HALTED.allows(reduces=True)
    assert TradingState.REDUCING.allows(reduces=True)
    assert not TradingState.REDUCING.allows(reduces=False)
    assert TradingState.ACTIVE.allows(reduces=False)


def test_a_roll_pair_moves_its_exposure_to_the_next_contract_while_reducing_but_not_while_halted() -> None:
    assert TradingState.REDUCING.allows(reduces=False, roll_pair=True)
    assert not TradingState.HALTED.allows(reduces=False, roll_pair=True)
    assert not TradingState.HALTED.allows(reduces=True, roll_pair=True)


_sources = st.sampled_from(["operator", "staleness", "max_loss", "collateral", "reconcile"])
_steps = st.lists(st.tuples(_sources, st.sampled_from(list(TradingState)), st.booleans()), max_size=30)


@given(_steps)
def test_the_state_always_equals_the_strictest_hold_in_force(steps: list[tuple[str, TradingState, bool]]) -> None:
    governor = Governor()
    expected: dict[str, TradingState] = {}
    for ts, (source, state, lift) in enumerate(steps):
        if lift:
            governor.release(source, ts)
            expected.pop(source, None)
        else:
            governor.hold(source, state, "why", ts)
            expected[source] = state
        assert governor.state == max(expected.values(), default=TradingState.ACTIVE)


@pytest.mark.parametrize("state", list(TradingState))
def test_no_trading_state_forbids_a_protective_cut_and_only_active_allows_adding(state: TradingState) -> None:
    assert state.allows(reduces=True, protective=True)
    assert not state.allows(reduces=False, protective=True) or state is TradingState.ACTIVE
