"""A proxy whose price feed stops does not halt the bot when the proxies are chosen (`proxy_select`): it is dropped
from the chosen set at once, the other proxies carry the hedge, its position is held, and it comes back as a
candidate once its prices are fresh again. Without proxy selection a stale instrument still fails closed."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from bot.config import parse_config
from bot.core.engine import Action, DecisionMade, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    Decision,
    FundingObserved,
    Instrument,
    InstrumentKind,
    Position,
    PriceObserved,
    Symbol,
)
from bot.risk.state import TradingState

BTC, SOL, BNB = (Symbol(f"{base}/USDT:USDT") for base in ("BTC", "SOL", "BNB"))
ETH_SPOT = Symbol("ETH/USDT")
PERPS = (BTC, SOL, BNB)
INSTRUMENTS = {
    symbol: Instrument(symbol, symbol.split("/")[0], "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
    for symbol in PERPS
}
HOURS = 120
STOP, RESUME = 60, 90  # SOL's feed is silent from hour STOP to hour RESUME


def _paths() -> dict[Symbol, np.ndarray]:
    """ETH is mostly SOL and BTC; BNB is noise: the selection picks SOL first."""
    rng = np.random.default_rng(7)
    moves = {s: rng.normal(0, 0.01, HOURS) for s in PERPS}
    eth = 0.7 * moves[SOL] + 0.3 * moves[BTC] + rng.normal(0, 0.002, HOURS)
    start = {BTC: 60_000.0, SOL: 100.0, BNB: 300.0, ETH_SPOT: 3_000.0}
    return {s: start[s] * np.cumprod(1 + r) for s, r in {**moves, ETH_SPOT: eth}.items()}


def _engine(proxy_select: bool) -> Engine:
    hedge = {"instruments": list(PERPS), "policy": "min_variance", "window": "48h", "min_samples": 12}
    if proxy_select:
        hedge |= {"proxy_select": True, "max_proxies": 2, "proxy_reselect": "7d"}
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": hedge,
            "risk": {"max_price_age": "2h", "max_account_age": "2h", "max_funding_age": "2h"},
        }
    )
    return Engine(config, INSTRUMENTS, trading_from_ms=0)


def _hour(engine: Engine, paths: dict[Symbol, np.ndarray], hour: int, silent: Iterable[Symbol] = ()) -> list[Action]:
    ts = hour * MS_PER_HOUR
    for symbol, path in paths.items():
        if symbol not in silent:
            engine.on_market(PriceObserved(ts, symbol, float(path[hour])))
            if symbol in PERPS:
                engine.on_market(FundingObserved(ts, symbol, 0.0001, ts + 8 * MS_PER_HOUR))
    positions = tuple(Position(s, q) for s, q in engine.positions.items() if q)
    engine.on_venue(AccountSnapshot(ts, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, positions))
    return engine.on_time(ts)


def _chosen(engine: Engine) -> tuple[Symbol, ...]:
    selector = engine.decider.proxy_choice.selector
    assert selector is not None  # proxy_select is on
    return selector.current


def _state(engine: Engine) -> TradingState:
    return engine.governor.state


def _decisions(actions: Iterable[Action]) -> list[Decision]:
    return [a.decision for a in actions if isinstance(a, DecisionMade)]


def test_one_proxy_feed_stopping_drops_it_from_the_chosen_set_and_the_others_carry_the_hedge() -> None:
    engine, paths = _engine(proxy_select=True), _paths()
    before = [d for hour in range(STOP) for d in _decisions(_hour(engine, paths, hour))]
    assert SOL in _chosen(engine)
    assert any(t.symbol == SOL and t.qty < 0 for t in before[-1].targets)
    sol_planned = engine.executor.planned_position(SOL)  # no fills here: where the leg was headed, held

    during: list[Decision] = []
    states = set()
    sol_orders = []
    for hour in range(STOP, RESUME):
        actions = _hour(engine, paths, hour, silent=[SOL])
        during += _decisions(actions)
        sol_orders += [a for a in actions if isinstance(a, PlaceOrder) and a.request.symbol == SOL]
        states.add(engine.governor.state)
    assert states == {TradingState.ACTIVE}  # the bot never held for the one proxy
    [dropped] = [d for d in during if d.trigger == "proxy_reselect"]
    assert "SOL/USDT:USDT" in dropped.reason
    assert "price stale" in dropped.reason
    assert SOL not in _chosen(engine)
    after = during[during.index(dropped) :]
    assert all({t.symbol: t.qty for t in d.targets}[SOL] == sol_planned for d in after)  # held where it was
    assert sol_orders == []  # nothing traded on a stale price
    assert {t.symbol: t.qty for t in during[-1].targets}[BTC] < 0  # the remaining proxies carry the hedge

    for hour in range(RESUME, HOURS):
        _hour(engine, paths, hour)
    assert engine.governor.state is TradingState.ACTIVE
    assert engine.decider.proxy_choice.stale == {}  # a candidate again once fresh


def test_without_proxy_selection_a_stale_hedge_instrument_still_holds_trading_to_reducing() -> None:
    engine, paths = _engine(proxy_select=False), _paths()
    for hour in range(STOP):
        _hour(engine, paths, hour)
    assert _state(engine) is TradingState.ACTIVE
    for hour in range(STOP, STOP + 4):
        _hour(engine, paths, hour, silent=[SOL])
    assert _state(engine) is TradingState.REDUCING
    assert "price of SOL/USDT:USDT" in engine.governor.reason
