"""The simulator's Binance spot API, through an unmodified ccxt `binance` client and a raw websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest
import pytest_asyncio

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, ccxt_config
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import make_spot_client

XYZ = Symbol("XYZ/USDT")
pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    tape = [*priced(T0), PriceObserved(T0, XYZ, 1.2345)]
    async with running_sim(SimSettings(spot_only=("XYZ",), spot_reserve=5_000.0), tape) as simulator:
        yield simulator


@pytest_asyncio.fixture
async def spot(sim: ExchangeSim) -> AsyncIterator[Any]:
    client = make_spot_client(
        "binance", sim.base_url + "/spot", api_key=DEFAULT_API_KEY, secret=DEFAULT_API_SECRET,
        overrides={"enableRateLimit": False},
    )  # fmt: skip
    yield client
    await client.close()


async def test_the_spot_market_lists_each_perpetual_base_and_the_spot_only_coins(spot: Any) -> None:
    markets = await spot.load_markets()
    assert {"BTC/USDT", "ETH/USDT", "XYZ/USDT"} <= set(markets)
    assert all(m["spot"] for m in markets.values())


async def test_a_spot_only_coin_has_a_spot_price_and_no_perpetual(sim: ExchangeSim, spot: Any) -> None:
    ticker = await spot.fetch_ticker("XYZ/USDT")
    assert ticker["last"] == 1.2345
    assert sim.exchange.catalog.by_id("XYZUSDT") is None


async def test_a_pair_never_printed_on_spot_is_priced_at_its_perpetuals_index(sim: ExchangeSim, spot: Any) -> None:
    sim.push(PriceObserved(T0 + 1_000, Symbol("BTC/USDT:USDT"), 31_000.0))  # perp only: the index is unchanged
    tickers = await spot.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert (tickers["BTC/USDT"]["last"], tickers["ETH/USDT"]["last"]) == (30_000.0, 2_000.0)


async def test_klines_and_depth_follow_the_spot_prints(sim: ExchangeSim, spot: Any) -> None:
    sim.push(PriceObserved(T0 + 60_000, XYZ, 1.5))
    candles = await spot.fetch_ohlcv("XYZ/USDT", "1m", T0)
    assert [(c[0], c[4]) for c in candles] == [(T0, 1.2345), (T0 + 60_000, 1.5)]
    book = await spot.fetch_order_book("XYZ/USDT", 5)
    assert book["bids"][0][0] < 1.5 <= book["asks"][0][0]


async def test_the_spot_balances_are_the_wallets_the_transfers_move(sim: ExchangeSim, spot: Any) -> None:
    futures = ccxt_async.binanceusdm(ccxt_config(sim.base_url, DEFAULT_API_KEY, DEFAULT_API_SECRET))
    try:
        sim.exchange.wallets.credit("MAIN", "XYZ", Decimal("250"))
        await futures.transfer("USDT", 1_000.0, "spot", "swap")
        balance = await spot.fetch_balance()
    finally:
        await futures.close()
    assert (balance["total"]["XYZ"], balance["total"]["USDT"]) == (250.0, 4_000.0)


async def test_a_signed_spot_request_with_a_wrong_secret_is_refused(sim: ExchangeSim) -> None:
    client = make_spot_client("binance", sim.base_url + "/spot", api_key=DEFAULT_API_KEY, secret="wrong")
    try:
        with pytest.raises(ccxt_async.AuthenticationError):
            await client.fetch_balance()
    finally:
        await client.close()


async def test_the_ticker_stream_carries_each_new_spot_print(sim: ExchangeSim) -> None:
    client = make_spot_client("binance", sim.base_url + "/spot", overrides={"enableRateLimit": False})
    try:
        await client.watch_tickers(["XYZ/USDT"])  # the snapshot a subscription gets at once
        sim.push(PriceObserved(T0 + 1_000, XYZ, 1.5))
        while client.tickers["XYZ/USDT"]["last"] != 1.5:
            await asyncio.wait_for(client.watch_tickers(["XYZ/USDT"]), 5)
        assert client.tickers["XYZ/USDT"]["timestamp"] == T0 + 1_000
    finally:
        await client.close()


async def test_silenced_spot_streams_leave_the_futures_streams_talking(sim: ExchangeSim) -> None:
    async with aiohttp.ClientSession() as http:
        spot_ws = await http.ws_connect(f"ws://127.0.0.1:{sim.port}/spot/ws/xyzusdt@miniTicker")
        futures_ws = await http.ws_connect(f"ws://127.0.0.1:{sim.port}/ws/btcusdt@markPrice")
        await spot_ws.receive_json(timeout=5)  # the snapshots
        await futures_ws.receive_json(timeout=5)
        sim.spot.stream_faults.silence()
        sim.push(PriceObserved(T0 + 1_000, XYZ, 1.6))
        sim.push(PriceObserved(T0 + 1_000, Symbol("BTC/USDT:USDT"), 30_100.0))
        assert (await futures_ws.receive_json(timeout=5))["p"] == "30100.0"
        sim.spot.stream_faults.speak()
        sim.push(PriceObserved(T0 + 2_000, XYZ, 1.7))
        assert (await spot_ws.receive_json(timeout=5))["c"] == "1.7000"
        await spot_ws.close()
        await futures_ws.close()


async def test_the_spot_user_stream_tells_a_balance_change_however_it_came(sim: ExchangeSim) -> None:
    headers = {"X-MBX-APIKEY": DEFAULT_API_KEY}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.base_url}/api/v3/userDataStream", headers=headers) as answer:
            key = (await answer.json())["listenKey"]
        ws = await http.ws_connect(f"ws://127.0.0.1:{sim.port}/spot/ws/{key}")
        await sim.spot.hub.wait_user_connections(1)
        sim.exchange.wallets.credit("MAIN", "XYZ", Decimal("40"))  # a deposit
        sim.push(PriceObserved(T0 + 1_000, XYZ, 1.3))
        update, event = [json.loads((await ws.receive(timeout=5)).data) for _ in range(2)]
        await ws.close()
    assert (update["e"], update["a"], update["d"]) == ("balanceUpdate", "XYZ", "40.00000000")
    assert event["e"] == "outboundAccountPosition"
    assert event["B"] == [{"a": "XYZ", "f": "40.00000000", "l": "0.00000000"}]


async def test_an_unknown_spot_pair_is_refused_with_binances_code(spot: Any) -> None:
    url = f"{spot.urls['api']['public']}/ticker/24hr?symbol=NOPEUSDT"
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        assert (answer.status, (await answer.json())["code"]) == (400, -1121)


async def test_the_funding_wallet_is_read_through_the_spot_hosts_sapi_route(sim: ExchangeSim, spot: Any) -> None:
    sim.exchange.wallets.credit("FUNDING", "XYZ", Decimal("12.5"))
    balance = await spot.fetch_balance({"type": "funding"})
    assert balance["total"]["XYZ"] == 12.5
