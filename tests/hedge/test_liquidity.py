"""Liquidity tiers: a candidate trading too little is never chosen, a thin one carries a capped share of the hedge,
a chosen one near a threshold does not churn, and one fallen below the lowest tier waits for the next re-choice."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR, Symbol
from bot.hedge.liquidity import (
    CandidateLiquidity,
    DailyVolumes,
    LiquiditySettings,
    LiquidityTier,
    cap_weights,
    tier_for,
)
from bot.hedge.policies import PolicyResult
from bot.hedge.proxy_select import ProxySelector, ProxySettings
from tests.hedge.test_proxy_select import A, B, C, D, _basket, _factors

TIERS = LiquiditySettings(
    (LiquidityTier(50e6, 1.0), LiquidityTier(10e6, 0.5), LiquidityTier(2e6, 0.25)), days=30, hysteresis=0.2
)


def test_the_daily_figure_is_the_last_24h_volume_of_each_day_and_one_spike_does_not_move_the_median() -> None:
    volumes = DailyVolumes()
    for day in range(30):
        volumes.observe(day * MS_PER_DAY + MS_PER_HOUR, A, 1e6)  # an early, partial figure: replaced
        volumes.observe(day * MS_PER_DAY + 23 * MS_PER_HOUR, A, 5e6 if day != 10 else 900e6)
    assert volumes.median(A, 29 * MS_PER_DAY, days=30) == 5e6


def test_days_older_than_the_window_no_longer_count_and_a_symbol_never_seen_has_no_volume() -> None:
    volumes = DailyVolumes()
    for day in range(10):
        volumes.observe(day * MS_PER_DAY, A, 100e6)
    for day in range(10, 20):
        volumes.observe(day * MS_PER_DAY, A, 1e6)
    assert volumes.median(A, 19 * MS_PER_DAY, days=10) == 1e6
    assert volumes.median(A, 40 * MS_PER_DAY, days=10) is None  # the feed stopped: its old volume ages out
    assert volumes.median(B, 19 * MS_PER_DAY, days=10) is None


def test_below_the_lowest_tier_a_candidate_has_no_tier_but_a_chosen_one_keeps_it_within_the_hysteresis() -> None:
    assert tier_for(TIERS, 60e6, current=False) == LiquidityTier(50e6, 1.0)
    assert tier_for(TIERS, 12e6, current=False) == LiquidityTier(10e6, 0.5)
    assert tier_for(TIERS, 1.8e6, current=False) is None
    assert tier_for(TIERS, 1.8e6, current=True) == LiquidityTier(2e6, 0.25)  # 10 % under: kept
    assert tier_for(TIERS, 1.5e6, current=True) is None  # 25 % under: out
    assert tier_for(TIERS, None, current=False) == LiquidityTier(2e6, 0.25)  # unknown: capped, not excluded


def test_a_thin_proxys_leg_is_capped_at_its_tiers_share_and_the_cut_is_not_moved_to_the_others() -> None:
    result = PolicyResult({A: -60_000.0, B: -30_000.0})
    capped = cap_weights(result, {A: 0.25, B: 1.0}, basket_value=100_000.0)
    assert capped.notionals == {A: -25_000.0, B: -30_000.0}
    assert capped.numbers["liquidity_capped_legs"] == 1.0


@settings(max_examples=50, deadline=None)
@given(
    notionals=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=4),
    caps=st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    value=st.floats(1.0, 1e6),
)
def test_a_capped_leg_is_never_larger_than_before_nor_than_its_share(
    notionals: list[float], caps: list[float], value: float
) -> None:
    symbols = (A, B, C, D)
    result = PolicyResult(dict(zip(symbols, notionals, strict=False)))
    capped = cap_weights(result, dict(zip(symbols, caps, strict=True)), value)
    for symbol, before in result.notionals.items():
        after = capped.notionals[symbol]
        assert abs(after) <= abs(before)
        assert abs(after) <= caps[symbols.index(symbol)] * value * (1 + 1e-12)
        assert after * before >= 0


def test_an_illiquid_candidate_is_named_and_never_chosen() -> None:
    liquidity = CandidateLiquidity(TIERS)
    for day in range(30):
        liquidity.observe(day * MS_PER_DAY, A, 1e6)  # the best fit, but thin
        liquidity.observe(day * MS_PER_DAY, B, 80e6)
    illiquid = liquidity.illiquid(29 * MS_PER_DAY, (A, B), current=())
    assert set(illiquid) == {A}
    assert "below the lowest tier's 2,000,000" in illiquid[A]
    x = _factors()
    selector = ProxySelector(ProxySettings(2, 0.01, 0.15, 0.02, 7 * MS_PER_DAY))
    change = selector.update(0, _basket(x), x, illiquid=illiquid)
    assert change is not None
    assert A not in change.new
    assert B in change.new
    assert "liquidity" in change.reason


def test_a_proxy_fallen_below_the_lowest_tier_is_replaced_at_the_next_rechoice_not_before() -> None:
    x = _factors()
    y = _basket(x)
    selector = ProxySelector(ProxySettings(2, 0.01, 0.15, 0.02, 7 * MS_PER_DAY))
    selector.update(0, y, x)
    assert set(selector.current) == {A, B}
    thin = {A: "liquidity: median daily quote volume 1,000,000 over 30 d below the lowest tier's 2,000,000"}
    assert selector.update(MS_PER_DAY, y, x, illiquid=thin) is None  # not due: a thin market is no emergency
    assert A in selector.current
    change = selector.update(7 * MS_PER_DAY, y, x, illiquid=thin)
    assert change is not None
    assert A not in change.new
    assert f"{A} gone (liquidity" in change.reason


def test_with_every_candidate_thin_the_current_set_is_kept_rather_than_left_empty() -> None:
    x = {A: _factors()[A]}
    selector = ProxySelector(ProxySettings(1, 0.01, 0.15, 0.02, MS_PER_DAY))
    selector.update(0, x[A] + np.random.default_rng(9).normal(0, 0.001, len(x[A])), x)
    assert selector.current == (A,)
    assert selector.update(MS_PER_DAY, x[A], x, illiquid={A: "liquidity: thin"}) is None
    assert selector.current == (A,)


def test_a_chosen_proxys_cap_follows_its_tier_and_an_unknown_volume_takes_the_lowest() -> None:
    liquidity = CandidateLiquidity(TIERS)
    liquidity.observe(0, A, 80e6)
    liquidity.observe(0, B, 20e6)
    assert liquidity.caps(0, (A, B, C)) == {A: 1.0, B: 0.5, C: 0.25}
    assert CandidateLiquidity(None).caps(0, (A,)) == {}  # no tiers configured: uncapped


def test_a_dated_legs_volume_is_its_pairs() -> None:
    liquidity = CandidateLiquidity(TIERS)
    liquidity.observe(0, Symbol("BTC/USDT:USDT"), 80e6)
    assert liquidity.volume(0, Symbol("BTC/USDT:USDT@quarterly")) == 80e6
