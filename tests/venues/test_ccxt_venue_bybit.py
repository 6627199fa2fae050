"""hedgebot's ccxt venue on Bybit, against the loopback exchange speaking Bybit v5 (bot/exchange_sim/bybit): what
the dialect (bot/venues/ccxt_dialect.py) adds for Bybit, seen through the venue's own calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.config import VenueSection
from bot.domain import ClientOrderId, FundingObserved, OrderRequest, OrderStatus, OrderType, Side, Symbol
from bot.exchange_sim.bybit import BybitSim
from bot.execution.venue_errors import OrderNotFound
from bot.testing.bybit import running_bybit_sim
from bot.testing.live import ManualClock
from bot.testing.loopback import T0
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

pytestmark = pytest.mark.asyncio
BTC = Symbol("BTC/USDT:USDT")
FAST = Backoff(initial_s=0.01, cap_s=0.05)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with running_bybit_sim() as simulator:
        yield simulator


def bybit_venue(sim: BybitSim) -> CcxtVenue:
    section = VenueSection(exchange="bybit", endpoint=sim.base_url)
    client = make_client(
        section, api_key=sim.settings.api_key, secret=sim.settings.api_secret, overrides={"enableRateLimit": False}
    )
    return CcxtVenue(client, [BTC], CcxtVenueSettings(leverage=5, backoff=FAST), clock=ManualClock(T0))


@pytest_asyncio.fixture
async def venue(sim: BybitSim) -> AsyncIterator[CcxtVenue]:
    live = bybit_venue(sim)
    await live.load_instruments(live.symbols)
    yield live
    await live.close()


def order(client_id: str, order_type: OrderType, qty: float, price: float | None = None) -> OrderRequest:
    return OrderRequest(ClientOrderId(client_id), BTC, Side.SELL, qty, order_type, price)


async def test_a_restarted_venue_sets_margin_mode_and_leverage_again_without_error_and_streams_live(
    sim: BybitSim, venue: CcxtVenue
) -> None:
    await venue.start()
    restarted = bybit_venue(sim)  # sets them again: Bybit answers 110043 "leverage not modified"
    try:
        await restarted.start()
        await asyncio.wait_for(restarted.wait_user_stream_live(), 10)  # its private topics subscribed and re-synced
    finally:
        await restarted.close()
    await asyncio.wait_for(venue.wait_user_stream_live(), 10)
    assert sim.exchange.account.leverage_of(BTC) == 5
    assert sim.exchange.account.margin_mode(BTC) == "cross"


async def test_an_order_is_read_back_and_cancelled_by_its_client_id_with_its_final_state(venue: CcxtVenue) -> None:
    created = await venue.create_order(order("hb-bybit-1", OrderType.LIMIT, 0.01, 31_000.0))
    resting = await venue.fetch_order(ClientOrderId("hb-bybit-1"), BTC)
    cancelled = await venue.cancel_order(ClientOrderId("hb-bybit-1"), BTC)
    assert created.status is OrderStatus.ACCEPTED  # Bybit's create answers ids only
    assert (resting.status, resting.exchange_id) == (OrderStatus.ACCEPTED, created.exchange_id)
    assert cancelled.status is OrderStatus.CANCELLED  # asked after the cancel: its answer has no state
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(ClientOrderId("never-sent"), BTC)


async def test_fills_and_funding_received_are_read_with_our_client_id_and_the_right_sign(
    sim: BybitSim, venue: CcxtVenue
) -> None:
    await venue.create_order(order("hb-bybit-2", OrderType.MARKET, 1.0))
    now = sim.exchange.now_ms
    sim.push(FundingObserved(now, BTC, 0.001, now, 8.0))  # settles now: the short receives
    fills = await venue.fetch_fills(T0)
    settled = await venue.fetch_funding_settlements(T0)
    account = await venue.fetch_account()
    assert [(f.client_id, f.qty, f.side) for f in fills] == [("hb-bybit-2", 1.0, Side.SELL)]
    assert [(s.symbol, s.rate, s.position_qty) for s in settled] == [(BTC, 0.001, -1.0)]
    assert settled[0].amount == pytest.approx(sim.exchange.account.funding_total)
    assert [(p.symbol, p.qty) for p in account.positions] == [(BTC, -1.0)]


async def test_the_funding_rate_accruing_is_read_with_its_settlement_time_and_interval(
    sim: BybitSim, venue: CcxtVenue
) -> None:
    rates = await venue.fetch_funding_rates()
    perpetual = sim.exchange.catalog.by_symbol(BTC)
    assert perpetual is not None
    state = sim.exchange.market.funding(perpetual)
    assert state is not None
    assert [(r.symbol, r.next_funding_ts, r.interval_hours) for r in rates] == [(BTC, state.next_ts, 8.0)]
    assert rates[0].rate == pytest.approx(state.rate)
