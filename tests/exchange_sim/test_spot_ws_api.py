"""The simulator's spot WebSocket API user data stream, through an unmodified ccxt.pro `binance` client's
`watch_balance` (the protocol ccxt 4.5 speaks for spot: `userDataStream.subscribe.signature` on /ws-api/v3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.pro as ccxt_pro
import pytest
import pytest_asyncio

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import make_spot_client, wake_on_messages

XYZ = Symbol("XYZ/USDT")
pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    tape = [*priced(T0), PriceObserved(T0, XYZ, 1.25)]
    async with running_sim(SimSettings(spot_only=("XYZ",), spot_reserve=5_000.0), tape) as simulator:
        yield simulator


def spot_client(sim: ExchangeSim, secret: str = DEFAULT_API_SECRET) -> Any:
    return make_spot_client("binance", sim.base_url + "/spot", api_key=DEFAULT_API_KEY, secret=secret)


@pytest_asyncio.fixture
async def spot(sim: ExchangeSim) -> AsyncIterator[Any]:
    client = spot_client(sim)
    yield client
    await client.close()


async def watching(sim: ExchangeSim, client: Any) -> asyncio.Task[Any]:
    """A watch_balance under way, once its subscription is live at the simulator."""
    subscribed = sim.spot.ws_api.subscriptions
    task: asyncio.Task[Any] = asyncio.ensure_future(client.watch_balance())
    waiter = asyncio.ensure_future(sim.spot.ws_api.wait_subscriptions(subscribed + 1))
    await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert not task.done() or task.exception() is None, task.exception()
    return task


async def watch_until(client: Any, asset: str, total: float) -> None:
    """Until the balance ccxt holds shows `total` of `asset`, checked after every message the client handles:
    ccxt resolves a watch once per batch, and a message between two watches resolves none."""
    arrived = asyncio.Event()
    wake_on_messages(client, arrived)

    async def shown() -> None:
        while client.balance.get("spot", {}).get(asset, {}).get("total") != total:
            arrived.clear()
            await arrived.wait()

    await asyncio.wait_for(shown(), 10)


def ws_api_url(sim: ExchangeSim) -> str:
    return f"ws://127.0.0.1:{sim.port}/spot/ws-api/v3"


async def signed_params(sim: ExchangeSim, secret: str = DEFAULT_API_SECRET) -> dict[str, Any]:
    """apiKey, timestamp and signature as ccxt signs a WebSocket API request."""
    client = spot_client(sim, secret)
    try:
        return dict(client.sign_params({}))
    finally:
        await client.close()


async def test_point_at_sends_the_websocket_api_to_the_loopback_exchange(sim: ExchangeSim, spot: Any) -> None:
    assert spot.urls["api"]["ws"]["ws-api"]["spot"] == f"ws://127.0.0.1:{sim.port}/spot/ws-api/v3"


async def test_watch_balance_hears_a_deposit_at_once(sim: ExchangeSim, spot: Any) -> None:
    task = await watching(sim, spot)
    sim.spot.deposit("XYZ", Decimal("40"))
    await asyncio.wait_for(task, 10)  # resolved by the first message: the delta (a total ccxt cannot know) ...
    await watch_until(spot, "XYZ", 40.0)  # ... then the position, which sets it
    assert sim.spot.ws_api.events_sent == 2  # balanceUpdate, outboundAccountPosition


async def test_watch_balance_hears_a_withdrawal_and_a_transfer_to_futures(sim: ExchangeSim, spot: Any) -> None:
    sim.spot.deposit("XYZ", Decimal("40"))
    await watching(sim, spot)
    sim.spot.withdraw("XYZ", Decimal("15"))
    await watch_until(spot, "XYZ", 25.0)

    await spot.transfer("USDT", 1_000.0, "spot", "swap")
    await watch_until(spot, "USDT", 4_000.0)


async def test_a_wrong_signature_is_refused_as_binance_refuses_it(sim: ExchangeSim) -> None:
    signed = await signed_params(sim, secret="not-the-secret")
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_api_url(sim)) as ws:
        await ws.send_json({"id": "1", "method": "userDataStream.subscribe.signature", "params": signed})
        answer = await ws.receive_json(timeout=5)
    assert (answer["id"], answer["status"], answer["error"]["code"]) == ("1", 400, -1022)
    assert sim.spot.ws_api.subscriptions == 0


async def test_a_dropped_session_ends_the_watch_and_the_next_watch_subscribes_again(
    sim: ExchangeSim, spot: Any
) -> None:
    task = await watching(sim, spot)
    await sim.spot.ws_api.drop_all()
    with pytest.raises(ccxt_pro.NetworkError):
        await asyncio.wait_for(task, 10)
    await watching(sim, spot)
    sim.spot.deposit("XYZ", Decimal("2"))
    await watch_until(spot, "XYZ", 2.0)


async def test_a_session_logs_on_once_then_subscribes_without_signing_again(sim: ExchangeSim) -> None:
    logon = await signed_params(sim)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_api_url(sim)) as ws:
        await ws.send_json({"id": "a", "method": "userDataStream.subscribe", "params": {}})
        refused = await ws.receive_json(timeout=5)
        await ws.send_json({"id": "b", "method": "session.logon", "params": logon})
        logged_on = await ws.receive_json(timeout=5)
        await ws.send_json({"id": "c", "method": "userDataStream.subscribe", "params": {}})
        subscribed = await ws.receive_json(timeout=5)
        sim.spot.deposit("XYZ", "3")
        events = [json.loads((await ws.receive(timeout=5)).data) for _ in range(2)]
    assert (refused["status"], refused["error"]["code"]) == (400, -1102)
    assert (logged_on["status"], subscribed["status"]) == (200, 200)
    sub = subscribed["result"]["subscriptionId"]
    assert events == [
        {"subscriptionId": sub, "event": {**events[0]["event"], "e": "balanceUpdate", "a": "XYZ", "d": "3.00000000"}},
        {"subscriptionId": sub, "event": {**events[1]["event"], "e": "outboundAccountPosition",
                                          "B": [{"a": "XYZ", "f": "3.00000000", "l": "0.00000000"}]}},
    ]  # fmt: skip


async def test_a_deposit_made_over_the_simulators_own_wallet_endpoint_is_told_on_the_stream(
    sim: ExchangeSim, spot: Any
) -> None:
    await watching(sim, spot)
    headers = {"X-MBX-APIKEY": DEFAULT_API_KEY}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{sim.base_url}/sim/deposit?asset=XYZ&amount=12.5") as answer:
            deposited = await answer.json()
        await watch_until(spot, "XYZ", 12.5)
        async with http.post(
            f"{sim.base_url}/sim/earn/subscribe", data={"asset": "XYZ", "amount": "10", "kind": "locked"}
        ) as answer:
            staked = await answer.json()
        await watch_until(spot, "XYZ", 2.5)  # the spot side of a subscription: a transfer the stream tells
        async with http.post(f"{sim.base_url}/sim/withdraw?asset=XYZ&amount=99") as answer:
            short = (answer.status, (await answer.json())["code"])
    assert deposited["spot"] == "12.50000000"
    assert (staked["spot"], staked["earn_locked"]) == ("2.50000000", "10.00000000")
    assert short == (400, -2010)
