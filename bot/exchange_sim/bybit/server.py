"""The loopback exchange speaking Bybit v5: `BybitSim`, the simulator (`ExchangeSim`) with Bybit's routes.

Same core (orders, matching, margin, funding: bot/exchange_sim/exchange.py), same feed, faults and taps as the
Binance dialect; only the wire differs. REST under `/v5/...` (signed with X-BAPI-* headers), websockets at
`/v5/public/linear` and `/v5/private`. A ccxt `bybit` client pointed at `http://HOST:PORT`
(bot.venues.ccxt_client.point_at) reaches all of it. Linear (USDT) contracts only: `inverse`, `spot` and
`option` categories are listed empty.

    sim = BybitSim(SimSettings(), events)
    port = await sim.start()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.exchange_sim.bybit import rest_market, rest_trade
from bot.exchange_sim.bybit.auth import check_request
from bot.exchange_sim.bybit.errors import BybitError, from_binance, not_found, params_error
from bot.exchange_sim.bybit.streams import BybitStreams
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.faults import Phase
from bot.exchange_sim.server import ExchangeSim, ReceivedOrderRequest

Handler = Callable[[SimExchange, Mapping[str, Any]], Any]
_ORDER_PATHS = frozenset({"/v5/order/create", "/v5/order/cancel"})


@dataclass(frozen=True, slots=True)
class BybitRoute:
    private: bool
    handler: Handler


_PUBLIC, _PRIVATE = False, True
ROUTES: dict[tuple[str, str], BybitRoute] = {
    ("GET", "/v5/market/instruments-info"): BybitRoute(_PUBLIC, rest_market.instruments_info),
    ("GET", "/v5/market/tickers"): BybitRoute(_PUBLIC, rest_market.tickers),
    ("GET", "/v5/market/kline"): BybitRoute(_PUBLIC, rest_market.kline),
    ("GET", "/v5/market/mark-price-kline"): BybitRoute(_PUBLIC, rest_market.price_kline),
    ("GET", "/v5/market/index-price-kline"): BybitRoute(_PUBLIC, rest_market.price_kline),
    ("GET", "/v5/market/funding/history"): BybitRoute(_PUBLIC, rest_market.funding_history),
    ("GET", "/v5/market/orderbook"): BybitRoute(_PUBLIC, rest_market.orderbook),
    ("GET", "/v5/asset/coin/query-info"): BybitRoute(_PRIVATE, rest_trade.coin_info),
    ("GET", "/v5/user/query-api"): BybitRoute(_PRIVATE, rest_trade.query_api),
    ("GET", "/v5/account/info"): BybitRoute(_PRIVATE, rest_trade.account_info),
    ("GET", "/v5/account/wallet-balance"): BybitRoute(_PRIVATE, rest_trade.wallet_balance),
    ("POST", "/v5/account/set-margin-mode"): BybitRoute(_PRIVATE, rest_trade.set_margin_mode),
    ("GET", "/v5/position/list"): BybitRoute(_PRIVATE, rest_trade.positions),
    ("POST", "/v5/position/set-leverage"): BybitRoute(_PRIVATE, rest_trade.set_leverage),
    ("POST", "/v5/position/switch-isolated"): BybitRoute(_PRIVATE, rest_trade.switch_isolated),
    ("POST", "/v5/order/create"): BybitRoute(_PRIVATE, rest_trade.create_order),
    ("POST", "/v5/order/cancel"): BybitRoute(_PRIVATE, rest_trade.cancel_order),
    ("POST", "/v5/order/cancel-all"): BybitRoute(_PRIVATE, rest_trade.cancel_all),
    ("GET", "/v5/order/realtime"): BybitRoute(_PRIVATE, rest_trade.realtime_orders),
    ("GET", "/v5/order/history"): BybitRoute(_PRIVATE, rest_trade.order_history),
    ("GET", "/v5/execution/list"): BybitRoute(_PRIVATE, rest_trade.executions),
}


def _envelope(result: Any, code: int = 0, msg: str = "OK", now_ms: int = 0) -> web.Response:
    return web.json_response({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms})


class BybitSim(ExchangeSim):
    """`ExchangeSim` serving Bybit's v5 REST and websockets instead of Binance's (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bybit = BybitStreams(self.exchange, self.settings.secret_for, self._auth_clock.now_ms)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/v5/{tail:.*}", self._bybit_dispatch)
        app.router.add_get("/v5/public/{category}", self._public_websocket)
        app.router.add_get("/v5/private", self._private_websocket)

    async def stop(self) -> None:
        await self.bybit.drop_all()
        await super().stop()

    async def drop_websockets(self) -> int:
        return await self.bybit.drop_all()

    def _publish(self) -> None:
        self.bybit.publish_market(self.exchange.drain_moved())
        self.bybit.publish_user(self.exchange.drain_user_events())

    # ---- websockets -------------------------------------------------------------------------------------

    async def _public_websocket(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["category"] not in ("linear", "inverse", "spot", "option"):
            raise web.HTTPNotFound()
        return await self._websocket_of(request, private=False)

    async def _private_websocket(self, request: web.Request) -> web.StreamResponse:
        return await self._websocket_of(request, private=True)

    async def _websocket_of(self, request: web.Request, *, private: bool) -> web.StreamResponse:
        rule = self.faults.take(Phase.BEFORE, request.method, request.path)
        if rule is not None:
            return web.Response(status=503, text="Service Unavailable")
        return await self.bybit.serve(request, private=private)

    # ---- REST -------------------------------------------------------------------------------------------

    async def _bybit_dispatch(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        body = await request.text()
        query = request.rel_url.raw_query_string
        self.expire_countdowns()
        try:
            params = _params(query, body)
            self._record_bybit_order(method, path, params)
            if self._tapped(Phase.BEFORE, method, path):
                return web.Response(status=503, text="Service Unavailable")
            rule = self.faults.take(Phase.BEFORE, method, path)
            if rule is not None:
                raise rule.as_error()
            result = self._bybit_handle(method, path, query if method == "GET" else body, params, request.headers)
            self._tapped(Phase.AFTER, method, path)
        except BinanceError as error:
            if error.plain_text or (error.status >= 500 and error.code == 0):
                return web.Response(status=error.status, text=error.msg)
            bybit = from_binance(error)
            return _envelope({}, bybit.code, bybit.msg, self.exchange.now_ms)
        except BybitError as error:
            return _envelope({}, error.code, error.msg, self.exchange.now_ms)
        finally:
            self._publish()
        held = self.faults.take(Phase.AFTER, method, path)
        if held is not None:
            await self.faults.hold(held)
        return _envelope(result, now_ms=self.exchange.now_ms)  # market time: the time the data is of

    def _bybit_handle(
        self, method: str, path: str, signed: str, params: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Any:
        if path == "/v5/market/time":
            now = self._auth_clock.now_ms()
            return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}
        route = ROUTES.get((method, path))
        if route is None:
            raise not_found()
        if route.private:
            check_request(headers, signed, self.settings.secret_for, self._auth_clock.now_ms(),
                          self.settings.recv_window_max_ms)  # fmt: skip
        return route.handler(self.exchange, params)

    def _record_bybit_order(self, method: str, path: str, params: Mapping[str, Any]) -> None:
        if method != "POST" or path not in _ORDER_PATHS:
            return
        link = params.get("orderLinkId")
        text = {k: str(v) for k, v in params.items()}
        seq = len(self.order_requests) + 1
        self.order_requests.append(ReceivedOrderRequest(seq, method, path, str(link) if link else None, text))

    def sent_client_order_ids(self) -> list[str]:
        """orderLinkId of every order create received, in arrival order (repeats included)."""
        return [r.client_order_id for r in self.order_requests if r.path == "/v5/order/create" and r.client_order_id]


def _params(query: str, body: str) -> dict[str, Any]:
    """A GET's query parameters and a POST's JSON body, together; a body that is no JSON object is refused."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        try:
            decoded = json.loads(body)
        except ValueError:
            raise params_error("params error: body is not JSON") from None
        if not isinstance(decoded, dict):
            raise params_error("params error: body is not a JSON object")
        params |= decoded
    return params
