"""Live mode under exchange faults: the daemon trades through the real ccxt client against the loopback exchange
(bot/exchange_sim) while the exchange drops its websockets, goes silent, times out, rate-limits and refuses margin.

The session is the one `hedgebot run` wires, from bot/testing/live.py. Market time is the test's: a
manual clock is the daemon's and the venue's "now", and the prices the test pushes to the exchange carry it, so
sampling steps, clip intervals and staleness limits pass when the test says so, never by waiting for the wall
clock. Conditions are awaited by polling the daemon's status with a deadline. Outages (503s, storms, rejected
orders, a lost user stream) are in tests/test_outages.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.commands import SetHolding
from bot.domain import ClientOrderId
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import ORDER_PATH
from bot.live.exchange_plan import LiveTuning
from bot.testing.live import (
    ETH_PERP,
    FAST,
    GUARD_S,
    NO_THROTTLE,
    alert_inbox,
    config_for,
    created,
    exchange_with_history,
    rejected,
    trading,
    until,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange, having played 70 minutes of prices up to START (replaces the shared fixture)."""
    async with exchange_with_history() as simulator:
        yield simulator


# ---- the faults --------------------------------------------------------------------------------------------


async def test_dropped_websockets_reconnect_resync_and_the_hedge_follows_a_change_afterwards(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        first = await live.hedged("the first hedge")
        feed, venue = live.plan.feed, live.venue
        resyncs_before = feed.resyncs

        assert await sim.faults.drop_websockets() >= 2  # market streams and the user stream
        await until(lambda: feed.reconnects >= 1 and feed.resyncs > resyncs_before, "the market streams to resync")
        await asyncio.wait_for(sim.hub.wait_subscribed("ethusdt@markPrice@1s"), GUARD_S)  # on the new connection
        await asyncio.wait_for(venue.wait_user_stream_live(), GUARD_S)
        await live.at(2, eth=2_020.0)  # prices pushed after the drop arrive on the new connections
        await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
        await live.daemon.tick()
        after = await live.hedged("the hedge of 15 ETH, filled on the new user stream")

    assert first[ETH_PERP] < 0
    assert after[ETH_PERP] < first[ETH_PERP]
    assert sum(stats.reconnects for stats in venue.stats.values()) >= 1  # the user stream came back too
    assert venue.stats["my_trades"].updates >= 1  # fills came on the stream
    assert len(set(sim.sent_client_order_ids())) == len(sim.sent_client_order_ids()) == 2


async def test_silence_past_the_staleness_limit_stops_new_orders_until_prices_return(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        await live.hedged("the first hedge")
        sent = sim.sent_client_order_ids()

        sim.faults.silence(market=True, user=False)
        await live.at(2, eth=2_050.0, delivered=False)  # the exchange moves on, the streams say nothing
        await live.at(3.5, eth=2_050.0, delivered=False)  # 2.5 minutes after the last price: past max_price_age
        stale = live.status()
        await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
        await live.daemon.tick()
        held = live.status()
        assert sim.sent_client_order_ids() == sent  # nothing sent on prices it cannot trust

        sim.faults.speak()
        await live.at(5, eth=2_060.0)  # prices flow again, and a sampling step passes
        resumed = await live.hedged("the hedge of 15 ETH")

    assert (stale["state"], held["state"]) == ("reducing", "reducing")
    assert stale["state_reason"].startswith("stale:")
    assert ETH_PERP in stale["state_reason"]
    assert live.status()["state"] == "active"
    # the holding is valued at ETH's index and the hedge sized at the perpetual's price: when the hold lifts the
    # re-synced perpetual (2,050) may still trail the index's first print (2,060), a basis of 0.5 % at most here
    assert resumed[ETH_PERP] == pytest.approx(-15.0, rel=0.005)
    assert len(sim.sent_client_order_ids()) == len(sent) + 1


async def test_a_create_whose_answer_times_out_is_resolved_by_client_id_and_never_sent_twice(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    impatient = LiveTuning(ccxt_overrides={**NO_THROTTLE, "timeout": 1_000}, backoff=FAST.backoff, stall_timeout_s=None)
    sim.faults.timeout_after_accept()  # the exchange takes the first order and never answers
    async with trading(sim, config_for(sim, tmp_path), tmp_path, impatient) as live:
        await live.at(1, eth=2_010.0)
        positions = await live.hedged("the hedge, learnt by asking for the order")
        [client_id] = sim.sent_client_order_ids()
        journaled = live.journal.order(ClientOrderId(client_id))

    assert created(sim) == [client_id]
    assert journaled is not None
    assert journaled.status == "filled"
    assert positions[ETH_PERP] < 0


async def test_a_rate_limited_create_waits_as_asked_and_the_order_is_placed_once(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.faults.rate_limit(method="POST", path=ORDER_PATH)  # 429 with Retry-After: 1
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        positions = await live.hedged("the hedge after the rate limit")
        [client_id] = created(sim)
        journaled = live.journal.order(ClientOrderId(client_id))

    assert sim.sent_client_order_ids() == [client_id, client_id]  # refused unprocessed, then accepted
    assert journaled is not None
    assert journaled.status == "filled"
    assert positions[ETH_PERP] < 0


async def test_a_ban_longer_than_the_daemon_waits_rejects_the_clip_without_sending_it_again(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.faults.rate_limit(ban=True, method="POST", path=ORDER_PATH)  # 418 with Retry-After: 60
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:  # the hedge is sent at START
        [client_id] = await until(sim.sent_client_order_ids, "the order to be sent")
        journaled = await until(lambda: rejected(live.journal, client_id), "the rejection journaled")
        status = live.status()

    assert journaled.filled_qty == 0
    assert sim.sent_client_order_ids() == [client_id]  # a long ban is not waited out under the daemon's lock
    assert created(sim) == []
    assert status["positions"] == {}


async def test_margin_insufficient_stops_the_clip_and_alerts_the_operator(sim: ExchangeSim, tmp_path: Path) -> None:
    sim.faults.margin_insufficient()  # -2019 on the first order
    async with alert_inbox() as inbox:
        alerts = {"enabled": True, "webhook_url": inbox.url, "min_interval": "0s"}
        async with trading(sim, config_for(sim, tmp_path, alerts=alerts), tmp_path) as live:  # sent at START
            [text] = await until(lambda: [t for t in inbox.texts if "rejected" in t], "the rejection alert")
            [client_id] = sim.sent_client_order_ids()
            status = live.status()
            journaled = live.journal.order(ClientOrderId(client_id))

    assert "Margin is insufficient" in text
    assert client_id in text
    assert created(sim) == []
    assert status["positions"] == {}
    assert status["working_parents"] == []
    assert status["open_orders"] == 0
    assert journaled is not None
    assert journaled.status == "rejected"
