"""A collateral cut is never blocked: the audit case of a ladder that jumped straight to its worst step and then
forbade the cut its own reason announced, and every combination of holds the other sources can place."""

from __future__ import annotations

import itertools

import pytest

from bot.config import parse_config
from bot.core.engine import CancelOrder, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    Position,
    PriceObserved,
    Side,
    Symbol,
)
from bot.risk.state import TradingState

BTC, ETH_SPOT = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)}
# every source that can hold the trading state, as the engine and the daemon name them
SOURCES = ("staleness", "max_loss", "collateral", "reconcile", "operator", "order_unknown")
STATES = (None, TradingState.REDUCING, TradingState.HALTED)


def _engine() -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h"},
            "execution": {"clip_interval": "0s"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    engine.on_market(PriceObserved(0, ETH_SPOT, 3_000.0))
    engine.on_market(PriceObserved(0, BTC, 60_000.0))
    engine.on_market(FundingObserved(0, BTC, 0.0001, 8 * MS_PER_HOUR))
    return engine


def _near_liquidation(ts: int) -> AccountSnapshot:
    """Short 0.5 BTC at 60,000 (notional 30,000, maintenance 150) on 200 of equity: a 0.17 % rally liquidates it."""
    held = (Position(BTC, -0.5, 60_000.0),)
    return AccountSnapshot(ts, "USDT", 200.0, 200.0, 6_000.0, 150.0, held)


def _cuts(actions: list[object]) -> list[PlaceOrder]:
    return [a for a in actions if isinstance(a, PlaceOrder) and a.request.reduce_only]


def test_the_audit_case_a_ladder_at_its_worst_step_still_sends_the_cut_its_reason_announces() -> None:
    engine = _engine()
    snapshot = AccountSnapshot(1, "USDT", 177.0, 177.0, 6_000.0, 150.0, (Position(BTC, -0.5, 60_000.0),))
    assert snapshot.margin_ratio == pytest.approx(1.18)
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    actions = engine.on_time(1)
    assert engine.governor.state is TradingState.HALTED  # nothing that adds risk may go out
    [cut] = _cuts(actions)  # but the cut does
    assert cut.request.side is Side.BUY
    assert cut.request.symbol == BTC
    assert "cut the hedge" in cut.parent_reason


def _named(holds: tuple[TradingState | None, ...]) -> str:
    return ",".join(f"{source}={state}" for source, state in zip(SOURCES, holds, strict=True) if state) or "none"


@pytest.mark.parametrize("holds", list(itertools.product(STATES, repeat=len(SOURCES))), ids=_named)
def test_no_combination_of_holds_forbids_a_cut_that_avoids_liquidation(holds: tuple[TradingState | None, ...]) -> None:
    engine = _engine()
    for source, state in zip(SOURCES, holds, strict=True):
        if state is not None:
            engine.governor.hold(source, state, f"{source} holds {state}", 0)
    snapshot = _near_liquidation(1)
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    assert len(_cuts(engine.on_time(1))) == 1


def test_a_kill_switch_stops_the_cut_under_way_only_until_the_next_instant_takes_it_up_again() -> None:
    engine = _engine()
    snapshot = _near_liquidation(1)
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    [first] = _cuts(engine.on_time(1))
    [cancel] = [a for a in engine.kill(2, flatten=False) if isinstance(a, CancelOrder)]  # cancels it, halts
    assert cancel.client_id == first.request.client_id
    engine.on_venue(OrderUpdate(2, first.request.client_id, BTC, OrderStatus.SUBMITTED))
    engine.on_venue(OrderUpdate(2, first.request.client_id, BTC, OrderStatus.CANCELLED))
    [cut] = _cuts(engine.on_time(3))
    assert cut.request.side is Side.BUY
    assert cut.request.client_id != first.request.client_id
