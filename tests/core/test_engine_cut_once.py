"""A collateral cut is taken once: the fills of a cut reduce the hedge before the next account snapshot shows
them, and the marks in between must not cut the already smaller hedge by the same fraction again (seen live and
in the audit backtest: two `collateral_reduce` decisions in the same hour, the second cutting what was left)."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    ClientOrderId,
    Fill,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    Position,
    PriceObserved,
    Symbol,
    TradeId,
)

BTC, ETH_SPOT = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)}


def _engine() -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h", "max_order_notional": 1_000_000.0},
            "execution": {"clip_interval": "0s", "clip_notional": 1_000_000.0},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    engine.on_market(PriceObserved(0, ETH_SPOT, 3_000.0))
    engine.on_market(PriceObserved(0, BTC, 60_000.0))
    engine.on_market(FundingObserved(0, BTC, 0.0001, 8 * MS_PER_HOUR))
    return engine


def _cut_decisions(actions: list[object]) -> list[DecisionMade]:
    return [a for a in actions if isinstance(a, DecisionMade) and a.decision.trigger == "collateral_reduce"]


def test_the_fills_of_a_cut_are_not_cut_again_by_the_marks_before_the_next_snapshot() -> None:
    engine = _engine()
    snapshot = AccountSnapshot(1, "USDT", 3_000.0, 3_000.0, 6_000.0, 150.0, (Position(BTC, -0.5, 60_000.0),))
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    actions = engine.on_time(1)
    assert len(_cut_decisions(actions)) == 1
    [clip] = [a for a in actions if isinstance(a, PlaceOrder) and a.request.reduce_only]
    request = clip.request
    engine.on_venue(OrderUpdate(2, request.client_id, BTC, OrderStatus.SUBMITTED))
    engine.on_venue(Fill(2, TradeId("t1"), ClientOrderId(request.client_id), BTC, request.side, request.qty,
                         60_000.0, 0.0, "USDT"))  # fmt: skip
    engine.on_venue(OrderUpdate(2, request.client_id, BTC, OrderStatus.FILLED, request.qty, 60_000.0))
    engine.on_market(PriceObserved(3, BTC, 60_000.0))
    assert _cut_decisions(engine.on_time(3)) == []  # the snapshot still shows -0.5: the cut is done, not due
    assert engine.positions[BTC] == -0.5 + request.qty
