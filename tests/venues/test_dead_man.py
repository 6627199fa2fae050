"""The dead-man's switch (bot/venues/dead_man.py) through the real ccxt client against the loopback exchange,
whose countdown clock the test moves (`ExchangeSim(countdown_clock=...)`): what is armed, when it is renewed,
what the exchange cancels when it runs out, and the disarm of a stop that leaves its orders."""

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
from bot.venues.dead_man import DeadManSettings, DeadManSwitch

pytestmark = pytest.mark.asyncio

ETH_PERP, BTC_PERP = Symbol("ETH/USDT:USDT"), Symbol("BTC/USDT:USDT")
NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}
ARMED = DeadManSettings(countdown_ms=60_000, renew_ms=15_000)
EXCHANGE_NOW = 1_000_000  # the exchange's countdown clock when a test starts


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange at T0 (ETH 2,000), its countdowns on a clock the test moves."""
    tape = list(priced(T0))
    simulator = ExchangeSim(SimSettings(), tape, countdown_clock=ManualClock(EXCHANGE_NOW))
    await simulator.start()
    await simulator.advance(len(tape))
    try:
        yield simulator
    finally:
        await simulator.stop()


def exchange_clock(sim: ExchangeSim) -> ManualClock:
    assert isinstance(sim.countdown_clock, ManualClock)
    return sim.countdown_clock


@pytest_asyncio.fixture
async def venue(sim: ExchangeSim) -> AsyncIterator[CcxtVenue]:
    """The live venue with the switch on (60 s countdown, renewed every 15 s), started."""
    client = make_client(
        VenueSection(endpoint=sim.base_url),
        api_key=sim.settings.api_key,
        secret=sim.settings.api_secret,
        overrides=NO_THROTTLE,
    )
    settings = CcxtVenueSettings(leverage=5, backoff=Backoff(initial_s=0.005, cap_s=0.05), dead_man=ARMED)
    live = CcxtVenue(client, [BTC_PERP, ETH_PERP], settings, clock=EventClock(T0))
    await live.start()
    try:
        yield live
    finally:
        await live.close()


def resting_buy(client_id: str) -> OrderRequest:
    """A post-only buy 5 % under ETH's 2,000: it rests."""
    return OrderRequest(ClientOrderId(client_id), ETH_PERP, Side.BUY, 0.1, OrderType.LIMIT, 1_900.0, post_only=True)


class Ticks:
    """The switch's own clock (when it last armed a symbol), moved by the test."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


async def test_a_create_arms_its_symbols_countdown_at_the_exchange_before_the_order_is_sent(
    sim: ExchangeSim, venue: CcxtVenue
) -> None:
    assert sim.countdowns.armed() == {}
    await venue.create_order(resting_buy("dm-1"))

    assert sim.countdowns.armed() == {"ETHUSDT": EXCHANGE_NOW + 60_000}
    assert [o.client_id for o in sim.exchange.orders(open_only=True)] == ["dm-1"]


async def test_the_exchange_cancels_a_resting_order_once_its_countdown_runs_out_unrenewed(
    sim: ExchangeSim, venue: CcxtVenue
) -> None:
    await venue.create_order(resting_buy("dm-2"))
    await venue.dead_man.stop()  # the daemon "dies": nothing renews any more

    exchange_clock(sim).now += 59_999
    assert sim.expire_countdowns() == []  # a millisecond early: still resting
    exchange_clock(sim).now += 1
    assert sim.expire_countdowns() == ["ETHUSDT"]

    [order] = sim.exchange.orders()
    assert (order.client_id, order.status, order.executed_qty) == ("dm-2", "CANCELED", 0)


async def test_renewals_go_out_at_most_every_renew_interval_and_only_for_symbols_with_orders_resting(
    sim: ExchangeSim, venue: CcxtVenue
) -> None:
    ticks, clock = Ticks(), exchange_clock(sim)
    switch = DeadManSwitch(venue.client, ARMED, now_ms=ticks)

    await switch.beat([ETH_PERP])
    assert sim.countdowns.armed() == {"ETHUSDT": EXCHANGE_NOW + 60_000}
    ticks.now, clock.now = 14_999, EXCHANGE_NOW + 14_999
    await switch.beat([ETH_PERP])
    assert sim.countdowns.armed() == {"ETHUSDT": EXCHANGE_NOW + 60_000}  # not renewed yet: too soon
    ticks.now, clock.now = 15_000, EXCHANGE_NOW + 15_000
    await switch.beat([ETH_PERP])
    await switch.before_create(ETH_PERP)  # armed this instant: no second request
    assert sim.countdowns.armed() == {"ETHUSDT": EXCHANGE_NOW + 75_000}
    assert switch.armed == {ETH_PERP: 15_000}
    await switch.beat([])  # nothing resting: BTC is never armed, ETH's countdown is left to run out
    assert sim.countdowns.armed() == {"ETHUSDT": EXCHANGE_NOW + 75_000}


async def test_disarm_sets_every_armed_countdown_to_zero_and_nothing_arms_again(
    sim: ExchangeSim, venue: CcxtVenue
) -> None:
    await venue.create_order(resting_buy("dm-3"))
    await venue.dead_man.disarm()
    await venue.create_order(resting_buy("dm-4"))  # a create after the disarm (a stop racing a clip)

    assert sim.countdowns.armed() == {}
    exchange_clock(sim).now += 3_600_000
    assert sim.expire_countdowns() == []
    assert [o.client_id for o in sim.exchange.orders(open_only=True)] == ["dm-3", "dm-4"]


async def test_the_switch_stays_off_on_an_exchange_without_countdown_cancel_all() -> None:
    client = make_client(VenueSection(exchange="bybit"), overrides=NO_THROTTLE)
    try:
        switch = DeadManSwitch(client, ARMED)
        switch.start(lambda: [ETH_PERP])
        await switch.before_create(ETH_PERP)  # no request: the client has no such endpoint to call
        assert (switch.on, switch.armed, switch.failures) == (False, {}, 0)
    finally:
        await client.close()
