"""Live mode through exchange outages: 503s on a create, REST 5xx and rate-limit storms, rejected orders, and a
user stream lost or silent while orders work. The daemon trades through the real ccxt client against the loopback
exchange (bot/testing/live.py: market time moved by the test, conditions polled with a deadline).

What every test shows at the end (`Ledger.problems`): no client order id sent twice (bar the refusals a 429
allows to be sent again), every execution at the exchange journaled and applied exactly once, and the engine's,
the journal's and the exchange's positions equal. Where trading is unsafe the daemon is halted or reducing with
the reason in its status, and it recovers without an operator once the exchange is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio

from bot.domain import ClientOrderId
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import ORDER_PATH
from bot.testing.live import (
    ETH_PERP,
    Live,
    alert_inbox,
    config_for,
    created,
    exchange_with_history,
    ledger,
    trading,
    until,
)

pytestmark = pytest.mark.asyncio

LISTEN_KEY_PATH = "/fapi/v1/listenKey"
RESTING = {"order_type": "limit", "post_only": True, "limit_offset_bps": 10.0}  # sells rest 10 bps over the mark


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange, having played 70 minutes of prices up to START (replaces the shared fixture)."""
    async with exchange_with_history() as simulator:
        yield simulator


def queried(sim: ExchangeSim) -> list[str]:
    """Client ids the daemon asked the exchange about (GET /fapi/v1/order by origClientOrderId)."""
    return [r.client_order_id for r in sim.order_requests if r.method == "GET" and r.client_order_id]


def state_of(live: Live) -> str:
    return str(live.status()["state"])


@asynccontextmanager
async def first_clip_filled(sim: ExchangeSim, tmp_path: Path) -> AsyncIterator[Live]:
    """A session whose 10 ETH hedge (≈ 20,100) goes in three clips (3.98, 3.98, 2.04), the first one filled."""
    async with trading(sim, config_for(sim, tmp_path, execution={"clip_notional": 8_000.0}), tmp_path) as live:
        first = await live.hedged("the first clip, sent at START")
        assert first[ETH_PERP] == -3.98
        yield live


async def hedge_completes(live: Live, start: float, eth: float = 2_010.0) -> dict[str, float]:
    """Let market time pass from minute `start` in clip intervals until the whole 10 ETH hedge is on."""
    for step in range(12):
        await live.at(start + step / 2, eth=eth)
        if live.positions().get(ETH_PERP) == -10.0:
            break
    return await live.hedged("the whole hedge, positions equal to the exchange's")


# ---- 503 answering an order create --------------------------------------------------------------------------


@pytest.mark.parametrize("json_body", [False, True], ids=["plain-text", "json-1001"])
async def test_a_create_answered_503_after_the_exchange_took_it_is_learnt_by_client_id_and_never_sent_again(
    sim: ExchangeSim, tmp_path: Path, json_body: bool
) -> None:
    sim.faults.unavailable(json_body=json_body, method="POST", path=ORDER_PATH, after_processing=True)
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:  # the hedge is sent at START
        positions = await live.hedged("the hedge, learnt by asking for the order")
        [client_id] = sim.sent_client_order_ids()
        journaled = live.journal.order(ClientOrderId(client_id))
        status, book = live.status(), ledger(live)

    assert queried(sim) == [client_id]  # the 503 left the outcome unknown: asked for, by its client order id
    assert journaled is not None
    assert journaled.status == "filled"
    assert status["state"] == "active"  # the answer came at once: nothing to hold for
    assert positions[ETH_PERP] == -10.0
    assert book.problems() == []


@pytest.mark.parametrize("json_body", [False, True], ids=["plain-text", "json-1001"])
async def test_a_create_answered_503_that_never_reached_the_exchange_halts_until_it_is_declared_lost_then_hedges(
    sim: ExchangeSim, tmp_path: Path, json_body: bool
) -> None:
    sim.faults.unavailable(json_body=json_body, method="POST", path=ORDER_PATH)
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:  # the hedge is sent at START
        [lost] = sim.sent_client_order_ids()
        waiting = live.status()  # not found yet, but its request window is open: it could still arrive
        await live.at(0.5, eth=2_010.0)  # reconcile_retry (30 s) later, past the request window (10 s + 2 s)
        await until(lambda: state_of(live) == "active", "the reconciliation that declares the order lost")
        [journaled] = [row for row in live.journal.rows("orders") if row["client_id"] == lost]
        positions = await hedge_completes(live, start=1)
        book = ledger(live)

    assert queried(sim)[0] == lost  # asked for by client order id at once ...
    assert lost not in created(sim)  # ... and never sent again: the hedge went out under a new id
    assert (waiting["state"], waiting["open_orders"]) == ("halted", 1)
    assert f"order {lost} outcome unknown: no trace at the venue yet" in waiting["state_reason"]
    assert journaled["status"] == "rejected"
    assert journaled["reason"] == "never reached the venue (no trace at reconciliation)"
    assert positions[ETH_PERP] == -10.0
    assert book.problems() == []


# ---- storms ---------------------------------------------------------------------------------------------------


async def test_a_rest_5xx_storm_while_a_parent_works_halts_with_the_reason_and_the_hedge_completes_once_it_ends(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with first_clip_filled(sim, tmp_path) as live:
        sim.faults.unavailable(times=None)  # every REST request: 503
        await live.at(1.5, eth=2_010.0)  # the second clip falls due: its create and the question after it get 503
        during = live.status()
        [_, unknown] = sim.sent_client_order_ids()
        await live.at(2.5, eth=2_010.0)  # still down when reconciliation retries (every reconcile_retry, 30 s)
        retried = await until(lambda: live.journal.rows("reconciliations")[1:], "a reconciliation retried")
        still = live.status()
        sent_during = sim.sent_client_order_ids()

        sim.faults.clear()  # the exchange is back
        await live.at(3, eth=2_010.0)
        await until(lambda: state_of(live) == "active", "trading to resume by itself")
        positions = await hedge_completes(live, start=3.5)
        journaled = live.journal.order(ClientOrderId(unknown))
        book = ledger(live)

    assert (during["state"], during["open_orders"]) == ("halted", 1)  # the unknown clip stays open, in flight
    assert f"order {unknown} outcome unknown: the venue cannot be asked" in during["state_reason"]
    assert "503" in during["state_reason"]
    assert retried[0]["outcome"] == "failed"
    assert still["state"] == "halted"
    assert "reconciliation failed, venue unreachable" in still["state_reason"]
    assert len(sent_during) == 2  # nothing but the clip that met the storm
    assert journaled is not None
    assert journaled.status == "rejected"  # it never arrived: declared lost once the exchange could say so
    assert positions[ETH_PERP] == -10.0
    assert book.problems() == []


async def test_a_rate_limit_storm_backs_off_longer_each_time_sends_nothing_meanwhile_and_the_hedge_completes(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with first_clip_filled(sim, tmp_path) as live:
        sim.faults.rate_limit(times=None, retry_after_s=0)  # 429 on every REST request
        reasons = []
        for minute in (1.5, 2, 2.5):  # each time the back-off is over, one clip tries and is refused again
            await live.at(minute, eth=2_010.0)
            reasons.append(live.status()["state_reason"])
        refused = list(dict.fromkeys(sim.sent_client_order_ids()[1:]))
        await live.at(3, eth=2_010.0)  # inside the third back-off (40 s from 2.5): no request at all
        held = live.status()
        sent_while_held = sim.sent_client_order_ids()

        sim.faults.clear()
        positions = await hedge_completes(live, start=3.5)
        book = ledger(live)

    assert [reason.split(";")[-1].split(",")[0] for reason in reasons] == [
        " no order for 10s",
        " no order for 20s",
        " no order for 40s",
    ]
    assert all(reason.startswith("rate-limited by the venue") and "429" in reason for reason in reasons)
    assert held["state"] == "halted"
    assert sent_while_held == sim.sent_client_order_ids()[: len(sent_while_held)]
    assert len(sent_while_held) == 1 + 3 * len(refused)  # each refused clip: the venue edge's three tries
    assert not set(refused) & set(created(sim))
    assert positions[ETH_PERP] == -10.0
    assert book.problems(resent=refused) == []  # sent again only after a 429: refused unprocessed


# ---- an order the exchange rejects ----------------------------------------------------------------------------


async def test_an_order_the_exchange_rejects_is_alerted_never_resent_and_the_next_sampling_step_hedges_anew(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.faults.reject_orders()  # -2010 on the first create
    async with alert_inbox() as inbox:
        alerts = {"enabled": True, "webhook_url": inbox.url, "min_interval": "0s"}
        async with trading(sim, config_for(sim, tmp_path, alerts=alerts), tmp_path) as live:
            [text] = await until(lambda: inbox.containing("rejected"), "the rejection alert")  # sent at START
            [refused] = sim.sent_client_order_ids()
            after = live.status()
            await live.at(1, eth=2_010.0)  # the next sampling step: the band is still breached
            positions = await live.hedged("the hedge, by a new decision")
            journaled = live.journal.order(ClientOrderId(refused))
            book = ledger(live)

    assert "-2010" in text
    assert refused in text
    assert after["state"] == "active"  # one refusal is the exchange's answer about one order, not an outage
    assert (after["working_parents"], after["open_orders"], after["positions"]) == ([], 0, {})
    assert journaled is not None
    assert journaled.status == "rejected"
    assert refused not in created(sim)
    assert positions[ETH_PERP] == -10.0
    assert book.problems() == []


# ---- the user stream lost or silent while orders work ----------------------------------------------------------


async def listen_key_expired(sim: ExchangeSim) -> int:
    """The listen key expires and no new one is given for now."""
    sim.faults.unavailable(times=None, method="POST", path=LISTEN_KEY_PATH)
    return await sim.faults.expire_listen_key()


async def sockets_dropped(sim: ExchangeSim) -> int:
    """Every websocket is dropped and the user stream's cannot connect again for now."""
    sim.faults.unavailable(times=None, path="/private/ws")
    return await sim.faults.drop_websockets()


@pytest.mark.parametrize("lose", [listen_key_expired, sockets_dropped], ids=["listen-key-expired", "sockets-dropped"])
async def test_a_resting_clip_that_fills_while_the_user_stream_is_down_holds_reducing_and_is_applied_once_after(
    sim: ExchangeSim, tmp_path: Path, lose: Callable[[ExchangeSim], Awaitable[int]]
) -> None:
    async with trading(sim, config_for(sim, tmp_path, execution=RESTING), tmp_path) as live:
        [resting] = await until(lambda: [o for o in sim.exchange.orders() if o.is_open], "the clip resting")

        assert await lose(sim) >= 1
        await until(live.venue.user_stream_down, "the user stream to be down")
        await live.at(1.5, eth=2_020.0)  # the mark runs through the resting sell: it fills, unheard
        unheard = live.status()

        sim.faults.clear()  # the user stream reconnects (with a new listen key) and re-syncs by REST
        positions = await live.hedged("the fill, learnt on the re-sync")
        await until(lambda: live.venue.user_stream_down() is None, "every user stream live again")
        await live.at(2, eth=2_020.0)
        after = live.status()
        book = ledger(live)

    assert not resting.is_open
    assert (unheard["open_orders"], unheard["positions"]) == (1, {})  # the engine could not know yet
    assert unheard["state"] == "reducing"  # down past the grace: nothing adds exposure on fills it cannot hear
    assert unheard["state_reason"].startswith("user stream down since 2026-01-01 00:00:00 UTC")
    assert after["state"] == "active"
    assert positions[ETH_PERP] == -resting.qty
    assert book.problems() == []


async def test_a_clip_that_fills_while_the_user_stream_is_silent_is_never_traded_again_and_its_fill_counts_once(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with first_clip_filled(sim, tmp_path) as live:
        sim.faults.silence(market=False, user=True)  # the connection stays open; nothing comes on it
        for minute in (1.5, 2, 2.5):  # the other two clips go out; their answers say filled, no fill follows
            await live.at(minute, eth=2_010.0)
        unheard = live.status()
        sent = sim.sent_client_order_ids()
        for minute in (3.5, 4.5, 5.5):  # reconciliation (every 5 minutes) fetches the fills the stream missed
            await live.at(minute, eth=2_010.0)
        caught_up = await live.hedged("the missed fills, applied by reconciliation")

        sim.faults.speak()
        assert await sim.faults.drop_websockets() >= 1  # a reconnect re-syncs the same fills: already applied
        await until(lambda: live.venue.stats["my_trades"].resyncs >= 2, "the user stream to re-sync")
        await live.at(6, eth=2_010.0)
        book = ledger(live)

    assert len(sent) == 3  # no clip traded the silent fills again
    assert (unheard["positions"], unheard["open_orders"], unheard["working_parents"]) == (
        {ETH_PERP: -3.98},
        0,
        [],
    )
    assert caught_up[ETH_PERP] == -10.0
    assert book.problems() == []
