"""Conformance: python-binance's futures client (binance.client.Client, futures_* methods) against the simulator.

As `test_conformance_connector.py`, with a second client nobody here wrote: each implemented call's answer is
compared with Binance's documented payload; the calls left out must be refused as an unknown path. This
client asks v2 `account` (the shape with every symbol's leverage) where the connector asks v3.
Count: `pytest tests/exchange_sim/test_conformance_python_binance.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from binance.async_client import AsyncClient
from binance.client import Client
from binance.exceptions import BinanceAPIException
from binance.ws.streams import BinanceSocketManager

from bot.domain import MS_PER_HOUR, FundingObserved, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
SETTLED_AT = T0 + 8 * MS_PER_HOUR
GUARD_S = 10.0  # a stream that never delivers fails the test instead of hanging it; never a synchronisation delay


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    call: Callable[[Client], Any]
    check: Callable[[Any, Any], list[str]]  # (documented, answer) -> problems


def each(kind: str) -> Callable[[Any, Any], list[str]]:
    return lambda d, answer: d.each(kind, answer)


def one(kind: str) -> Callable[[Any, Any], list[str]]:
    return lambda d, answer: d.problems(kind, answer)


def klines(prices_only: bool = False) -> Callable[[Any, Any], list[str]]:
    return lambda d, rows: (
        [p for row in rows for p in d.kline_problems(row, prices_only=prices_only)] or ([] if rows else ["no klines"])
    )


def limit_buy(c: Client, client_id: str, price: str = "29000") -> Any:
    return c.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01", price=price,
                                  timeInForce="GTC", newClientOrderId=client_id)  # fmt: skip


def market_buy(c: Client) -> Any:
    return c.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                                  newOrderRespType="RESULT")  # fmt: skip


def stop(c: Client) -> Any:
    return c.futures_create_algo_order(symbol="BTCUSDT", side="SELL", type="STOP_MARKET", triggerPrice="29000",
                                       quantity="0.01", workingType="MARK_PRICE")  # fmt: skip


def account_v2(d: Any, answer: Any) -> list[str]:
    return (d.problems("accountV2", answer) + d.each("accountAsset", answer["assets"])
            + d.each("accountV2Position", answer["positions"]))  # fmt: skip


def brackets(d: Any, answer: Any) -> list[str]:
    return d.each("leverageBracket", answer) + [p for row in answer for p in d.each("bracket", row["brackets"])]


def listen_key_cycle(c: Client) -> Any:
    key = c.futures_stream_get_listen_key()
    return {"listenKey": key}, c.futures_stream_keepalive(key), c.futures_stream_close(key)


def isolated_top_up(c: Client) -> Any:
    c.futures_change_margin_type(symbol="ETHUSDT", marginType="ISOLATED")
    c.futures_create_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.1")
    return c.futures_change_position_margin(symbol="ETHUSDT", amount="10", type=1)


CALLS = [
    Call("futures_ping", lambda c: c.futures_ping(), one("ping")),
    Call("futures_time", lambda c: c.futures_time(), one("time")),
    Call("futures_exchange_info", lambda c: c.futures_exchange_info(),
         lambda d, a: d.problems("exchangeInfo", a) + d.each("symbol", a["symbols"])),
    Call("futures_order_book", lambda c: c.futures_order_book(symbol="BTCUSDT", limit=10), one("depth")),
    Call("futures_recent_trades", lambda c: c.futures_recent_trades(symbol="BTCUSDT"), each("trade")),
    Call("futures_historical_trades", lambda c: c.futures_historical_trades(symbol="BTCUSDT", fromId=1),
         each("trade")),
    Call("futures_aggregate_trades", lambda c: c.futures_aggregate_trades(symbol="BTCUSDT", startTime=T0),
         each("aggTrade")),
    Call("futures_klines", lambda c: c.futures_klines(symbol="BTCUSDT", interval="5m"), klines()),
    Call("futures_continuous_klines", lambda c: c.futures_continuous_klines(
        pair="BTCUSDT", contractType="PERPETUAL", interval="1h"), klines()),
    Call("futures_mark_price_klines", lambda c: c.futures_mark_price_klines(symbol="BTCUSDT", interval="1m"),
         klines(prices_only=True)),
    Call("futures_index_price_klines", lambda c: c.futures_index_price_klines(pair="BTCUSDT", interval="1m"),
         klines(prices_only=True)),
    Call("futures_premium_index_klines", lambda c: c.futures_premium_index_klines(symbol="BTCUSDT", interval="1m"),
         klines(prices_only=True)),
    Call("futures_mark_price", lambda c: c.futures_mark_price(symbol="BTCUSDT"), one("premiumIndex")),
    Call("futures_mark_price (all)", lambda c: c.futures_mark_price(), each("premiumIndex")),
    Call("futures_funding_rate", lambda c: c.futures_funding_rate(symbol="BTCUSDT"), each("fundingRate")),
    Call("futures_v1_get_funding_info", lambda c: c.futures_v1_get_funding_info(), each("fundingInfo")),
    Call("futures_ticker", lambda c: c.futures_ticker(symbol="BTCUSDT"), one("ticker24hr")),
    Call("futures_symbol_ticker", lambda c: c.futures_symbol_ticker(symbol="BTCUSDT"), one("tickerPrice")),
    Call("futures_orderbook_ticker", lambda c: c.futures_orderbook_ticker(symbol="BTCUSDT"), one("bookTicker")),
    Call("futures_open_interest", lambda c: c.futures_open_interest(symbol="BTCUSDT"), one("openInterest")),
    Call("futures_create_order", market_buy, one("order")),
    Call("futures_create_test_order", lambda c: c.futures_create_test_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"), one("ping")),
    Call("futures_get_order", lambda c: c.futures_get_order(symbol="BTCUSDT", orderId=market_buy(c)["orderId"]),
         one("queriedOrder")),
    Call("futures_v1_get_open_order", lambda c: c.futures_v1_get_open_order(
        symbol="BTCUSDT", origClientOrderId=limit_buy(c, "open")["clientOrderId"]), one("queriedOrder")),
    Call("futures_cancel_order", lambda c: c.futures_cancel_order(
        symbol="BTCUSDT", orderId=limit_buy(c, "c")["orderId"]), one("order")),
    Call("futures_get_open_orders", lambda c: (limit_buy(c, "o"), c.futures_get_open_orders(symbol="BTCUSDT"))[1],
         each("queriedOrder")),
    Call("futures_get_all_orders", lambda c: (market_buy(c), c.futures_get_all_orders(symbol="BTCUSDT"))[1],
         each("queriedOrder")),
    Call("futures_cancel_all_open_orders", lambda c: (limit_buy(c, "a"),
                                                      c.futures_cancel_all_open_orders(symbol="BTCUSDT"))[1],
         one("codeMsg")),
    Call("futures_place_batch_order", lambda c: c.futures_place_batch_order(batchOrders=[
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "29000",
         "timeInForce": "GTC"},
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}]), each("order")),
    Call("futures_cancel_orders", lambda c: c.futures_cancel_orders(
        symbol="BTCUSDT", orderidlist=[limit_buy(c, "x1")["orderId"], limit_buy(c, "x2", "28000")["orderId"]]),
         each("order")),
    Call("futures_modify_order", lambda c: c.futures_modify_order(
        symbol="BTCUSDT", orderId=limit_buy(c, "m")["orderId"], side="BUY", quantity="0.02", price="29100"),
         one("order")),
    Call("futures_countdown_cancel_all", lambda c: c.futures_countdown_cancel_all(
        symbol="BTCUSDT", countdownTime=30_000), one("countdown")),
    Call("futures_account_balance", lambda c: c.futures_account_balance(), each("balance")),
    Call("futures_account (v2)", lambda c: (market_buy(c), c.futures_account())[1], account_v2),
    Call("futures_change_leverage", lambda c: c.futures_change_leverage(symbol="BTCUSDT", leverage=10),
         one("leverage")),
    Call("futures_change_margin_type", lambda c: c.futures_change_margin_type(symbol="BTCUSDT",
                                                                              marginType="ISOLATED"), one("codeMsg")),
    Call("futures_change_position_margin", isolated_top_up, one("positionMargin")),
    Call("futures_position_information", lambda c: (market_buy(c), c.futures_position_information())[1],
         each("positionRiskV3")),
    Call("futures_account_trades", lambda c: (market_buy(c), c.futures_account_trades(symbol="BTCUSDT"))[1],
         each("userTrade")),
    Call("futures_income_history", lambda c: (market_buy(c), c.futures_income_history())[1], each("income")),
    Call("futures_leverage_bracket", lambda c: c.futures_leverage_bracket(), brackets),
    Call("futures_commission_rate", lambda c: c.futures_commission_rate(symbol="BTCUSDT"), one("commissionRate")),
    Call("futures_get_position_mode", lambda c: c.futures_get_position_mode(), one("positionMode")),
    Call("futures_get_multi_assets_mode", lambda c: c.futures_get_multi_assets_mode(), one("multiAssetsMargin")),
    Call("futures_symbol_config", lambda c: c.futures_symbol_config(symbol="BTCUSDT"), each("symbolConfig")),
    Call("futures_liquidation_orders", lambda c: c.futures_liquidation_orders(),
         lambda d, a: [] if a == [] else d.each("queriedOrder", a)),
    Call("futures_create_algo_order", stop, one("algoOrder")),
    Call("futures_create_order STOP_MARKET (routed to the algo API)", lambda c: c.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="STOP_MARKET", stopPrice="31000", quantity="0.01"), one("algoOrder")),
    Call("futures_get_algo_order", lambda c: c.futures_get_algo_order(algoId=stop(c)["algoId"]), one("algoOrder")),
    Call("futures_get_open_algo_orders", lambda c: (stop(c), c.futures_get_open_algo_orders())[1],
         each("algoOrder")),
    Call("futures_get_all_algo_orders", lambda c: (stop(c), c.futures_get_all_algo_orders(symbol="BTCUSDT"))[1],
         each("algoOrder")),
    Call("futures_cancel_algo_order", lambda c: c.futures_cancel_algo_order(
        symbol="BTCUSDT", clientAlgoId=stop(c)["clientAlgoId"]), one("algoCancel")),
    Call("futures_cancel_all_algo_open_orders", lambda c: (stop(c), c.futures_cancel_all_algo_open_orders(
        symbol="BTCUSDT"))[1], one("codeMsg")),
    Call("futures_stream listen key: get, keepalive, close", listen_key_cycle,
         lambda d, a: d.problems("listenKey", a[0]) + d.problems("listenKey", a[1]) + d.problems("ping", a[2])),
]  # fmt: skip

NOT_IMPLEMENTED: list[tuple[str, Callable[[Client], Any]]] = [
    ("futures_top_longshort_account_ratio", lambda c: c.futures_top_longshort_account_ratio(
        symbol="BTCUSDT", period="5m")),
    ("futures_global_longshort_ratio", lambda c: c.futures_global_longshort_ratio(symbol="BTCUSDT", period="5m")),
    ("futures_taker_longshort_ratio", lambda c: c.futures_taker_longshort_ratio(symbol="BTCUSDT", period="5m")),
    ("futures_basis", lambda c: c.futures_basis(pair="BTCUSDT", contractType="PERPETUAL", period="5m")),
    ("futures_open_interest_hist", lambda c: c.futures_open_interest_hist(symbol="BTCUSDT", period="5m")),
    ("futures_delivery_price", lambda c: c.futures_delivery_price(pair="BTCUSDT")),
    ("futures_index_info", lambda c: c.futures_index_info()),
    ("futures_api_trading_status", lambda c: c.futures_api_trading_status()),
    ("futures_adl_quantile_estimate", lambda c: c.futures_adl_quantile_estimate()),
    ("futures_position_margin_history", lambda c: c.futures_position_margin_history(symbol="BTCUSDT")),
    ("futures_change_position_mode", lambda c: c.futures_change_position_mode(dualSidePosition="true")),
    ("futures_change_multi_assets_mode", lambda c: c.futures_change_multi_assets_mode(multiAssetsMargin="true")),
    ("futures_v1_get_fee_burn", lambda c: c.futures_v1_get_fee_burn()),
]  # fmt: skip


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """A simulator with an hour of minutes and a funding settlement behind it."""
    tape = [
        PriceObserved(T0 + minute * 60_000, Symbol(symbol), price)
        for minute in range(60)
        for symbol, price in (("BTC/USDT", 30_000.0), ("BTC/USDT:USDT", 30_000.0 + minute),
                              ("ETH/USDT", 2_000.0), ("ETH/USDT:USDT", 2_000.0 + minute / 10))
    ]  # fmt: skip
    simulator = ExchangeSim(SimSettings(quarterlies=False), [*tape, FundingObserved(
        SETTLED_AT, Symbol("BTC/USDT:USDT"), 0.0002, SETTLED_AT)])  # fmt: skip
    await simulator.start()
    await simulator.advance(len(tape) + 1)
    try:
        yield simulator
    finally:
        await simulator.stop()


def pointed_at(client: Any, sim: ExchangeSim) -> Any:
    """Its base-URL options: the class constants it builds its URLs from."""
    client.FUTURES_URL = f"{sim.base_url}/fapi"
    client.FUTURES_DATA_URL = f"{sim.base_url}/futures/data"
    return client


@pytest_asyncio.fixture
async def client(sim: ExchangeSim) -> AsyncIterator[Client]:
    made = pointed_at(Client(sim.settings.api_key, sim.settings.api_secret, ping=False), sim)  # ping: a spot host
    try:
        yield made
    finally:
        made.close_connection()


@pytest.mark.parametrize("case", CALLS, ids=[c.name for c in CALLS])
async def test_each_implemented_python_binance_call_answers_with_binances_documented_fields(
    client: Client, documented: Any, case: Call
) -> None:
    answer = await asyncio.to_thread(case.call, client)
    assert case.check(documented, answer) == [], json.dumps(answer)[:400]


@pytest.mark.parametrize("case", NOT_IMPLEMENTED, ids=[name for name, _ in NOT_IMPLEMENTED])
async def test_each_python_binance_call_left_out_is_refused_as_an_unknown_path(
    client: Client, case: tuple[str, Callable[[Client], Any]]
) -> None:
    with pytest.raises(BinanceAPIException) as refused:
        await asyncio.to_thread(case[1], client)
    assert (refused.value.status_code, refused.value.code) == (404, 0)  # not JSON: Binance's HTML 404 page


async def test_the_socket_managers_combined_market_stream_and_user_stream_carry_binances_events(
    sim: ExchangeSim, documented: Any
) -> None:
    client = pointed_at(AsyncClient(sim.settings.api_key, sim.settings.api_secret), sim)
    sockets = BinanceSocketManager(client)
    sockets.FSTREAM_URL = f"ws://127.0.0.1:{sim.port}/"
    streams = ["btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@depth@100ms", "ethusdt@markPrice@1s"]
    kinds = {"aggTrade": "aggTradeEvent", "kline": "klineEvent"}
    market, user = sockets.futures_multiplex_socket(streams), sockets.futures_user_socket()
    for socket in (market, user):  # its read loop polls every TIMEOUT s and closes only between polls: 10 s
        socket.TIMEOUT = 0.1
    try:
        async with market, user:
            await asyncio.wait_for(sim.hub.wait_subscribed("btcusdt@depth@100ms"), GUARD_S)
            await asyncio.wait_for(sim.hub.wait_user_connections(1), GUARD_S)
            sim.push(PriceObserved(T0 + 3_600_000, Symbol("BTC/USDT:USDT"), 30_100.0))
            sim.push(PriceObserved(T0 + 3_600_000, Symbol("ETH/USDT:USDT"), 2_010.0))
            await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
            seen: dict[str, dict[str, Any]] = {}
            while set(seen) != set(streams):
                message = await asyncio.wait_for(market.recv(), GUARD_S)
                seen.setdefault(message["stream"], message["data"])
            update = await asyncio.wait_for(user.recv(), GUARD_S)
    finally:
        await client.close_connection()
    problems = [p for data in seen.values() for p in documented.problems(kinds.get(data["e"], data["e"]), data)]
    problems += documented.problems("ORDER_TRADE_UPDATE", update)
    assert problems == []
