"""Public market data: trades, depth diffs with update ids, klines, combined streams, driven by real clients."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio

from bot.domain import MS_PER_MINUTE, BookObserved, MarketEvent, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
PERP = "BTC/USDT:USDT"
GUARD_S = 10.0  # a broken stream fails the test instead of hanging it; never a synchronisation delay
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, GUARD_S)


def second(n: int) -> list[MarketEvent]:
    """Second n of a wavy market: spot and perpetual, and a book whose sizes change every second."""
    ts = T0 + n * 1_000
    btc = round(30_000.0 + 25.0 * ((n % 20) - 10), 1)
    return [
        PriceObserved(ts, Symbol("BTC/USDT"), btc),
        BookObserved(ts, Symbol(PERP), btc - 0.1, 0.5 + (n % 7) / 10, btc + 0.1, 0.4 + (n % 5) / 10),
        PriceObserved(ts, Symbol("ETH/USDT"), 2_000.0),
        PriceObserved(ts, Symbol("ETH/USDT:USDT"), 2_000.0),
    ]


@pytest_asyncio.fixture
async def market() -> AsyncIterator[ExchangeSim]:
    """A simulator with a minute and a half of 1-second market steps queued; tests step it with `advance`."""
    tape = [event for n in range(90) for event in second(n)]
    simulator = ExchangeSim(SimSettings(quarterlies=False), tape)
    await simulator.start()
    await simulator.advance(4)  # the first second
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_a_ccxt_pro_order_book_keeps_updating_through_a_minute_of_trading(
    market: ExchangeSim, clients: Any
) -> None:
    ex = clients(market, pro=True)
    book = await guarded(ex.watch_order_book(PERP))
    nonces = [book["nonce"]]
    for _ in range(60):  # one simulated minute, a second at a time
        await market.advance(4)
        book = await guarded(ex.watch_order_book(PERP))
        nonces.append(book["nonce"])
    assert nonces == sorted(nonces)
    assert len(set(nonces)) > 50
    btc = market.exchange.catalog.by_id("BTCUSDT")
    assert btc is not None
    top = market.exchange.market.top(btc)
    assert top is not None
    assert (book["bids"][0][0], book["asks"][0][0]) == (top.bid, top.ask)
    rest = await ex.fetch_order_book(PERP, limit=5)
    assert [level[:2] for level in book["bids"][:5]] == [level[:2] for level in rest["bids"]]


async def test_public_trades_and_ohlcv_come_from_the_tape_of_the_market_and_the_account(
    market: ExchangeSim, clients: Any
) -> None:
    await market.advance(4 * 60)
    ex = clients(market)
    own = await ex.create_order(PERP, "market", "buy", 0.01)
    trades = await ex.fetch_trades(PERP, limit=1000)
    ids = [int(t["id"]) for t in trades]
    agg = await ex.fapiPublicGetAggTrades({"symbol": "BTCUSDT", "fromId": ids[-2]})
    assert [(a["a"], a["f"], a["l"]) for a in agg] == [(ids[-2],) * 3, (ids[-1],) * 3]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # consecutive per-symbol trade ids
    assert trades[-1]["amount"] == 0.01
    assert trades[-1]["side"] == "buy"
    assert float(trades[-1]["price"]) == own["average"]
    candles = await ex.fetch_ohlcv(PERP, "1m", since=T0)
    assert candles[0][0] == T0
    assert all(c[5] > 0 for c in candles)
    ticker = await ex.fetch_ticker(PERP)
    assert (ticker["info"]["firstId"], ticker["info"]["lastId"]) == (ids[0], ids[-1])


async def test_watch_trades_and_watch_ohlcv_follow_the_market(market: ExchangeSim, clients: Any) -> None:
    ex = clients(market, pro=True)
    subscribed = asyncio.ensure_future(ex.watch_trades(PERP))
    await guarded(market.hub.wait_subscribed("btcusdt@trade"))
    await market.advance(4)
    trades = await guarded(subscribed)
    assert trades
    assert trades[-1]["symbol"] == PERP
    first = await guarded(ex.watch_ohlcv(PERP, "1m"))
    await market.advance(4 * 60)  # to the first second of the next minute
    candles = await guarded(ex.watch_ohlcv(PERP, "1m"))
    assert (first[-1][0], candles[-1][0]) == (T0, T0 + MS_PER_MINUTE)
    last = market.exchange.public.tape(market.exchange.catalog.all()[0]).last
    assert last is not None
    assert candles[-1][4] == last.price


async def test_depth_diffs_chain_their_update_ids_from_the_rest_snapshot(market: ExchangeSim) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{market.port}/ws/btcusdt@depth@100ms")
        await guarded(market.hub.wait_subscribed("btcusdt@depth@100ms"))
        async with http.get(f"{market.base_url}/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as r:
            snapshot = await r.json()
        diffs = []
        for _ in range(5):
            await market.advance(4)
            diffs.append(json.loads((await guarded(ws.receive())).data))
        await ws.close()
    after = [d for d in diffs if d["u"] >= snapshot["lastUpdateId"]]
    assert after[0]["U"] <= snapshot["lastUpdateId"] + 1 <= after[0]["u"] + 1
    assert all(b["pu"] == a["u"] and b["U"] == a["u"] + 1 for a, b in itertools.pairwise(after))
    assert all(d["e"] == "depthUpdate" and d["s"] == "BTCUSDT" for d in diffs)


async def test_a_combined_stream_wraps_each_event_with_its_stream_name(market: ExchangeSim) -> None:
    names = "btcusdt@aggTrade/ethusdt@markPrice@1s/btcusdt@kline_1m"
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{market.port}/stream?streams={names}")
        await guarded(market.hub.wait_subscribed("btcusdt@kline_1m"))
        await market.advance(4)
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 3:
            message = json.loads((await guarded(ws.receive())).data)
            seen[message["stream"]] = message["data"]
        await ws.close()
    assert (seen["btcusdt@aggTrade"]["e"], seen["ethusdt@markPrice@1s"]["e"]) == ("aggTrade", "markPriceUpdate")
    kline = seen["btcusdt@kline_1m"]["k"]
    assert (kline["i"], kline["s"], kline["x"]) == ("1m", "BTCUSDT", False)


async def test_a_listen_key_subscribed_on_a_market_connection_carries_the_user_data(
    market: ExchangeSim, clients: Any
) -> None:
    ex = clients(market)
    key = (await ex.fapiPrivatePostListenKey())["listenKey"]
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{market.port}/ws")
        await ws.send_json({"method": "SUBSCRIBE", "params": [key], "id": 7})
        assert json.loads((await guarded(ws.receive())).data) == {"result": None, "id": 7}
        await ex.create_order(PERP, "market", "sell", 0.01, None, {"clientOrderId": "over-subscribe"})
        event = json.loads((await guarded(ws.receive())).data)
        await ws.close()
    assert (event["e"], event["o"]["c"], event["o"]["x"]) == ("ORDER_TRADE_UPDATE", "over-subscribe", "NEW")
