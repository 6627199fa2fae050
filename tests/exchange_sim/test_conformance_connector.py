"""Conformance: Binance's own futures connector (binance-futures-connector, UMFutures) against the simulator.

Every REST call the connector offers that the simulator implements is made as a trader would make it, and its
answer is compared field by field (name and JSON type) with Binance's documented payload (`DOCUMENTED` in
conftest.py). What the simulator deliberately does not implement is listed in `NOT_IMPLEMENTED` and must be
refused as Binance refuses an unknown path. Count: `pytest tests/exchange_sim/test_conformance_connector.py`.

The connector is synchronous (requests): each call runs in a worker thread while the event loop serves it.
"""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from binance.error import ClientError
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

from bot.domain import MS_PER_HOUR, FundingObserved, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
SETTLED_AT = T0 + 8 * MS_PER_HOUR


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    call: Callable[[UMFutures], Any]
    check: Callable[[Any, Any], list[str]]  # (documented, answer) -> problems


def limit_buy(c: UMFutures, client_id: str, price: str = "29000") -> Any:
    return c.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01", price=price,
                       timeInForce="GTC", newClientOrderId=client_id)  # fmt: skip


def market_buy(c: UMFutures, qty: str = "0.01") -> Any:
    return c.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=qty, newOrderRespType="RESULT")


def each(kind: str) -> Callable[[Any, Any], list[str]]:
    return lambda d, answer: d.each(kind, answer)


def one(kind: str) -> Callable[[Any, Any], list[str]]:
    return lambda d, answer: d.problems(kind, answer)


def klines(prices_only: bool = False) -> Callable[[Any, Any], list[str]]:
    def check(d: Any, rows: Any) -> list[str]:
        if not rows:
            return ["no klines"]
        return [p for row in rows for p in d.kline_problems(row, prices_only=prices_only)]

    return check


def exchange_info(d: Any, answer: Any) -> list[str]:
    return d.problems("exchangeInfo", answer) + d.each("symbol", answer.get("symbols"))


def account(d: Any, answer: Any) -> list[str]:
    return (d.problems("accountV3", answer) + d.each("accountAsset", answer["assets"])
            + d.each("accountV3Position", answer["positions"]))  # fmt: skip


def brackets(d: Any, answer: Any) -> list[str]:
    return d.each("leverageBracket", answer) + [p for row in answer for p in d.each("bracket", row["brackets"])]


def listen_key_cycle(c: UMFutures) -> Any:
    key = c.new_listen_key()
    renewed = c.renew_listen_key(key["listenKey"])
    closed = c.close_listen_key(key["listenKey"])
    return key, renewed, closed


def isolated_top_up(c: UMFutures) -> Any:
    c.change_margin_type(symbol="ETHUSDT", marginType="ISOLATED")
    c.new_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.1")
    return c.modify_isolated_position_margin(symbol="ETHUSDT", amount="10", type=1)


CALLS = [
    Call("ping", lambda c: c.ping(), one("ping")),
    Call("time", lambda c: c.time(), one("time")),
    Call("exchange_info", lambda c: c.exchange_info(), exchange_info),
    Call("depth", lambda c: c.depth("BTCUSDT", limit=5), one("depth")),
    Call("trades", lambda c: c.trades("BTCUSDT"), each("trade")),
    Call("agg_trades", lambda c: c.agg_trades("BTCUSDT"), each("aggTrade")),
    Call("klines", lambda c: c.klines("BTCUSDT", "1m"), klines()),
    Call("continuous_klines", lambda c: c.continuous_klines("BTCUSDT", "PERPETUAL", "1m"), klines()),
    Call("index_price_klines", lambda c: c.index_price_klines("BTCUSDT", "1m"), klines(prices_only=True)),
    Call("mark_price_klines", lambda c: c.mark_price_klines("BTCUSDT", "1m"), klines(prices_only=True)),
    Call("mark_price", lambda c: c.mark_price("BTCUSDT"), one("premiumIndex")),
    Call("funding_rate", lambda c: c.funding_rate("BTCUSDT"), each("fundingRate")),
    # the connector's own funding_info() asks /fapi/v1/fundingRate (its bug): the documented path, through it
    Call("funding_info", lambda c: c.query("/fapi/v1/fundingInfo"), each("fundingInfo")),
    Call("ticker_24hr", lambda c: c.ticker_24hr_price_change("BTCUSDT"), one("ticker24hr")),
    Call("ticker_price", lambda c: c.ticker_price("BTCUSDT"), one("tickerPrice")),
    Call("book_ticker", lambda c: c.book_ticker("BTCUSDT"), one("bookTicker")),
    Call("open_interest", lambda c: c.open_interest("BTCUSDT"), one("openInterest")),
    Call("new_order RESULT", market_buy, one("order")),
    Call("new_order ACK", lambda c: c.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.01"),
         lambda d, a: d.problems("order", a) + ([] if a["status"] == "NEW" else ["an ACK is NEW"])),
    Call("new_order_test", lambda c: c.new_order_test(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"),
         one("ping")),
    Call("query_order", lambda c: c.query_order("BTCUSDT", orderId=market_buy(c)["orderId"]), one("queriedOrder")),
    Call("cancel_order", lambda c: c.cancel_order("BTCUSDT", origClientOrderId=limit_buy(c, "q")["clientOrderId"]),
         one("order")),
    Call("get_open_orders", lambda c: c.get_open_orders("BTCUSDT", orderId=limit_buy(c, "o")["orderId"]),
         one("queriedOrder")),
    Call("get_orders", lambda c: (limit_buy(c, "o1"), c.get_orders(symbol="BTCUSDT"))[1], each("queriedOrder")),
    Call("get_all_orders", lambda c: (market_buy(c), c.get_all_orders("BTCUSDT"))[1], each("queriedOrder")),
    Call("cancel_open_orders", lambda c: (limit_buy(c, "all"), c.cancel_open_orders("BTCUSDT"))[1], one("codeMsg")),
    Call("new_batch_order", lambda c: c.new_batch_order([
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "29000",
         "timeInForce": "GTC"},
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}]), each("order")),
    Call("cancel_batch_order", lambda c: c.cancel_batch_order(
        "BTCUSDT", orderIdList=[limit_buy(c, "b1")["orderId"], limit_buy(c, "b2", "28000")["orderId"]],
        origClientOrderIdList=None), each("order")),
    Call("modify_order", lambda c: c.modify_order(symbol="BTCUSDT", side="BUY", quantity="0.02", price="29100",
                                                  orderId=limit_buy(c, "m")["orderId"]), one("order")),
    Call("countdown_cancel_order", lambda c: c.countdown_cancel_order("BTCUSDT", 10_000), one("countdown")),
    Call("balance", lambda c: c.balance(), each("balance")),
    Call("account", lambda c: (market_buy(c), c.account())[1], account),
    Call("change_leverage", lambda c: c.change_leverage("ETHUSDT", 7), one("leverage")),
    Call("change_margin_type", lambda c: c.change_margin_type("BTCUSDT", "ISOLATED"), one("codeMsg")),
    Call("modify_isolated_position_margin", isolated_top_up, one("positionMargin")),
    Call("get_position_risk", lambda c: (market_buy(c), c.get_position_risk())[1], each("positionRiskV3")),
    Call("get_account_trades", lambda c: (market_buy(c), c.get_account_trades("BTCUSDT"))[1], each("userTrade")),
    Call("get_income_history", lambda c: (market_buy(c), c.get_income_history())[1], each("income")),
    Call("leverage_brackets", lambda c: c.leverage_brackets(), brackets),
    Call("commission_rate", lambda c: c.commission_rate("BTCUSDT"), one("commissionRate")),
    Call("get_position_mode", lambda c: c.get_position_mode(), one("positionMode")),
    Call("get_multi_asset_mode", lambda c: c.get_multi_asset_mode(), one("multiAssetsMargin")),
    Call("symbol_configuration", lambda c: c.symbol_configuration(symbol="BTCUSDT"), each("symbolConfig")),
    Call("listen key: new, renew, close", listen_key_cycle,
         lambda d, a: d.problems("listenKey", a[0]) + d.problems("listenKey", a[1]) + d.problems("ping", a[2])),
]  # fmt: skip

# The connector's calls the simulator deliberately leaves out: analytics and account services a hedging
# daemon has no use for, and hedge mode (the simulator is one-way only). Each is answered as an unknown path.
NOT_IMPLEMENTED: list[tuple[str, Callable[[UMFutures], Any]]] = [
    ("quarterly_contract_settlement_price", lambda c: c.quarterly_contract_settlement_price("BTCUSDT")),
    ("open_interest_hist", lambda c: c.open_interest_hist("BTCUSDT", "5m")),
    ("top_long_short_position_ratio", lambda c: c.top_long_short_position_ratio("BTCUSDT", "5m")),
    ("long_short_account_ratio", lambda c: c.long_short_account_ratio("BTCUSDT", "5m")),
    ("top_long_short_account_ratio", lambda c: c.top_long_short_account_ratio("BTCUSDT", "5m")),
    ("taker_long_short_ratio", lambda c: c.taker_long_short_ratio("BTCUSDT", "5m")),
    ("blvt_kline", lambda c: c.blvt_kline("BTCDOWN", "1m")),
    ("index_info", lambda c: c.index_info()),
    ("asset_Index", lambda c: c.asset_Index()),
    ("index_price_constituents", lambda c: c.index_price_constituents("BTCUSDT")),
    ("change_position_mode", lambda c: c.change_position_mode("true")),
    ("change_multi_asset_mode", lambda c: c.change_multi_asset_mode("true")),
    ("get_position_margin_history", lambda c: c.get_position_margin_history("BTCUSDT")),
    ("adl_quantile", lambda c: c.adl_quantile()),
    ("api_trading_status", lambda c: c.api_trading_status()),
    ("query_user_rate_limit", lambda c: c.query_user_rate_limit()),
    ("download_transactions_asyn", lambda c: c.download_transactions_asyn(T0, T0 + MS_PER_HOUR)),
    ("toggle_bnb_burn", lambda c: c.toggle_bnb_burn("true")),
    ("get_bnb_burn", lambda c: c.get_bnb_burn()),
]


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[tuple[ExchangeSim, UMFutures]]:
    """A simulator with a funding settlement and an hour of minutes behind it, and a connector pointed at it."""
    tape = [
        event
        for minute in range(60)
        for symbol, price in (("BTC/USDT", 30_000.0), ("BTC/USDT:USDT", 30_000.0 + minute),
                              ("ETH/USDT", 2_000.0), ("ETH/USDT:USDT", 2_000.0 + minute / 10))
        for event in [PriceObserved(T0 + minute * 60_000, Symbol(symbol), price)]
    ]  # fmt: skip
    tape.append(FundingObserved(SETTLED_AT, Symbol("BTC/USDT:USDT"), 0.0002, SETTLED_AT))
    sim = ExchangeSim(SimSettings(quarterlies=False), tape)
    await sim.start()
    await sim.advance(len(tape))
    client = UMFutures(key=sim.settings.api_key, secret=sim.settings.api_secret, base_url=sim.base_url, timeout=10)
    try:
        yield sim, client
    finally:
        await sim.stop()


@pytest.mark.parametrize("case", CALLS, ids=[c.name for c in CALLS])
async def test_each_implemented_connector_call_answers_with_binances_documented_fields(
    connector: tuple[ExchangeSim, UMFutures], documented: Any, case: Call
) -> None:
    _, client = connector
    answer = await asyncio.to_thread(case.call, client)
    assert case.check(documented, answer) == [], json.dumps(answer)[:400]


@pytest.mark.parametrize("case", NOT_IMPLEMENTED, ids=[name for name, _ in NOT_IMPLEMENTED])
async def test_each_call_left_out_is_refused_as_binance_refuses_an_unknown_path(
    connector: tuple[ExchangeSim, UMFutures], case: tuple[str, Callable[[UMFutures], Any]]
) -> None:
    _, client = connector
    with pytest.raises(ClientError) as refused:
        await asyncio.to_thread(case[1], client)
    assert (refused.value.status_code, refused.value.error_code) == (404, None)  # an HTML page, as Binance's
    assert refused.value.error_message.startswith("<!DOCTYPE html>")


async def test_a_stop_market_sent_the_old_way_is_refused_as_binance_refuses_it_since_the_algo_api(
    connector: tuple[ExchangeSim, UMFutures],
) -> None:
    _, client = connector  # the connector (4.2.0) predates the Algo Order API: it still sends these to /order
    with pytest.raises(ClientError) as refused:
        await asyncio.to_thread(client.new_order, symbol="BTCUSDT", side="SELL", type="STOP_MARKET",
                                quantity="0.01", stopPrice="29000")  # fmt: skip
    assert (refused.value.status_code, refused.value.error_code) == (400, -4120)


# ---- the connector's websocket client ------------------------------------------------------------------

STREAMS = {
    "aggTrade": lambda ws: ws.agg_trade("btcusdt"),
    "kline": lambda ws: ws.kline("btcusdt", "1m"),
    "depthUpdate": lambda ws: ws.diff_book_depth("btcusdt", 100),
    "markPriceUpdate": lambda ws: ws.mark_price("btcusdt", 1),
    "bookTicker": lambda ws: ws.book_ticker("btcusdt"),
    "24hrMiniTicker": lambda ws: ws.mini_ticker("ethusdt"),
    "24hrTicker": lambda ws: ws.ticker("ethusdt"),
}
GUARD_S = 10.0  # a stream that never delivers fails the test instead of hanging it; never a synchronisation delay


async def test_the_connectors_websocket_client_gets_every_stream_and_its_user_data_by_subscribe(
    connector: tuple[ExchangeSim, UMFutures], documented: Any
) -> None:
    sim, client = connector
    received: queue.Queue[str] = queue.Queue()
    listen_key = (await asyncio.to_thread(client.new_listen_key))["listenKey"]
    ws = await asyncio.to_thread(
        UMFuturesWebsocketClient, stream_url=f"ws://127.0.0.1:{sim.port}", on_message=lambda _, m: received.put(m)
    )
    try:
        for subscribe in STREAMS.values():
            await asyncio.to_thread(subscribe, ws)
        await asyncio.to_thread(ws.user_data, listen_key)  # SUBSCRIBE [listenKey] on the market connection
        for stream in ("btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@depth@100ms", "ethusdt@ticker"):
            await asyncio.wait_for(sim.hub.wait_subscribed(stream), GUARD_S)
        await asyncio.wait_for(sim.hub.wait_subscribed(listen_key), GUARD_S)
        sim.push(PriceObserved(T0 + 3_600_000, Symbol("BTC/USDT:USDT"), 30_100.0))
        sim.push(PriceObserved(T0 + 3_600_000, Symbol("ETH/USDT:USDT"), 2_010.0))
        await asyncio.to_thread(market_buy, client)
        events: dict[str, dict[str, Any]] = {}
        wanted = {*STREAMS, "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"}
        while not wanted <= set(events):
            message = json.loads(await asyncio.to_thread(received.get, timeout=GUARD_S))
            if "e" in message:
                events.setdefault(message["e"], message)
    finally:
        await asyncio.to_thread(ws.stop)
    kinds = {"aggTrade": "aggTradeEvent", "kline": "klineEvent", "bookTicker": "bookTickerEvent"}
    problems = [p for e, event in events.items() if e in wanted for p in documented.problems(kinds.get(e, e), event)]
    problems += documented.problems("kline", events["kline"]["k"])
    problems += documented.problems("orderTradeUpdate", events["ORDER_TRADE_UPDATE"]["o"])
    assert problems == []
