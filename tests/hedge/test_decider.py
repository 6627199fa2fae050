"""The decider fires the right trigger, scales cover with the volatility tier, and paces rebalances."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.config import Config, parse_config
from bot.domain import MS_PER_HOUR, Instrument, InstrumentKind, Symbol
from bot.hedge.decider import HedgeDecider
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import value_holdings

BTC, SOL = Symbol("BTC/USDT:USDT"), Symbol("SOL/USDT")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)}


def _decider(**hedge: Any) -> tuple[HedgeDecider, CovarianceEstimator, Config]:
    config = parse_config(
        {"portfolio": {"holdings": {"SOL": 100.0}}, "hedge": {"instruments": [BTC], "min_samples": 10, **hedge}}
    )
    estimator = CovarianceEstimator((SOL, BTC), MS_PER_HOUR, 30 * 24 * MS_PER_HOUR, 10, 24 * MS_PER_HOUR)
    return HedgeDecider(config, INSTRUMENTS, estimator), estimator, config


def _feed(estimator: CovarianceEstimator, hours: int, vol: float, start: int = 0, seed: int = 1) -> dict[Symbol, float]:
    rng = np.random.default_rng(seed)
    btc, sol = 50_000.0, 100.0
    for hour in range(start, start + hours + 1):
        factor = rng.normal(0, vol)
        btc *= 1 + factor
        sol *= 1 + 1.5 * factor + rng.normal(0, vol / 3)
        estimator.on_price(hour * MS_PER_HOUR, BTC, btc)
        estimator.on_price(hour * MS_PER_HOUR, SOL, sol)
        estimator.sample(hour * MS_PER_HOUR)
    return {BTC: btc, SOL: sol}


def _decide(decider: HedgeDecider, config: Config, prices: dict[Symbol, float], now: int,
            planned: float = 0.0, forced: tuple[str, str] | None = None) -> Any:  # fmt: skip
    exposure = value_holdings(config.portfolio.holdings, prices, "USDT")
    return decider.decide(now, exposure, prices, {BTC: planned}, 1.0, forced)


def test_a_first_decision_fires_the_band_with_a_min_variance_target() -> None:
    decider, estimator, config = _decider()
    prices = _feed(estimator, 200, 0.01)
    proposal = _decide(decider, config, prices, 200 * MS_PER_HOUR)
    assert proposal.fired.name == "rebalance_band"
    assert proposal.targets[BTC].qty < 0
    assert 0.9 < proposal.result.numbers["proxy.w[BTC/USDT:USDT]"] < 2.0


def test_the_tiered_policy_gives_more_cover_when_volatility_jumps() -> None:
    decider, estimator, config = _decider(policy="tiered")
    prices = _feed(estimator, 200, 0.002)  # about 19 % a year: the calm tier
    calm = _decide(decider, config, prices, 200 * MS_PER_HOUR)
    assert calm.result.numbers["ratio"] == 0.5
    prices = _feed(estimator, 100, 0.03, start=201, seed=2)  # about 280 % a year: stress
    stress = _decide(decider, config, prices, 301 * MS_PER_HOUR, planned=calm.targets[BTC].qty)
    assert stress.fired.name in {"volatility_regime", "rebalance_band"}
    assert stress.fired.numbers["tier_ratio"] == 1.0
    assert stress.result.numbers["ratio"] == 1.0


def test_the_cooldown_holds_back_a_band_trigger_but_not_an_operator_command() -> None:
    decider, estimator, config = _decider(cooldown="6h")
    prices = _feed(estimator, 200, 0.01)
    assert _decide(decider, config, prices, 200 * MS_PER_HOUR) is not None
    assert _decide(decider, config, prices, 201 * MS_PER_HOUR) is None
    assert decider.held_back == 1
    forced = _decide(decider, config, prices, 201 * MS_PER_HOUR, forced=("operator_ratio", "set-ratio 0.5"))
    assert forced.fired.name == "operator_ratio"


def test_the_schedule_rebalances_even_inside_the_band() -> None:
    decider, estimator, config = _decider(schedule="1d")
    prices = _feed(estimator, 200, 0.01)
    first = _decide(decider, config, prices, 200 * MS_PER_HOUR)
    on_target = first.targets[BTC].qty
    assert _decide(decider, config, prices, 210 * MS_PER_HOUR, planned=on_target) is None
    scheduled = _decide(decider, config, prices, 224 * MS_PER_HOUR, planned=on_target)
    assert scheduled.fired.name == "schedule"


def test_a_correlation_breakdown_beyond_its_band_is_a_trigger() -> None:
    decider, estimator, config = _decider(correlation_band=0.2, trailing_halflife="30d")
    prices = _feed(estimator, 400, 0.01)
    first = _decide(decider, config, prices, 400 * MS_PER_HOUR)
    rng = np.random.default_rng(5)
    btc, sol = prices[BTC], prices[SOL]
    fired = None
    for hour in range(401, 1200):  # SOL decouples from BTC: correlation falls away from its trailing mean
        btc *= 1 + rng.normal(0, 0.01)
        sol *= 1 + rng.normal(0, 0.01)
        estimator.on_price(hour * MS_PER_HOUR, BTC, btc)
        estimator.on_price(hour * MS_PER_HOUR, SOL, sol)
        estimator.sample(hour * MS_PER_HOUR)
        proposal = _decide(decider, config, {BTC: btc, SOL: sol}, hour * MS_PER_HOUR, planned=first.targets[BTC].qty)
        if proposal is not None and proposal.fired.name == "correlation_shift":
            fired = proposal.fired
            break
    assert fired is not None
    assert fired.numbers["value"] < fired.numbers["trailing_mean"]
