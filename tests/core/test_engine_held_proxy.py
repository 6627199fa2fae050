"""A proxy dropped because its feed stopped keeps its position (no order on a stale price), and that position still
hedges: the proxies that carry the hedge after it net out the part of the basket it covers, so the book is not
over-hedged while it is held."""

from __future__ import annotations

import numpy as np

from bot.config import parse_config
from bot.core.engine import Engine
from bot.domain import Symbol
from tests.core.test_engine_stale_proxy import BNB, BTC, ETH_SPOT, HOURS, INSTRUMENTS, PERPS, SOL, STOP, _hour


def _paths() -> dict[Symbol, np.ndarray]:
    """SOL and BTC move together (one market factor); ETH, the basket, is SOL: SOL is chosen, BTC explains most of
    the rest of ETH once SOL is gone."""
    rng = np.random.default_rng(11)
    market = rng.normal(0, 0.01, HOURS)
    moves = {
        BTC: market + rng.normal(0, 0.002, HOURS),
        SOL: market + rng.normal(0, 0.004, HOURS),
        BNB: rng.normal(0, 0.01, HOURS),
    }
    eth = moves[SOL] + rng.normal(0, 0.001, HOURS)
    start = {BTC: 60_000.0, SOL: 100.0, BNB: 300.0, ETH_SPOT: 3_000.0}
    return {s: start[s] * np.cumprod(1 + r) for s, r in {**moves, ETH_SPOT: eth}.items()}


def _engine() -> Engine:
    hedge = {
        "instruments": list(PERPS),
        "policy": "min_variance",
        "window": "48h",
        "min_samples": 12,
        "proxy_select": True,
        "max_proxies": 1,
    }
    risk = {"max_price_age": "2h", "max_account_age": "2h", "max_funding_age": "2h", "max_order_notional": 1e6}
    execution = {"clip_notional": 1e6}  # one clip per change: the whole target is in flight at once
    config = parse_config(
        {"portfolio": {"holdings": {"ETH": 10.0}}, "hedge": hedge, "risk": risk, "execution": execution}
    )
    return Engine(config, INSTRUMENTS, trading_from_ms=0)


def _gross_short(engine: Engine) -> float:
    """What the legs hold or are headed to (orders in flight counted as filled), in the quote currency."""
    return -sum(engine.executor.planned_position(s) * float(engine.prices[s]) for s in PERPS if s in engine.prices)


def test_the_remaining_proxies_net_out_what_a_held_stale_proxy_still_covers() -> None:
    engine, paths = _engine(), _paths()
    for hour in range(STOP):
        _hour(engine, paths, hour)
    assert engine.decider.proxy_choice.selector is not None
    assert engine.decider.proxy_choice.selector.current == (SOL,)
    held = engine.executor.planned_position(SOL)
    assert held < 0
    basket = engine.exposure().total
    for hour in range(STOP, STOP + 12):
        _hour(engine, paths, hour, silent=[SOL])
    assert engine.executor.planned_position(SOL) == held  # held, not traded on its stale price
    assert engine.decider.proxy_choice.selector.current == (BTC,)
    # SOL's short already covers about the whole basket: BTC adds little, not a second basket's worth
    assert _gross_short(engine) < 1.25 * basket
    assert engine.executor.planned_position(BTC) * engine.prices[BTC] > -0.25 * basket
