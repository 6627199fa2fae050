"""The simulator's websocket streams, driven by the real ccxt.pro binanceusdm client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import ccxt.pro as ccxt_pro
import pytest

from bot.domain import MS_PER_HOUR, BookObserved, FundingObserved, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
PERP = "BTC/USDT:USDT"
GUARD_S = 10.0  # a broken stream fails the test instead of hanging it; never a synchronisation delay
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, GUARD_S)


async def test_watch_mark_price_delivers_the_mark_with_funding_rate_and_next_funding_time(
    sim: ExchangeSim, clients: Any
) -> None:
    sim.push(FundingObserved(T0 + 1, Symbol(PERP), 0.0004, T0 + 8 * MS_PER_HOUR))
    ex = clients(sim, pro=True)
    first = await guarded(ex.watch_mark_price(PERP))  # the current value arrives on subscription
    sim.push(PriceObserved(T0 + 2, Symbol(PERP), 30_100.0))
    second = await guarded(ex.watch_mark_price(PERP))
    assert first["markPrice"] == 30_000.0
    assert (second["markPrice"], second["indexPrice"]) == (30_100.0, 30_000.0)
    assert (second["info"]["r"], second["info"]["T"]) == ("0.00040000", T0 + 8 * MS_PER_HOUR)


async def test_watch_bids_asks_and_watch_ticker_deliver_book_and_24h_figures(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim, pro=True)
    await guarded(ex.watch_bids_asks([PERP]))
    sim.push(BookObserved(T0 + 1, Symbol(PERP), 29_990.0, 1.5, 30_010.0, 2.5))
    quotes = await guarded(ex.watch_bids_asks([PERP]))
    ticker = await guarded(ex.watch_ticker("ETH/USDT:USDT"))
    quote = quotes[PERP]
    assert (quote["bid"], quote["bidVolume"], quote["ask"], quote["askVolume"]) == (
        29_990.0,
        1.5,
        30_010.0,
        2.5,
    )
    assert (ticker["symbol"], ticker["last"]) == ("ETH/USDT:USDT", 2_000.0)


async def test_the_user_stream_delivers_order_trade_updates_for_fills_and_account_updates(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim, pro=True)
    # ccxt's REST positions snapshot races the stream (on Binance too): read positions from the stream only
    ex.options["watchPositions"]["fetchPositionsSnapshot"] = False
    watching = asyncio.create_task(ex.watch_orders(PERP))
    await guarded(sim.hub.wait_user_connections(1))
    watching_positions = asyncio.create_task(ex.watch_positions([PERP]))  # waits from before the fill
    placed = await ex.create_order(PERP, "market", "buy", 0.02, None, {"clientOrderId": "streamed"})
    orders = await guarded(watching)
    while orders[-1]["status"] != "closed":
        orders = await guarded(ex.watch_orders(PERP))
    positions = await guarded(watching_positions)
    last = orders[-1]
    assert (last["id"], last["clientOrderId"], last["filled"], last["average"]) == (
        placed["id"],
        "streamed",
        0.02,
        30_000.0,
    )
    assert last["fee"] == {"cost": pytest.approx(0.02 * 30_000.0 * 4 / 1e4), "currency": "USDT"}
    assert [(p["symbol"], p["contracts"], p["side"]) for p in positions] == [(PERP, 0.02, "long")]


async def test_dropped_websockets_raise_network_error_and_watching_again_reconnects(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim, pro=True)
    await guarded(ex.watch_mark_price(PERP))
    pending = asyncio.create_task(ex.watch_mark_price(PERP))
    await guarded(sim.hub.wait_subscribed("btcusdt@markPrice@1s"))
    assert await sim.faults.drop_websockets() == 1
    with pytest.raises(ccxt_pro.NetworkError):
        await guarded(pending)
    await guarded(sim.hub.wait_connections(0))
    again = await guarded(ex.watch_mark_price(PERP))
    assert again["markPrice"] == 30_000.0
    assert sim.hub.connections_opened == 2


async def test_a_silent_stream_keeps_its_connection_but_sends_nothing_until_it_speaks(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim, pro=True)
    await guarded(ex.watch_mark_price(PERP))
    sim.faults.silence()
    queued = sim.hub.data_messages_queued
    sim.push(PriceObserved(T0 + 1, Symbol(PERP), 30_500.0))
    assert (sim.hub.data_messages_queued, sim.hub.open_connections) == (queued, 1)
    sim.faults.speak()
    sim.push(PriceObserved(T0 + 2, Symbol(PERP), 30_600.0))
    update = await guarded(ex.watch_mark_price(PERP))
    assert update["markPrice"] == 30_600.0  # the silenced 30,500 was never sent


async def test_an_expired_listen_key_closes_the_user_stream_and_its_keep_alive_fails(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim, pro=True)
    watching = asyncio.create_task(ex.watch_orders(PERP))
    await guarded(sim.hub.wait_user_connections(1))
    assert await sim.faults.expire_listen_key() == 1
    with pytest.raises(ccxt_pro.NetworkError):
        await guarded(watching)
    with pytest.raises(ccxt_pro.AuthenticationError, match="-1125"):
        await ex.fapiPrivatePutListenKey()
    fresh = await ex.fapiPrivatePostListenKey()
    assert fresh["listenKey"] != ex.options["linear"]["listenKey"]
    assert await ex.fapiPrivateDeleteListenKey() == {}
    with pytest.raises(ccxt_pro.AuthenticationError, match="-1125"):
        await ex.fapiPrivatePutListenKey()
