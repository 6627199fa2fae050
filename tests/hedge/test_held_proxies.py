"""The legs that carry the hedge net out what a held stale proxy still covers, and only ever shrink for it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Symbol
from bot.hedge.held_proxies import frozen_covariances, net_of_held
from bot.hedge.policies import CovarianceView, PolicyResult

A, B, H = (Symbol(f"{base}/USDT:USDT") for base in ("A", "B", "H"))
BASKET = Symbol("X/USDT")


def _view(returns: dict[Symbol, np.ndarray]) -> CovarianceView:
    names = list(returns)
    cov = np.cov(np.column_stack([returns[s] for s in names]), rowvar=False)
    return CovarianceView({s: i for i, s in enumerate(names)}, cov, len(returns[names[0]]))


def _market(seed: int = 3, n: int = 500) -> dict[Symbol, np.ndarray]:
    rng = np.random.default_rng(seed)
    market, other = rng.normal(0, 0.01, n), rng.normal(0, 0.01, n)
    held = market + rng.normal(0, 0.003, n)
    return {BASKET: held + rng.normal(0, 0.001, n), A: market, B: other, H: held}


def test_a_held_proxy_that_moves_with_a_remaining_leg_takes_that_legs_hedge_off() -> None:
    view = _view(_market())
    result = PolicyResult({A: -10_000.0, B: 0.0, H: 0.0})
    netted = net_of_held(result, {H: -10_000.0}, {H: frozen_covariances(view, H)}, view, {BASKET: 1.0})
    assert netted.notionals[A] > -1_500.0  # the held short already covers what A would hedge
    assert netted.numbers["held_proxy_notional"] == -10_000.0


def test_a_held_proxy_unrelated_to_the_remaining_legs_changes_nothing() -> None:
    market = _market()
    view = _view(market)
    result = PolicyResult({B: -5_000.0})
    frozen = {H: {**frozen_covariances(view, H), B: 0.0}}
    assert net_of_held(result, {H: -10_000.0}, frozen, view, {BASKET: 1.0}).notionals[B] == -5_000.0


def test_without_frozen_covariances_the_held_position_is_taken_to_move_like_the_basket() -> None:
    view = _view(_market())
    result = PolicyResult({A: -10_000.0})
    netted = net_of_held(result, {H: -5_000.0}, {}, view, {BASKET: 1.0})
    assert -10_000.0 < netted.notionals[A] < -2_000.0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 1_000),
    wanted=st.lists(st.floats(-50_000, 50_000, allow_nan=False), min_size=2, max_size=2),
    held=st.floats(-50_000, 50_000, allow_nan=False),
)
def test_a_held_position_never_grows_or_flips_a_remaining_leg(seed: int, wanted: list[float], held: float) -> None:
    view = _view(_market(seed, 60))
    result = PolicyResult({A: wanted[0], B: wanted[1]})
    netted = net_of_held(result, {H: held}, {H: frozen_covariances(view, H)}, view, {BASKET: 1.0})
    for symbol, before in result.notionals.items():
        after = netted.notionals[symbol]
        assert abs(after) <= abs(before)
        assert after * before >= 0
