"""The dead-man's switch (bot/venues/dead_man.py) on Binance COIN-M: the live venue on the real ccxt `binancecoinm`
arms `/dapi/v1/countdownCancelAll` for the inverse perpetual it rests an order on, and the loopback exchange
cancels that order when the countdown runs out unrenewed (its countdown clock moved by the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.clock import EventClock
from bot.config import VenueSection
from bot.domain import ClientOrderId, OrderRequest, OrderType, Side, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.testing.live import ManualClock
from bot.testing.loopback import T0, priced
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings
from bot.venues.dead_man import DeadManSettings

pytestmark = pytest.mark.asyncio

ETH_INV = Symbol("ETH/USD:ETH")
EXCHANGE_NOW = 1_000_000


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange serving ETHUSD_PERP on COIN-M (ETH 2,000), its countdowns on a clock the test moves."""
    tape = list(priced(T0))
    async with ExchangeSim(SimSettings(coinm_bases=("ETH",)), tape, countdown_clock=ManualClock(EXCHANGE_NOW)) as s:
        await s.advance(len(tape))
        yield s


@pytest_asyncio.fixture
async def venue(sim: ExchangeSim) -> AsyncIterator[CcxtVenue]:
    """The live venue on binancecoinm with the switch on (60 s countdown, renewed every 15 s), started."""
    section = VenueSection(exchange="binancecoinm", endpoint=f"{sim.base_url}/coinm")
    client = make_client(section, api_key=sim.settings.api_key, secret=sim.settings.api_secret,
                         overrides={"enableRateLimit": False, "timeout_on_exit": 0})  # fmt: skip
    settings = CcxtVenueSettings(
        leverage=5, backoff=Backoff(initial_s=0.005, cap_s=0.05), dead_man=DeadManSettings(60_000, 15_000)
    )
    live = CcxtVenue(client, [ETH_INV], settings, clock=EventClock(T0))
    await live.start()
    try:
        yield live
    finally:
        await live.close()


async def test_on_coin_m_a_resting_order_arms_the_countdown_and_is_cancelled_when_it_runs_out_unrenewed(
    sim: ExchangeSim, venue: CcxtVenue
) -> None:
    buy = OrderRequest(ClientOrderId("dm-coinm"), ETH_INV, Side.BUY, 10, OrderType.LIMIT, 1_900.0, post_only=True)
    await venue.create_order(buy)
    armed = sim.coinm.countdowns.armed()
    await venue.dead_man.stop()  # the daemon "dies": nothing renews any more
    assert isinstance(sim.countdown_clock, ManualClock)
    sim.countdown_clock.now += 60_000
    expired = sim.expire_countdowns()

    assert venue.dead_man.on
    assert armed == {"ETHUSD_PERP": EXCHANGE_NOW + 60_000}  # armed before the order was sent
    assert expired == ["ETHUSD_PERP"]
    [order] = sim.coinm.desk.engines["ETH"].orders()
    assert (order.client_id, order.status, order.executed_qty) == ("dm-coinm", "CANCELED", 0)
