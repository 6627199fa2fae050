"""Proxy selection picks the few instruments that explain the basket, drops fits carried by outliers, and does
not churn."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import parse_config
from bot.domain import MS_PER_DAY, MS_PER_HOUR, Instrument, InstrumentKind, Symbol
from bot.hedge.decider import HedgeDecider
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import value_holdings
from bot.hedge.moments import FloatArray
from bot.hedge.proxy_select import ProxySelector, ProxySettings, choose_proxies, r_squared

A, B, C, D = (Symbol(f"{base}/USDT:USDT") for base in ("A", "B", "C", "D"))
SETTINGS = ProxySettings(max_proxies=3, min_gain=0.01, rank_gap=0.15, hysteresis=0.02, every_ms=7 * MS_PER_DAY)


def _factors(n: int = 720, seed: int = 1) -> dict[Symbol, FloatArray]:
    rng = np.random.default_rng(seed)
    return {symbol: rng.normal(0, 0.01, n) for symbol in (A, B, C, D)}


def _basket(x: dict[Symbol, FloatArray], noise: float = 0.002, seed: int = 2) -> FloatArray:
    rng = np.random.default_rng(seed)
    return 0.6 * x[A] + 0.4 * x[B] + rng.normal(0, noise, len(x[A]))


def test_stepwise_chooses_the_instruments_the_basket_is_made_of_and_not_the_noise() -> None:
    x = _factors()
    fit = choose_proxies(_basket(x), x, SETTINGS)
    assert fit.proxies == (A, B)
    assert fit.r2 > 0.9


def test_the_cap_on_the_number_of_proxies_keeps_the_one_that_explains_most() -> None:
    x = _factors()
    fit = choose_proxies(_basket(x), x, ProxySettings(1, 0.01, 0.15, 0.02, MS_PER_DAY))
    assert fit.proxies == (A,)


def test_a_candidate_whose_fit_is_carried_by_a_few_extreme_moves_is_dropped_by_the_rank_check() -> None:
    x = _factors()
    y = _basket(x)
    rng = np.random.default_rng(3)
    outlier = rng.normal(0, 0.01, len(y))  # unrelated to the basket ...
    y, outlier = y.copy(), outlier.copy()
    y[[100, 300, 500]] = [-0.4, -0.35, -0.3]  # ... except in three crashes they share
    outlier[[100, 300, 500]] = [-0.4, -0.35, -0.3]
    fit = choose_proxies(y, {D: outlier}, SETTINGS)
    assert fit.proxies == ()
    assert "rank check" in fit.excluded[D]


def test_a_candidate_with_no_price_moves_is_not_eligible() -> None:
    x = _factors()
    x[B] = np.zeros_like(x[B])
    fit = choose_proxies(_basket(x), x, SETTINGS)
    assert B not in fit.proxies
    assert fit.excluded[B] == "no price moves in the window"


def test_a_near_equal_set_does_not_replace_the_current_one_within_the_hysteresis() -> None:
    x = _factors()
    twin = x[A] + np.random.default_rng(4).normal(0, 0.0005, len(x[A]))  # A's near copy
    selector = ProxySelector(ProxySettings(1, 0.01, 0.15, 0.05, MS_PER_DAY))
    first = selector.update(0, x[A], {A: x[A], D: twin})
    assert first is not None
    assert first.new == (A,)
    assert selector.update(2 * MS_PER_DAY, twin, {A: x[A], D: twin}) is None  # D now fits a bit better
    assert selector.current == (A,)


def test_a_clearly_better_set_replaces_the_current_one_at_the_next_reselection_only() -> None:
    x = _factors()
    selector = ProxySelector(ProxySettings(1, 0.01, 0.15, 0.02, MS_PER_DAY))
    selector.update(0, x[A], {A: x[A], B: x[B]})
    assert selector.update(MS_PER_HOUR, x[B], {A: x[A], B: x[B]}) is None  # not due yet
    change = selector.update(MS_PER_DAY, x[B], {A: x[A], B: x[B]})
    assert change is not None
    assert (change.old, change.new) == ((A,), (B,))
    assert "beats the current" in change.reason


def test_a_proxy_that_disappears_is_replaced_at_once_without_waiting_for_the_schedule() -> None:
    x = _factors()
    y = _basket(x)
    selector = ProxySelector(SETTINGS)
    selector.update(0, y, x)
    assert selector.current == (A, B)
    gone = {**x, B: np.full_like(x[B], 0.0)}  # B delisted: its price no longer moves
    change = selector.update(MS_PER_HOUR, y, gone)
    assert change is not None
    assert B not in change.new
    assert A in change.new
    assert "B/USDT:USDT gone" in change.reason


@settings(max_examples=40, deadline=None)
@given(
    cap=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    mix=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
)
def test_the_choice_is_a_subset_of_the_candidates_within_the_cap_and_explains_no_more_than_all(
    cap: int, seed: int, mix: list[float]
) -> None:
    x = _factors(200, seed)
    y = sum(w * x[s] for w, s in zip(mix, (A, B, C, D), strict=True)) + np.random.default_rng(seed).normal(
        0, 0.003, 200
    )
    fit = choose_proxies(np.asarray(y), x, ProxySettings(cap, 0.01, 0.15, 0.02, MS_PER_DAY))
    assert set(fit.proxies) <= set(x)
    assert len(set(fit.proxies)) == len(fit.proxies) <= cap
    assert 0.0 <= fit.r2 <= r_squared(np.asarray(y), np.column_stack(list(x.values()))) + 1e-9


BTC, ETH, SOL = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("SOL/USDT")


def _instrument(symbol: Symbol) -> Instrument:
    base = symbol.split("/")[0]
    return Instrument(symbol, base, "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)


def _decider(**hedge: Any) -> tuple[HedgeDecider, CovarianceEstimator, dict[Symbol, float], Any]:
    config = parse_config(
        {
            "portfolio": {"holdings": {"SOL": 100.0}},
            "hedge": {"instruments": [BTC, ETH], "min_samples": 10, "proxy_select": True, **hedge},
        }
    )
    estimator = CovarianceEstimator((SOL, BTC, ETH), MS_PER_HOUR, 30 * 24 * MS_PER_HOUR, 10, 24 * MS_PER_HOUR)
    rng = np.random.default_rng(5)
    prices = {BTC: 50_000.0, ETH: 3_000.0, SOL: 100.0}
    for hour in range(201):
        btc, eth = (float(r) for r in rng.normal(0, 0.01, 2))
        prices = {BTC: prices[BTC] * (1 + btc), ETH: prices[ETH] * (1 + eth), SOL: prices[SOL] * (1 + 1.5 * eth)}
        for symbol, price in prices.items():
            estimator.on_price(hour * MS_PER_HOUR, symbol, price)
        estimator.sample(hour * MS_PER_HOUR)
    return HedgeDecider(config, {s: _instrument(s) for s in (BTC, ETH)}, estimator), estimator, prices, config


def test_the_decider_hedges_on_the_chosen_proxy_and_journals_why_it_chose_it() -> None:
    decider, _, prices, config = _decider(max_proxies=2)
    exposure = value_holdings(config.portfolio.holdings, prices, "USDT")
    proposal = decider.decide(200 * MS_PER_HOUR, exposure, prices, {BTC: 0.0, ETH: 0.0}, 1.0, None)
    assert proposal is not None
    assert proposal.fired.name == "proxy_reselect"
    assert "[] → [ETH/USDT:USDT]" in proposal.fired.reason  # SOL moves with ETH only: BTC adds nothing
    assert proposal.targets[ETH].qty < 0
    assert proposal.targets[BTC].qty == 0


def test_without_proxy_selection_the_decider_hedges_on_every_instrument() -> None:
    decider, _, prices, config = _decider(proxy_select=False)
    exposure = value_holdings(config.portfolio.holdings, prices, "USDT")
    proposal = decider.decide(200 * MS_PER_HOUR, exposure, prices, {BTC: 0.0, ETH: 0.0}, 1.0, None)
    assert proposal is not None
    assert proposal.fired.name == "rebalance_band"
    assert "proxy.w[BTC/USDT:USDT]" in proposal.result.numbers


def test_the_same_set_chosen_in_another_order_is_not_a_change() -> None:
    x = _factors()
    selector = ProxySelector(ProxySettings(2, 0.0, 0.15, 0.0, MS_PER_DAY))
    selector.update(0, 0.6 * x[A] + 0.4 * x[B], {A: x[A], B: x[B]})
    assert selector.current == (A, B)
    assert selector.update(MS_PER_DAY, 0.4 * x[A] + 0.6 * x[B], {A: x[A], B: x[B]}) is None  # now B first
    assert set(selector.current) == {A, B}


def test_a_current_proxy_whose_price_is_stale_is_replaced_at_once_with_the_reason_named() -> None:
    x = _factors()
    selector = ProxySelector(SETTINGS)
    assert selector.update(0, _basket(x), x) is not None
    assert A in selector.current
    change = selector.update(MS_PER_HOUR, _basket(x), x, {A: "price stale: price of A 3h old"})
    assert change is not None  # long before the schedule
    assert A not in change.new
    assert change.new
    assert f"{A} gone (price stale: price of A 3h old)" in change.reason
