"""The loopback exchange's Bybit v5 websockets (bot/exchange_sim/bybit/streams.py), driven by the real ccxt.pro
`bybit` client: public tickers, best bid/ask and klines, the private order, execution, position and wallet
topics. Each watch is started, its subscription awaited at the simulator, then the market or an order moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import ccxt
import pytest
import pytest_asyncio

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim.bybit import BybitSim
from bot.testing.bybit import bybit_client, running_bybit_sim
from bot.testing.loopback import T0

pytestmark = pytest.mark.asyncio
BTC = Symbol("BTC/USDT:USDT")
T = TypeVar("T")


async def guarded(waiting: Awaitable[T]) -> T:
    return await asyncio.wait_for(waiting, 10)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with running_bybit_sim() as simulator:
        yield simulator


@pytest_asyncio.fixture
async def client(sim: BybitSim) -> AsyncIterator[Any]:
    exchange = bybit_client(sim, watchPositions={"fetchPositionsSnapshot": False})
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def watching(sim: BybitSim, topic: str, watch: Awaitable[T]) -> asyncio.Task[T]:
    """`watch` running, once the simulator has its subscription to `topic`."""
    task = asyncio.ensure_future(watch)
    await sim.bybit.wait_subscribed(topic)
    return task


async def test_a_ticker_arrives_when_subscribed_and_again_when_the_price_moves(sim: BybitSim, client: Any) -> None:
    first = await guarded(client.watch_ticker(BTC))
    sim.push(PriceObserved(T0 + 1_000, BTC, 30_150.0))
    moved = await guarded(client.watch_ticker(BTC))
    assert first["markPrice"] == 30_000.0
    assert moved["markPrice"] == 30_150.0
    assert moved["timestamp"] == T0 + 1_000
    assert moved["info"]["fundingRate"]


async def test_best_bid_and_ask_and_klines_follow_the_market(sim: BybitSim, client: Any) -> None:
    await guarded(client.watch_bids_asks([BTC]))
    candles = await watching(sim, "kline.1.BTCUSDT", client.watch_ohlcv(BTC, "1m"))
    sim.push(PriceObserved(T0 + 1_000, BTC, 30_150.0))
    book = await guarded(client.watch_bids_asks([BTC]))
    latest = (await guarded(candles))[-1]
    assert book[BTC]["bid"] < book[BTC]["ask"]
    assert abs(book[BTC]["ask"] - 30_150.0) < 1.0
    assert latest[4] == 30_150.0


async def test_a_fill_reaches_the_order_and_execution_topics_with_the_client_order_id(
    sim: BybitSim, client: Any
) -> None:
    orders = await watching(sim, "order", client.watch_orders(BTC))
    trades = await watching(sim, "execution", client.watch_my_trades(BTC))
    await client.create_order(BTC, "market", "sell", 0.2, None, {"clientOrderId": "ws-1"})
    seen = await guarded(orders)
    while seen[-1]["status"] != "closed":  # "New" first, then "Filled"
        seen = await guarded(client.watch_orders(BTC))
    fills = await guarded(trades)
    assert (seen[-1]["clientOrderId"], seen[-1]["filled"]) == ("ws-1", 0.2)
    assert [(t["info"]["orderLinkId"], t["amount"], t["side"]) for t in fills] == [("ws-1", 0.2, "sell")]
    assert str(sim.exchange.trades()[0].trade_id) == fills[0]["id"]


async def test_a_fill_updates_the_position_and_wallet_topics(sim: BybitSim, client: Any) -> None:
    positions = await watching(sim, "position", client.watch_positions([BTC]))
    balances = await watching(sim, "wallet", client.watch_balance())
    await client.create_order(BTC, "market", "buy", 0.3, None, {"clientOrderId": "ws-2"})
    held = await guarded(positions)
    balance = await guarded(balances)
    assert [(p["symbol"], p["side"], p["contracts"]) for p in held] == [(BTC, "long", 0.3)]
    assert balance["USDT"]["total"] == pytest.approx(sim.exchange.account.wallet_balance)


async def test_a_private_stream_refuses_a_login_signed_with_the_wrong_secret(sim: BybitSim, client: Any) -> None:
    wrong = bybit_client(sim, secret="not-the-secret", enableUnifiedMargin=False, enableUnifiedAccount=True)
    wrong.set_markets(list(client.markets.values()), client.currencies)  # its own load would fail at REST first
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await guarded(wrong.watch_orders(BTC))
    finally:
        await wrong.close()
