"""The hedge policies reproduce the seed figures of DESIGN.md and the issues."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Instrument, InstrumentKind, Rounding, Symbol
from bot.hedge.policies import (
    CovarianceView,
    PolicyResult,
    beta_policy,
    cap_to_exposure,
    fixed_policy,
    min_variance_policy,
)
from bot.hedge.sizing import size_target

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
ALT = Symbol("SOL/USDT")


def _btc(lot: float = 0.01) -> Instrument:
    return Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=lot)


def test_fixed_hedges_forty_percent_of_fifty_thousand_as_twenty_thousand_short() -> None:
    result = fixed_policy(50_000.0, BTC, 0.40)
    assert result.notionals == {BTC: pytest.approx(-20_000.0)}


def test_beta_of_one_point_eight_on_fifty_thousand_at_sixty_five_thousand_is_one_point_three_eight_contracts() -> None:
    # Var(BTC) = 1, Cov(SOL, BTC) = 1.8 → β = 1.8
    view = CovarianceView({ALT: 0, BTC: 1}, np.array([[4.0, 1.8], [1.8, 1.0]]), samples=100)
    result = beta_policy(50_000.0, BTC, 1.0, view, {ALT: 1.0})
    assert result.numbers["beta"] == pytest.approx(1.8)
    target = size_target(_btc(), result.notionals[BTC], 65_000.0, Rounding.DOWN)
    assert target.qty == pytest.approx(-1.38)
    assert target.residual == pytest.approx(-90_000 / 65_000 + 1.38)


def test_lot_rounding_nearest_and_up_are_policies_with_the_residual_reported() -> None:
    assert size_target(_btc(0.1), -90_000.0, 65_000.0, Rounding.NEAREST).qty == pytest.approx(-1.4)
    assert size_target(_btc(0.1), -90_000.0, 65_000.0, Rounding.UP).qty == pytest.approx(-1.4)
    down = size_target(_btc(0.1), -90_000.0, 65_000.0, Rounding.DOWN)
    assert down.qty == pytest.approx(-1.3)
    assert down.residual == pytest.approx(-90_000 / 65_000 + 1.3)


def test_min_variance_recovers_the_weights_of_a_portfolio_built_from_two_instruments() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5_000, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    portfolio = 0.7 * x[:, 0] + 0.5 * x[:, 1]
    cov = np.cov(np.column_stack([portfolio, x]).T)
    view = CovarianceView({ALT: 0, BTC: 1, ETH: 2}, cov, samples=5_000)
    result = min_variance_policy(10_000.0, [BTC, ETH], 1.0, view, {ALT: 1.0})
    assert result.notionals[BTC] == pytest.approx(-7_000.0, rel=1e-6)
    assert result.notionals[ETH] == pytest.approx(-5_000.0, rel=1e-6)
    assert result.numbers["r2"] == pytest.approx(1.0)


def test_ridge_shrinks_the_weights_of_collinear_instruments_towards_each_other() -> None:
    cov = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.999], [0.9, 0.999, 1.0]])
    view = CovarianceView({ALT: 0, BTC: 1, ETH: 2}, cov, samples=1_000)
    plain = min_variance_policy(1.0, [BTC, ETH], 1.0, view, {ALT: 1.0})
    ridged = min_variance_policy(1.0, [BTC, ETH], 1.0, view, {ALT: 1.0}, ridge=0.1)
    assert np.isfinite(list(plain.notionals.values())).all()
    assert abs(ridged.notionals[BTC] - ridged.notionals[ETH]) <= abs(plain.notionals[BTC] - plain.notionals[ETH])


def test_the_cap_scales_a_short_above_the_exposure_down_to_it_unless_overhedging_is_allowed() -> None:
    result = fixed_policy(10_000.0, BTC, 1.5)
    assert cap_to_exposure(result, 10_000.0, allow_overhedge=False).notionals[BTC] == pytest.approx(-10_000.0)
    assert cap_to_exposure(result, 10_000.0, allow_overhedge=True).notionals[BTC] == pytest.approx(-15_000.0)


def test_a_long_leg_that_makes_the_hedge_net_long_is_dropped_and_the_short_kept() -> None:
    # the bad print: min_variance on a wrecked covariance wanted +286 M of ETH against a 30 k basket
    result = PolicyResult({BTC: -5_000.0, ETH: 286_000_000.0})
    capped = cap_to_exposure(result, 30_000.0, allow_overhedge=False)
    assert capped.notionals == {BTC: pytest.approx(-5_000.0), ETH: 0.0}
    assert capped.numbers["long_legs_dropped"] == 1.0


def test_a_long_leg_inside_a_net_short_hedge_counts_towards_the_size_cap() -> None:
    capped = cap_to_exposure(PolicyResult({BTC: -12_000.0, ETH: 4_000.0}), 10_000.0, allow_overhedge=False)
    assert capped.notionals == {BTC: pytest.approx(-7_500.0), ETH: pytest.approx(2_500.0)}
    assert capped.numbers["overhedge_cap_scale"] == pytest.approx(0.625)


def test_allowing_overhedge_lifts_the_size_cap_but_never_lets_the_hedge_go_net_long() -> None:
    capped = cap_to_exposure(PolicyResult({BTC: -5_000.0, ETH: 20_000.0}), 10_000.0, allow_overhedge=True)
    assert capped.notionals == {BTC: pytest.approx(-5_000.0), ETH: 0.0}


_finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@given(
    factors=st.lists(st.lists(_finite, min_size=3, max_size=3), min_size=3, max_size=6),
    noise=st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=3, max_size=3),
    value=st.floats(min_value=1.0, max_value=1e9),
    ratio=st.floats(min_value=0.0, max_value=3.0),
    ridge=st.sampled_from([0.0, 0.1]),
)
def test_for_any_covariance_the_capped_target_of_a_long_spot_book_is_net_short_by_at_most_the_exposure(
    factors: list[list[float]], noise: list[float], value: float, ratio: float, ridge: float
) -> None:
    loadings = np.array(factors).T  # 3 series (the book, BTC, ETH) × k factors: any positive semi-definite Σ
    cov = loadings @ loadings.T + np.diag(noise)
    view = CovarianceView({ALT: 0, BTC: 1, ETH: 2}, cov, samples=100)
    raw = min_variance_policy(value, [BTC, ETH], ratio, view, {ALT: 1.0}, ridge)
    capped = cap_to_exposure(raw, value, allow_overhedge=False)
    notionals = list(capped.notionals.values())
    slack = 1e-9 * value
    assert -value - slack <= sum(notionals) <= slack
    assert sum(abs(n) for n in notionals) <= value + slack
