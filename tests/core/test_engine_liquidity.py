"""The 24 h quote volume a feed gives with its prints reaches proxy selection: a candidate below the lowest liquidity
tier is not chosen however well it fits, and a thin one's leg carries at most its tier's share of the basket."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import Engine
from bot.domain import MS_PER_HOUR, AccountSnapshot, Decision, FundingObserved, Position, PriceObserved, Symbol
from bot.risk.state import TradingState
from tests.core.test_engine_stale_proxy import BTC, HOURS, INSTRUMENTS, PERPS, SOL, _decisions, _paths

TIERS = [{"min_quote_volume": 50e6, "max_weight": 1.0}, {"min_quote_volume": 5e6, "max_weight": 0.2}]


def _engine() -> Engine:
    hedge = {
        "instruments": list(PERPS),
        "policy": "min_variance",
        "window": "48h",
        "min_samples": 12,
        "proxy_select": True,
        "max_proxies": 2,
        "liquidity": {"tiers": TIERS, "days": 3},
    }
    risk = {"max_price_age": "2h", "max_account_age": "2h", "max_funding_age": "2h", "max_order_notional": 1e6}
    config = parse_config(
        {"portfolio": {"holdings": {"ETH": 10.0}}, "hedge": hedge, "risk": risk, "execution": {"clip_notional": 1e6}}
    )
    return Engine(config, INSTRUMENTS, trading_from_ms=0)


def _run(volumes: dict[Symbol, float]) -> tuple[Engine, list[Decision]]:
    engine, paths = _engine(), _paths()
    decisions: list[Decision] = []
    for hour in range(HOURS):
        ts = hour * MS_PER_HOUR
        for symbol, path in paths.items():
            engine.on_market(PriceObserved(ts, symbol, float(path[hour]), volumes.get(symbol)))
            if symbol in PERPS:
                engine.on_market(FundingObserved(ts, symbol, 0.0001, ts + 8 * MS_PER_HOUR))
        positions = tuple(Position(s, q) for s, q in engine.positions.items() if q)
        engine.on_venue(AccountSnapshot(ts, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, positions))
        decisions += _decisions(engine.on_time(ts))
    return engine, decisions


def test_the_best_fitting_candidate_is_not_chosen_when_it_trades_below_the_lowest_tier() -> None:
    engine, decisions = _run({SOL: 1e6, BTC: 900e6})  # SOL explains most of ETH (see _paths), but trades 1 M a day
    selector = engine.decider.proxy_choice.selector
    assert selector is not None
    assert SOL not in selector.current
    assert BTC in selector.current
    assert engine.executor.planned_position(SOL) == 0
    assert engine.governor.state is TradingState.ACTIVE
    first = next(d for d in decisions if d.trigger == "proxy_reselect")
    assert f"{SOL}: liquidity: median daily quote volume 1,000,000" in first.reason


def test_a_thin_proxys_leg_carries_at_most_its_tiers_share_of_the_basket() -> None:
    engine, _ = _run({SOL: 8e6, BTC: 900e6})  # SOL in the 5 M tier: at most 20 % of the basket
    last = engine.last_decision
    assert last is not None
    sol = next(t for t in last.targets if t.symbol == SOL)
    assert sol.notional < 0
    assert abs(sol.notional) <= 0.2 * engine.exposure().total * 1.01  # prices moved since the decision: 1 %
    assert last.numbers.get("liquidity_capped_legs") == 1.0
