"""Legs on two venues (`[venues]`): a venue whose market streams go silent while its REST and user stream are up
holds only its own legs (positions kept, no order to them, the others take over), as a venue down does; the
trading state stays `active`. Fail closed where it matters: a stale holding, one venue only, or stale legs on
every venue still gate the whole book."""

from __future__ import annotations

from bot.config import parse_config
from bot.core.engine import Action, Engine, PlaceOrder, RiskNotice
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    PriceObserved,
    Symbol,
)
from bot.execution.venue_routes import VenueRoutes
from bot.risk.state import TradingState
from bot.venues.venue_set import VenueSet

BTC, ETH, SOL = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("SOL/USDT:USDT")
ETH_SPOT, BTC_SPOT, SOL_SPOT = Symbol("ETH/USDT"), Symbol("BTC/USDT"), Symbol("SOL/USDT")
INSTRUMENTS = {
    symbol: Instrument(symbol, symbol[:3], "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
    for symbol in (BTC, ETH, SOL)
}
PRICES = {
    ETH_SPOT: 3_000.0,
    BTC_SPOT: 60_000.0,
    SOL_SPOT: 150.0,
    ETH: 3_000.0,
    BTC: 60_000.0,
    SOL: 150.0,
}
SECOND = 1_000
LATE = 20 * SECOND  # past `max_price_age` (10 s)


def _engine(*, venues: bool = True) -> Engine:
    """ETH and SOL hedged on the main venue, BTC on "second" (or, `venues` False, all on the one venue)."""
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0, "BTC": 0.5, "SOL": 100.0}},
            "hedge": {"instruments": [BTC, ETH, SOL], "policy": "fixed"},
            "risk": {"max_price_age": "10s", "max_funding_age": "2h", "max_account_age": "2h"},
            "execution": {"clip_interval": "0s"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=LATE)
    if venues:
        engine.leg_venues = {
            BTC: "second",
            ETH: "main",
            SOL: "main",
        }  # as the daemon sets it from its venue set's routes
    _prices(engine, 0, PRICES)
    for symbol in (BTC, ETH, SOL):
        engine.on_market(FundingObserved(0, symbol, 0.0001, 8 * MS_PER_HOUR))
    routes = VenueRoutes([BTC, ETH, SOL], {BTC: "second"} if venues else {})
    rich = AccountSnapshot(0, "USDT", 50_000.0, 50_000.0, 0.0, 0.0)
    parts = {"main": rich, "second": rich} if venues else {"main": rich}
    engine.on_venue(VenueSet({}, routes, lambda: 0).merged(parts))
    return engine


def _prices(engine: Engine, ts: int, prices: dict[Symbol, float]) -> None:
    for symbol, price in prices.items():
        engine.on_market(PriceObserved(ts, symbol, price))


def _all_but(*silent: Symbol) -> dict[Symbol, float]:
    return {symbol: price for symbol, price in PRICES.items() if symbol not in silent}


def _ordered(actions: list[Action]) -> set[Symbol]:
    return {action.request.symbol for action in actions if isinstance(action, PlaceOrder)}


def _notices(actions: list[Action], kind: str) -> list[RiskNotice]:
    return [action for action in actions if isinstance(action, RiskNotice) and action.kind == kind]


def test_a_venue_whose_prices_go_stale_holds_only_its_own_legs_and_the_book_stays_active() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(BTC))  # the second venue's market streams are silent; the rest flows
    actions = engine.on_time(LATE)
    assert engine.governor.state is TradingState.ACTIVE
    assert set(engine.decider.venue_held) == {BTC}
    assert "prices stale" in engine.decider.venue_held[BTC]
    assert set(engine.venues_stale) == {"second"}  # what `ctl status` shows on the venue's line
    [notice] = _notices(actions, "venue_down")
    assert notice.key == "second"
    assert "prices stale" in notice.message
    assert BTC in notice.message
    assert _ordered(actions) == {ETH, SOL}  # the main venue's leg trades (and takes over BTC's share); none to BTC


def test_the_hold_lifts_when_the_venue_s_prices_return() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(BTC))
    engine.on_time(LATE)
    _prices(engine, LATE + SECOND, PRICES)
    actions = engine.on_time(LATE + SECOND)
    assert engine.decider.venue_held == {}
    assert engine.governor.state is TradingState.ACTIVE
    [notice] = _notices(actions, "venue_down")
    assert notice.key == "second back"
    assert BTC in _ordered(actions)  # its leg trades again


def test_a_venue_held_for_stale_prices_that_then_goes_down_stays_held_without_a_fresh_notice() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(BTC))
    engine.on_time(LATE)
    engine.hold_venue_legs({BTC: "venue second down: REST fails"})  # as the shell's venue watch does
    _prices(engine, LATE + SECOND, _all_but(BTC))
    actions = engine.on_time(LATE + SECOND)
    assert engine.decider.venue_held == {BTC: "venue second down: REST fails"}
    assert not _notices(actions, "venue_down")
    assert engine.governor.state is TradingState.ACTIVE


def test_a_stale_leg_with_one_venue_still_gates_the_whole_book() -> None:
    engine = _engine(venues=False)
    _prices(engine, LATE, _all_but(BTC))
    actions = engine.on_time(LATE)
    assert engine.governor.state is TradingState.REDUCING
    assert engine.decider.venue_held == {}
    assert not _ordered(actions)


def test_one_stale_leg_among_fresh_ones_on_its_venue_still_gates_the_whole_book() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(SOL))  # SOL's stream alone: no venue outage, the main venue's ETH is fresh
    engine.on_time(LATE)
    assert engine.governor.state is TradingState.REDUCING
    assert engine.decider.venue_held == {}


def test_stale_legs_on_every_venue_still_gate_the_whole_book() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(BTC, ETH, SOL))
    engine.on_time(LATE)
    assert engine.governor.state is TradingState.REDUCING
    assert engine.decider.venue_held == {}


def test_a_stale_holding_still_gates_the_whole_book_even_with_a_venue_held() -> None:
    engine = _engine()
    _prices(engine, LATE, _all_but(BTC, BTC_SPOT))  # the second venue silent, and the BTC holding's price too
    engine.on_time(LATE)
    assert engine.governor.state is TradingState.REDUCING
    assert "price of BTC/USDT " in engine.governor.reason  # the holding's price, named
