"""The venue set: requests routed by symbol to the venue that trades it, accounts merged, a venue down refused."""

from __future__ import annotations

import pytest

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    OrderRequest,
    OrderStatus,
    Position,
    PriceObserved,
    Side,
    Symbol,
)
from bot.execution.market_rules import default_instrument
from bot.execution.venue_errors import Retryable
from bot.execution.venue_routes import VenueRoutes
from bot.venues.paper import PaperSettings, PaperVenue
from bot.venues.venue_set import VenueDown, VenueSet

pytestmark = pytest.mark.asyncio
BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
T0 = 1_700_000_000_000


def _venues() -> tuple[VenueSet, PaperVenue, PaperVenue]:
    main = PaperVenue(PaperSettings(collateral=10_000.0), {ETH: default_instrument(ETH)})
    second = PaperVenue(PaperSettings(collateral=5_000.0), {BTC: default_instrument(BTC)})
    routes = VenueRoutes([BTC, ETH], {BTC: "second"})
    venues = VenueSet({"main": main, "second": second}, routes, lambda: T0)
    venues.on_market(PriceObserved(T0, BTC, 30_000.0))
    venues.on_market(PriceObserved(T0, ETH, 2_000.0))
    return venues, main, second


def _sell(cid: str, symbol: Symbol, qty: float) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), symbol, Side.SELL, qty)


async def test_each_order_goes_to_the_venue_that_trades_its_symbol() -> None:
    venues, main, second = _venues()
    await venues.create_order(_sell("e1", ETH, 1.0))
    await venues.create_order(_sell("b1", BTC, 0.1))
    assert [p.symbol for p in main.account.positions()] == [ETH]
    assert [p.symbol for p in second.account.positions()] == [BTC]
    fills = [e for e in venues.drain() if isinstance(e, Fill)]
    assert sorted(f.client_id for f in fills) == ["b1", "e1"]
    assert (await venues.fetch_order(ClientOrderId("b1"), BTC)).status is OrderStatus.FILLED


async def test_the_merged_account_sums_equity_and_keeps_each_venues_positions_and_snapshot() -> None:
    venues, _main, _second = _venues()
    await venues.create_order(_sell("e1", ETH, 1.0))
    await venues.create_order(_sell("b1", BTC, 0.1))
    whole = await venues.fetch_account()
    assert whole.equity == pytest.approx(venues.snapshots["main"].equity + venues.snapshots["second"].equity)
    assert whole.equity == pytest.approx(15_000.0, rel=1e-3)
    assert {p.symbol for p in whole.positions} == {BTC, ETH}
    assert [p.symbol for p in venues.snapshots["second"].positions] == [BTC]


class _Unreachable(PaperVenue):
    async def fetch_account(self) -> AccountSnapshot:
        raise Retryable("connection refused")


async def test_a_venue_whose_account_cannot_be_read_is_down_stands_at_its_last_snapshot_and_gets_no_order() -> None:
    venues, _main, _second = _venues()
    last = AccountSnapshot(T0 - 60_000, "USDT", 5_000.0, 5_000.0, 0.0, 0.0, (Position(BTC, -0.1, 30_000.0),))
    venues.members["second"] = _Unreachable(PaperSettings(), {BTC: default_instrument(BTC)})
    venues.snapshots["second"] = last
    whole = await venues.fetch_account()
    assert "second" in venues.down
    assert "connection refused" in venues.down["second"][1]
    assert whole.ts == venues.snapshots["main"].ts  # the down venue's old snapshot makes nothing look stale
    assert Position(BTC, -0.1, 30_000.0) in whole.positions  # its positions kept
    with pytest.raises(VenueDown, match="venue 'second' is down"):
        await venues.create_order(_sell("b2", BTC, 0.1))
    await venues.create_order(_sell("e2", ETH, 1.0))  # the other venue trades on
    venues.mark_up("second")
    assert "second" not in venues.down


async def test_every_venue_unreachable_is_the_venue_away() -> None:
    routes = VenueRoutes([BTC, ETH], {BTC: "second"})
    down = {name: _Unreachable(PaperSettings(), {}) for name in ("main", "second")}
    with pytest.raises(Retryable):
        await VenueSet(dict(down), routes, lambda: T0).fetch_account()
