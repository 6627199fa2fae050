"""Legs on two venues (`[venues]`): each venue liquidates on its own account, so the collateral ladder reads
each venue's own buffer. A rally that eats one venue's margin while the other is rich is a breach, although the
merged account looks healthy; the cut shrinks the thin venue's legs, never the rich one's."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine, PlaceOrder
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    Position,
    PriceObserved,
    Side,
    Symbol,
)
from bot.execution.venue_routes import VenueRoutes
from bot.risk.collateral import book_of, liquidation_moves
from bot.risk.state import TradingState
from bot.venues.venue_set import VenueSet

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
INSTRUMENTS = {
    symbol: Instrument(symbol, symbol[:3], "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
    for symbol in (BTC, ETH)
}


def _engine() -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0, "BTC": 0.5}},
            "hedge": {"instruments": [BTC, ETH], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h"},
            "execution": {"clip_interval": "0s"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    engine.on_market(PriceObserved(0, Symbol("ETH/USDT"), 3_000.0))
    engine.on_market(PriceObserved(0, Symbol("BTC/USDT"), 60_000.0))
    for symbol, price in ((BTC, 60_000.0), (ETH, 3_000.0)):
        engine.on_market(PriceObserved(0, symbol, price))
        engine.on_market(FundingObserved(0, symbol, 0.0001, 8 * MS_PER_HOUR))
    return engine


def _merged(ts: int) -> AccountSnapshot:
    """ETH short on a rich main venue (50,000 of equity), BTC short on a thin second one (200 of equity on 30,000
    of notional: a 0.17 % rally liquidates it), merged as the venue set reports them."""
    routes = VenueRoutes([BTC, ETH], {BTC: "second"})
    venues = VenueSet({}, routes, lambda: ts)
    rich = AccountSnapshot(ts, "USDT", 50_000.0, 50_000.0, 6_000.0, 150.0, (Position(ETH, -10.0, 3_000.0),))
    thin = AccountSnapshot(ts, "USDT", 200.0, 200.0, 6_000.0, 150.0, (Position(BTC, -0.5, 60_000.0),))
    return venues.merged({"main": rich, "second": thin})


def test_a_thin_venue_near_liquidation_triggers_the_ladder_although_the_merged_account_is_healthy() -> None:
    engine = _engine()
    merged = _merged(1)
    merged_buffer = book_of(merged, engine.prices, engine.instruments).buffer(merged.equity)
    assert merged_buffer is None or merged_buffer > 0.5  # the merged account alone would look safe
    engine.adopt_positions(merged)
    engine.on_venue(merged)
    actions = engine.on_time(1)
    assert engine.governor.state is not TradingState.ACTIVE
    assert "second" in engine.governor.reason
    cuts = [a for a in actions if isinstance(a, PlaceOrder) and a.request.reduce_only]
    assert [(cut.request.symbol, cut.request.side) for cut in cuts] == [(BTC, Side.BUY)]  # the thin venue's leg only
    assert engine.positions[ETH] == -10.0


def _btc_on_second(**risk: object) -> Engine:
    """Only BTC hedged, on the venue "second"; the main venue holds collateral and no leg."""
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},  # a full hedge is 0.5 BTC short at 60,000
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h", **risk},
        }
    )
    engine = Engine(config, {BTC: INSTRUMENTS[BTC]}, trading_from_ms=0)
    engine.leg_venues = {BTC: "second"}  # as the daemon sets it from its venue set's routes
    engine.on_market(PriceObserved(0, Symbol("ETH/USDT"), 3_000.0))
    engine.on_market(PriceObserved(0, BTC, 60_000.0))
    engine.on_market(FundingObserved(0, BTC, 0.0001, 8 * MS_PER_HOUR))
    return engine


def _flat(second_equity: float) -> AccountSnapshot:
    routes = VenueRoutes([BTC], {BTC: "second"})
    rich = AccountSnapshot(1, "USDT", 50_000.0, 50_000.0, 0.0, 0.0)
    thin = AccountSnapshot(1, "USDT", second_equity, second_equity, 0.0, 0.0)
    return VenueSet({}, routes, lambda: 1).merged({"main": rich, "second": thin})


def test_a_decision_adds_no_more_hedge_on_a_venue_than_its_own_buffer_allows() -> None:
    engine = _btc_on_second()
    engine.on_venue(_flat(8_000.0))  # 0.5 BTC short on 8,000 would be liquidated by a 26 % rally
    decision = next(a for a in engine.on_time(1) if isinstance(a, DecisionMade)).decision
    [target] = decision.targets
    assert -0.5 < target.qty < 0  # the merged 58,000 would have allowed the whole 0.5
    assert "capped at" in decision.reason


def test_the_leverage_limit_reads_the_equity_of_the_venue_the_order_goes_to() -> None:
    collateral = {"warn": 0.0, "top_up": 0.0, "reduce": 0.0, "floor": 0.0}  # the ladder off: leverage alone
    engine = _btc_on_second(max_leverage=3.0, collateral=collateral)
    engine.on_venue(_flat(1_000.0))  # 3 × 1,000 = 3,000 of notional there: 0.05 BTC, not the merged 2.55
    orders = [a for a in engine.on_time(1) if isinstance(a, PlaceOrder)]
    assert orders  # a clip of 5,000 of notional, shrunk to what that venue's equity carries
    assert sum(abs(order.request.qty) for order in orders) <= 0.05 + 1e-9


def test_each_position_s_liquidation_price_is_reckoned_on_its_own_venue_s_account() -> None:
    [eth, btc] = liquidation_moves(_merged(1), {BTC: 60_000.0, ETH: 3_000.0}, INSTRUMENTS)
    assert btc.symbol == BTC
    assert btc.move is not None
    assert 0 < btc.move < 0.01  # the thin venue's 200 of equity, not the merged 50,200
    assert eth.move is not None
    assert eth.move > 1.0
