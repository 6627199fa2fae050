"""What the engine writes for operators reads as text for people: UTC times, each clip's own leg, no hex ids."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
)
from bot.execution.ids import client_order_id, decision_id, decision_label
from bot.report.text import order_line

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
INSTRUMENTS = {
    symbol: Instrument(symbol, base, "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
    for symbol, base in ((BTC, "BTC"), (ETH, "ETH"))
}
DEC_8_2026_14H = 1_796_738_400_000  # 2026-12-08 14:00:00 UTC


def _engine(now: int) -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0, "BTC": 1.0}},
            "hedge": {"instruments": [BTC, ETH], "policy": "fixed", "direct": ["ETH"]},
            "risk": {"max_price_age": "2h", "max_account_age": "2h"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    for symbol, price in ((Symbol("ETH/USDT"), 3_000.0), (Symbol("BTC/USDT"), 60_000.0), (BTC, 60_000.0)):
        engine.on_market(PriceObserved(now, symbol, price))
    engine.on_market(PriceObserved(now, ETH, 3_000.0))
    for symbol in (BTC, ETH):
        engine.on_market(FundingObserved(now, symbol, 0.0001, now + 8 * MS_PER_HOUR))
    snapshot = AccountSnapshot(now, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, ())
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    return engine


def test_a_set_ratio_decision_says_until_when_as_a_utc_time_not_epoch_milliseconds() -> None:
    engine = _engine(DEC_8_2026_14H - MS_PER_HOUR)
    engine.set_ratio(DEC_8_2026_14H - MS_PER_HOUR, 0.5, DEC_8_2026_14H)
    [decision] = [a.decision for a in engine.on_time(DEC_8_2026_14H - MS_PER_HOUR + 1) if isinstance(a, DecisionMade)]
    assert decision.reason == "operator set ratio 0.5 until 2026-12-08 14:00:00 UTC"


def test_each_clip_of_a_band_decision_names_its_own_leg_not_the_leg_that_crossed_the_band() -> None:
    actions = _engine(1).on_time(2)
    [decision] = [a.decision for a in actions if isinstance(a, DecisionMade)]
    assert decision.reason.startswith("BTC/USDT:USDT hedge 0 is 60,000 off")
    reasons = {a.request.symbol: a.parent_reason for a in actions if isinstance(a, PlaceOrder)}
    assert reasons[BTC] == f"rebalance_band: {decision.reason}"
    assert reasons[ETH].startswith("rebalance_band: ETH/USDT:USDT to target -30,000")
    assert "BTC" not in reasons[ETH].split("(")[0]  # the other leg only as the decision's cause, in brackets


def test_a_decision_id_reads_as_its_number_and_utc_time_while_the_id_itself_stays_the_same() -> None:
    ident = decision_id(DEC_8_2026_14H, 6)
    assert ident == "1a255f43f00-6"  # a journal key and part of client order ids: unchanged
    assert decision_label(ident) == "decision #6 of 2026-12-08 14:00:00 UTC"
    assert decision_label("d-1") == "d-1"  # not one of ours: shown as it is


def test_an_order_line_shows_the_decision_readably_and_not_its_hex_id() -> None:
    ident = decision_id(DEC_8_2026_14H, 6)
    request = OrderRequest(
        client_id=client_order_id(ident, 1, 2),
        symbol=ETH,
        side=Side.SELL,
        qty=1.5,
        decision_id=ident,
        clip_no=2,
    )
    update = OrderUpdate(DEC_8_2026_14H, request.client_id, ETH, OrderStatus.FILLED, 1.5, 3_000.0)
    line = order_line(DEC_8_2026_14H, request, update, "schedule: scheduled rebalance every 8h")
    assert "clip 2 of decision #6 of 2026-12-08 14:00:00 UTC" in line
    assert ident not in line.split("]")[0].split("[")[1]
