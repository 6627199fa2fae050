"""The engine's decisions count what is in flight: open orders, and clips the venue answered filled whose fills
have not arrived yet (a slow or broken user stream), so it never trades the same exposure twice."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    PriceObserved,
    Symbol,
)

BTC, ETH_SPOT = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)}


def _engine() -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed", "ratio": 1.0},
            "risk": {"max_order_notional": 50_000.0},
            "execution": {"clip_notional": 50_000.0},
        }
    )
    return Engine(config, INSTRUMENTS, trading_from_ms=0)


def _instant(engine: Engine, ts: int) -> list[object]:
    engine.on_market(PriceObserved(ts, ETH_SPOT, 3_000.0))
    engine.on_market(PriceObserved(ts, BTC, 60_000.0))
    engine.on_market(FundingObserved(ts, BTC, 0.0001, ts + 8 * MS_PER_HOUR))
    engine.on_venue(AccountSnapshot(ts, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, ()))
    return list(engine.on_time(ts))


def test_a_sampling_step_while_a_filled_clip_awaits_its_fills_makes_no_second_decision() -> None:
    engine = _engine()
    [clip] = [a for a in _instant(engine, 0) if isinstance(a, PlaceOrder)]
    request = clip.request
    engine.on_venue(OrderUpdate(0, request.client_id, BTC, OrderStatus.SUBMITTED))
    engine.on_venue(OrderUpdate(0, request.client_id, BTC, OrderStatus.FILLED, request.qty))  # its fill: not yet

    later = _instant(engine, MS_PER_HOUR)  # the next sampling step

    assert request.qty == 0.5  # 30,000 of ETH hedged by 0.5 BTC at 60,000
    assert not [a for a in later if isinstance(a, DecisionMade | PlaceOrder)]
    assert engine.positions == {}  # the position follows fills only; the clip is counted as in flight
