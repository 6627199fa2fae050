"""A candidate perpetual that has never had a price (listed later than the others, or its feed never came) does not
hold up the others: with proxy selection on, the estimates and the decisions go on without it, nothing is traded
on it, and once it prints it is a candidate like the others."""

from __future__ import annotations

from bot.core.engine import PlaceOrder
from bot.risk.state import TradingState
from tests.core.test_engine_stale_proxy import BTC, HOURS, SOL, _decisions, _engine, _hour, _paths

LISTED = 100  # SOL's first price comes at this hour; the window fills (min_samples 12) long before


def test_a_candidate_never_priced_does_not_hold_up_the_decisions_on_the_others() -> None:
    engine, paths = _engine(proxy_select=True), _paths()
    decided: list[int] = []
    sol_orders = 0
    for hour in range(LISTED):
        actions = _hour(engine, paths, hour, silent=[SOL])
        decided += [hour for _ in _decisions(actions)]
        sol_orders += sum(1 for a in actions if isinstance(a, PlaceOrder) and a.request.symbol == SOL)
        assert engine.governor.state is TradingState.ACTIVE
    assert decided, "no decision before the never-priced candidate's first price"
    assert decided[0] < 24  # as soon as the window has its min_samples, not at SOL's listing
    assert engine.estimator.sampler.samples > 80  # the sampler did not wait for SOL
    assert sol_orders == 0
    last = engine.last_decision
    assert last is not None
    assert {t.symbol: t.qty for t in last.targets}.get(BTC, 0.0) < 0  # the others carry the hedge
    assert all(t.qty == 0 for t in last.targets if t.symbol == SOL)


def test_a_candidate_listed_later_becomes_a_candidate_once_it_prints() -> None:
    engine, paths = _engine(proxy_select=True), _paths()
    for hour in range(HOURS):
        _hour(engine, paths, hour, silent=[SOL] if hour < LISTED else [])
    assert engine.decider.proxy_choice.stale == {}
    assert engine.governor.state is TradingState.ACTIVE
