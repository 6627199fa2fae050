"""Order endpoints beyond create/cancel: response types, amend, batches, the dead-man's switch, margin top-up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings
from bot.exchange_sim.auth import API_KEY_HEADER, sign

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000
KEY, SECRET = SimSettings().api_key, SimSettings().api_secret


class ManualClock:
    """The request clock, moved by the test: the countdown runs on it, as Binance's runs on its own time."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def observe(self, event_ts: int) -> None:
        """Request time does not follow market events."""


class Rest:
    """Signed requests as Binance's documentation spells them (params in the query string)."""

    def __init__(self, sim: ExchangeSim, clock: ManualClock, http: aiohttp.ClientSession) -> None:
        self.sim, self.clock, self.http = sim, clock, http

    async def call(self, method: str, path: str, **params: Any) -> tuple[int, Any]:
        query = urlencode({**{k: str(v) for k, v in params.items()}, "timestamp": self.clock.now})
        url = f"{self.sim.base_url}{path}?{query}&signature={sign(query, SECRET)}"
        # sent exactly as signed: aiohttp would otherwise re-quote the JSON of batch parameters
        async with self.http.request(method, URL(url, encoded=True), headers={API_KEY_HEADER: KEY}) as response:
            return response.status, await response.json()

    async def ok(self, method: str, path: str, **params: Any) -> Any:
        status, body = await self.call(method, path, **params)
        assert status == 200, body
        return body


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[Rest]:
    clock = ManualClock(T0)
    prices = {"BTC/USDT": 30_000.0, "BTC/USDT:USDT": 30_000.0, "ETH/USDT": 2_000.0, "ETH/USDT:USDT": 2_000.0}
    tape = [PriceObserved(T0, Symbol(s), p) for s, p in prices.items()]
    simulator = ExchangeSim(SimSettings(quarterlies=False), tape, auth_clock=clock)
    await simulator.start()
    await simulator.advance(len(tape))
    async with aiohttp.ClientSession() as http:
        yield Rest(simulator, clock, http)
    await simulator.stop()


async def test_a_market_order_is_acknowledged_new_by_default_and_reported_filled_when_result_is_asked(
    rest: Rest,
) -> None:
    ack = await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    result = await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                           newOrderRespType="RESULT")  # fmt: skip
    queried = await rest.ok("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=ack["orderId"])
    assert (ack["status"], ack["executedQty"], ack["avgPrice"]) == ("NEW", "0.000", "0.000000")
    assert (result["status"], result["executedQty"]) == ("FILLED", "0.010")
    assert queried["status"] == "FILLED"  # ACK answers before execution; the order executed all the same


async def test_an_amended_limit_order_keeps_its_id_and_takes_liquidity_when_it_now_crosses(rest: Rest) -> None:
    placed = await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
                           price="29000.0", timeInForce="GTC", newClientOrderId="amend-me")  # fmt: skip
    bigger = await rest.ok("PUT", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="amend-me", side="BUY",
                           quantity="0.02", price="29100.0")  # fmt: skip
    crossing = await rest.ok("PUT", "/fapi/v1/order", symbol="BTCUSDT", orderId=placed["orderId"], side="BUY",
                             quantity="0.02", price="30100.0")  # fmt: skip
    status, refused = await rest.call("PUT", "/fapi/v1/order", symbol="BTCUSDT", orderId=placed["orderId"],
                                      side="BUY", quantity="0.03", price="29000.0")  # fmt: skip
    assert (bigger["orderId"], bigger["origQty"], bigger["price"], bigger["status"]) == (
        placed["orderId"], "0.020", "29100.0", "NEW")  # fmt: skip
    assert (crossing["status"], crossing["executedQty"]) == ("FILLED", "0.020")
    assert (status, refused["code"]) == (400, -2013)  # a filled order can no longer be amended


async def test_a_batch_places_each_order_or_reports_its_error_in_place(rest: Rest) -> None:
    orders = [
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "29000",
         "timeInForce": "GTC", "newClientOrderId": "batch-1"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0015"},
        {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.1", "newOrderRespType": "RESULT"},
    ]  # fmt: skip
    answers = await rest.ok("POST", "/fapi/v1/batchOrders", batchOrders=json.dumps(orders))
    cancelled = await rest.ok("DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT",
                              origClientOrderIdList=json.dumps(["batch-1", "never-sent"]))  # fmt: skip
    assert [a.get("status") or a["code"] for a in answers] == ["NEW", -1111, "FILLED"]
    assert [c.get("status") or c["code"] for c in cancelled] == ["CANCELED", -2011]


async def test_the_exchange_cancels_a_symbols_orders_itself_when_its_countdown_is_not_renewed(rest: Rest) -> None:
    await rest.ok("POST", "/fapi/v1/countdownCancelAll", symbol="BTCUSDT", countdownTime=10_000)
    for n, price in enumerate(("29000", "28900")):
        await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
                      price=price, timeInForce="GTC", newClientOrderId=f"clip-{n}")  # fmt: skip
    await rest.ok("POST", "/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="LIMIT", quantity="0.1",
                  price="1900", timeInForce="GTC", newClientOrderId="eth-clip")  # fmt: skip
    rest.clock.now += 9_000
    answer = await rest.ok("POST", "/fapi/v1/countdownCancelAll", symbol="BTCUSDT", countdownTime=10_000)  # renewed
    rest.clock.now += 9_000
    assert len(await rest.ok("GET", "/fapi/v1/openOrders", symbol="BTCUSDT")) == 2
    rest.clock.now += 1_000  # the client died: ten seconds without a heartbeat
    assert rest.sim.expire_countdowns() == ["BTCUSDT"]
    assert await rest.ok("GET", "/fapi/v1/openOrders", symbol="BTCUSDT") == []
    assert [o["clientOrderId"] for o in await rest.ok("GET", "/fapi/v1/openOrders")] == ["eth-clip"]
    assert answer == {"symbol": "BTCUSDT", "countdownTime": "10000"}


async def test_a_disarmed_countdown_cancels_nothing(rest: Rest) -> None:
    await rest.ok("POST", "/fapi/v1/countdownCancelAll", symbol="BTCUSDT", countdownTime=5_000)
    await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
                  price="29000", timeInForce="GTC")  # fmt: skip
    await rest.ok("POST", "/fapi/v1/countdownCancelAll", symbol="BTCUSDT", countdownTime=0)
    rest.clock.now += 60_000
    assert rest.sim.expire_countdowns() == []
    assert len(await rest.ok("GET", "/fapi/v1/openOrders", symbol="BTCUSDT")) == 1


async def test_isolated_margin_is_topped_up_and_reduced_moving_the_liquidation_price(rest: Rest) -> None:
    status, cross = await rest.call("POST", "/fapi/v1/positionMargin", symbol="BTCUSDT", amount="100", type=1)
    await rest.ok("POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED")
    status_flat, flat = await rest.call("POST", "/fapi/v1/positionMargin", symbol="BTCUSDT", amount="100", type=1)
    await rest.ok("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1")
    before = (await rest.ok("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT"))[0]
    added = await rest.ok("POST", "/fapi/v1/positionMargin", symbol="BTCUSDT", amount="100", type=1)
    after = (await rest.ok("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT"))[0]
    status_much, much = await rest.call("POST", "/fapi/v1/positionMargin", symbol="BTCUSDT", amount="1000", type=2)
    assert (status, cross["code"], status_flat, flat["code"]) == (400, -4049, 400, -4054)
    assert added == {"amount": 100.0, "code": 200, "msg": "Successfully modify position margin.", "type": 1}
    assert float(after["isolatedWallet"]) == pytest.approx(float(before["isolatedWallet"]) + 100)
    assert float(after["liquidationPrice"]) < float(before["liquidationPrice"])  # a long: further away
    assert (status_much, much["code"]) == (400, -4051)
