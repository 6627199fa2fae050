"""Stop and take-profit orders through Binance's Algo Order API, as ccxt places them, triggered by the market."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
PERP = "BTC/USDT:USDT"


def move(sim: ExchangeSim, ts: int, mark: float) -> None:
    sim.push(PriceObserved(ts, Symbol("BTC/USDT"), mark))
    sim.push(PriceObserved(ts, Symbol(PERP), mark))


def trade_printed(sim: ExchangeSim, ts: int, price: float) -> None:
    """A trade of the rest of the market at `price` while the mark stays where it is (30,000)."""
    contract = sim.exchange.catalog.by_id("BTCUSDT")
    assert contract is not None
    sim.exchange.public.tape(contract).print(ts, price, 0.01, price * 0.01, buyer_maker=True)
    move(sim, ts, 30_000.0)  # the contract is looked at again; its mark has not moved


async def test_ccxt_places_a_stop_market_through_the_algo_api_and_the_mark_triggers_it(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "market", "buy", 0.02)
    stop = await ex.create_order(PERP, "STOP_MARKET", "sell", 0.02, None,
                                 {"triggerPrice": 29_500, "workingType": "MARK_PRICE", "reduceOnly": True})  # fmt: skip
    assert (stop["status"], stop["info"]["orderType"], stop["triggerPrice"]) == ("open", "STOP_MARKET", 29_500.0)
    move(sim, T0 + 60_000, 29_600.0)
    assert sim.exchange.account.position(Symbol(PERP)).qty == 0.02
    move(sim, T0 + 120_000, 29_450.0)
    fetched = await ex.fetch_order(stop["id"], PERP, {"trigger": True})
    assert sim.exchange.account.position(Symbol(PERP)).qty == 0
    assert fetched["status"] == "closed"
    assert fetched["info"]["algoStatus"] == "FINISHED"


async def test_a_take_profit_on_the_contract_price_follows_the_last_trade_not_the_mark(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "market", "sell", 0.03)
    await ex.create_order(PERP, "TAKE_PROFIT_MARKET", "buy", None, None,
                          {"triggerPrice": 29_000, "closePosition": True})  # fmt: skip
    on_mark = await ex.create_order(PERP, "TAKE_PROFIT_MARKET", "buy", 0.01, None,
                                    {"triggerPrice": 29_000, "workingType": "MARK_PRICE"})  # fmt: skip
    trade_printed(sim, T0 + 60_000, 29_100.0)
    assert sim.exchange.account.position(Symbol(PERP)).qty == -0.03
    trade_printed(sim, T0 + 120_000, 28_990.0)
    assert sim.exchange.account.position(Symbol(PERP)).qty == 0  # the whole position, closed at the market
    closing, waiting = sim.exchange.algos.all()
    assert (closing.status, closing.executed_qty) == ("FINISHED", 0.03)
    assert (waiting.algo_id, waiting.status) == (int(on_mark["id"]), "NEW")  # the mark never went there


async def test_a_conditional_order_that_would_trigger_at_once_or_on_the_order_endpoint_is_refused(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    with pytest.raises(ccxt_async.OrderImmediatelyFillable, match="-2021"):
        await ex.create_order(PERP, "STOP_MARKET", "sell", 0.01, None, {"triggerPrice": 30_500})
    with pytest.raises(ccxt_async.ExchangeError, match="-4120"):  # Binance moved these to the Algo Order API
        await ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                       "quantity": "0.01", "stopPrice": "29000"})  # fmt: skip
    with pytest.raises(ccxt_async.InvalidOrder):  # stop-limit is not listed: ccxt refuses it before sending
        await ex.create_order(PERP, "STOP", "sell", 0.01, 28_900, {"triggerPrice": 29_000})


async def test_open_conditional_orders_are_listed_and_cancelled_by_client_algo_id(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "STOP_MARKET", "buy", 0.01, None, {"triggerPrice": 31_000, "clientOrderId": "guard"})
    listed = await ex.fetch_open_orders(PERP, params={"trigger": True})
    cancelled = await ex.cancel_order(None, PERP, {"trigger": True, "clientAlgoId": "guard"})
    move(sim, T0 + 60_000, 31_500.0)
    assert [o["clientOrderId"] for o in listed] == ["guard"]
    assert cancelled["info"]["code"] == "200"
    assert sim.exchange.account.position(Symbol(PERP)).qty == 0
    assert [a.status for a in sim.exchange.algos.all()] == ["CANCELED"]
