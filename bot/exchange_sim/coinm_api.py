"""The simulator's Binance COIN-M API over HTTP and websockets, beside its USDⓈ-M one (`ExchangeSim.coinm`).

REST at `/dapi/v1/...` and `/dapi/v2/leverageBracket` (also under `/coinm/dapi/...`); websockets under `/coinm`
(`/coinm/ws`, `/coinm/{public|market|private}/ws[/<n>]`, `/coinm/stream`), because Binance serves COIN-M
streams from its own host, whose `/ws` path would collide with the USDⓈ-M streams'. A ccxt `binancecoinm`
client pointed at `http://HOST:PORT/coinm` (bot.venues.ccxt_client.point_at) reaches all of it.

Requests naming a symbol go to that coin's engine (coinm.py) through the USDⓈ-M handlers (rest.py): orders,
queries, trades, income, leverage, margin type, market data. Requests without one ask every engine and join the
answers; the account, balances, positions and brackets have COIN-M shapes (coinm_payloads.py). The user stream
(a listen key from `POST /dapi/v1/listenKey`) carries every coin's ORDER_TRADE_UPDATE and ACCOUNT_UPDATE, in
the coin. The USDⓈ-M implementations serve `batchOrders` (a batch is split by coin, each part to its engine,
the answers in the batch's order), the algo (conditional) order API that ccxt sends COIN-M's STOP_MARKET and
TAKE_PROFIT_MARKET to, and countdownCancelAll (countdown.py; expired by the server's countdown clock with the
USDⓈ-M ones). Not served: hedge mode, `order/test`, the USDⓈ-M-only account settings, and wallet
transfers to or from the COIN-M wallets.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.exchange_sim import auth, coinm_payloads, errors
from bot.exchange_sim.answers import error_response, rest_answer
from bot.exchange_sim.coinm import CoinmDesk, CoinmExchange
from bot.exchange_sim.countdown import Countdowns, arm_request
from bot.exchange_sim.faults import Faults
from bot.exchange_sim.market_streams import MarketStreams, Moment
from bot.exchange_sim.rest import ROUTES, Route, Security, json_list
from bot.exchange_sim.settings import SimSettings
from bot.exchange_sim.streams import Payload, StreamHub

_PREFIX = "/coinm"
_LISTEN_KEY_PATH = "/dapi/v1/listenKey"
# USDⓈ-M paths the COIN-M side does not serve (COIN-M has no such endpoint, or the simulator leaves it out)
_NOT_SERVED = frozenset({"positionSide/dual", "order/test", "multiAssetsMargin", "symbolConfig", "accountConfig"})
_COUNTDOWN_PATH = "/dapi/v1/countdownCancelAll"
_BATCH_PATH = "/dapi/v1/batchOrders"
Account = Callable[[list[CoinmExchange]], Any]
_ACCOUNT_ROUTES: dict[tuple[str, str], Account] = {
    ("GET", "/dapi/v1/account"): coinm_payloads.account,
    ("GET", "/dapi/v1/balance"): coinm_payloads.balance,
}
_BRACKET_PATHS = frozenset({"/dapi/v1/leverageBracket", "/dapi/v2/leverageBracket"})
_ALWAYS_LISTS = frozenset({"/dapi/v1/premiumIndex", "/dapi/v1/ticker/24hr", "/dapi/v1/ticker/price",
                           "/dapi/v1/ticker/bookTicker"})  # fmt: skip


def _usdm_route(method: str, path: str) -> Route | None:
    """The USDⓈ-M handler a COIN-M path shares (`/dapi/v1/order` → `/fapi/v1/order`), unless not served."""
    tail = path.removeprefix("/dapi/v1/")
    if tail == path or tail in _NOT_SERVED:
        return None
    return ROUTES.get((method, f"/fapi/v1/{tail}"))


Recorder = Callable[[str, str, str], None]  # (method, USDⓈ-M path, raw params): the simulator's order-request log


class CoinmApi:
    def __init__(
        self,
        settings: SimSettings,
        start_ms: int,
        faults: Faults,
        auth_clock: Clock,
        countdown_clock: Clock,
        record: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self._record = record  # order requests join the USDⓈ-M ones in one log: a client id sent twice shows
        self.desk = CoinmDesk(settings, start_ms)
        self.rest_faults = faults  # the simulator's: a rule on "/dapi/v1/account" fails that read
        self.streams = {engine.coin: MarketStreams(engine) for engine in self.desk}
        self.hub = StreamHub(Faults(), self._snapshot, self._is_listen_key)
        self._auth_clock = auth_clock
        self.countdowns = Countdowns()  # countdownCancelAll per COIN-M symbol, on the server's countdown clock
        self._countdown_clock = countdown_clock
        self._listen_key: str | None = None

    @property
    def engines(self) -> list[CoinmExchange]:
        return list(self.desk)

    def add_routes(self, app: web.Application, sapi: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        """The COIN-M routes; `sapi` serves the wallet endpoints (universal transfers into the coin wallets) that a
        client of the COIN-M host sends under its prefix (`/coinm/sapi/...`)."""
        if not self.desk.engines:
            return

        async def unprefixed_sapi(request: web.Request) -> web.StreamResponse:
            # the whole relative URL, query included (ccxt signs sapi requests in the query string)
            return await sapi(request.clone(rel_url=str(request.rel_url).removeprefix(_PREFIX)))

        for prefix in ("", _PREFIX):
            app.router.add_route("*", prefix + "/dapi/{tail:.*}", self._dispatch)
        app.router.add_route("*", _PREFIX + "/sapi/{tail:.*}", unprefixed_sapi)
        app.router.add_get(_PREFIX + "/ws", self._websocket)
        app.router.add_get(_PREFIX + "/ws/{tail}", self._websocket)
        app.router.add_get(_PREFIX + "/{category:public|market|private}/ws", self._websocket)
        app.router.add_get(_PREFIX + "/{category:public|market|private}/ws/{tail}", self._websocket)
        app.router.add_get(_PREFIX + "/stream", self._combined)

    async def stop(self) -> None:
        await self.hub.drop_all()

    # ---- the market ---------------------------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        self.desk.on_event(event)

    def publish(self) -> None:
        """Market data that moved to the market streams, account and order events to the user stream."""
        subscribed = self.hub.subscribed_streams()
        for engine in self.desk:
            streams = self.streams[engine.coin]
            moment = streams.moment(engine.drain_moved(), subscribed)
            if not moment.empty:
                self.hub.publish_market(functools.partial(_payloads, streams, moment))
        self.hub.publish_user(self.desk.drain_user_events())

    def _snapshot(self, stream: str) -> list[Payload]:
        engine = self.desk.engine_of(stream.partition("@")[0])
        return self.streams[engine.coin].snapshot(stream) if engine is not None else []

    # ---- REST -----------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.expire_countdowns()  # a request after a deadline finds the orders cancelled, as on Binance
        return await rest_answer(request, _PREFIX, self.rest_faults, self._handle, self.publish)

    def _handle(self, method: str, path: str, raw: str, headers: Mapping[str, str]) -> Any:
        if self._record is not None and path.startswith("/dapi/v1/"):
            self._record(method, path.replace("/dapi/", "/fapi/", 1), raw)
        if path == "/dapi/v1/time":
            return {"serverTime": self._auth_clock.now_ms()}
        if path == "/dapi/v1/exchangeInfo":
            return coinm_payloads.exchange_info(self.engines, self._auth_clock.now_ms())
        if path == _LISTEN_KEY_PATH:
            auth.require_api_key(headers, self.settings.secret_for)
            return self._listen_key_request(method)
        account = _ACCOUNT_ROUTES.get((method, path))
        if account is not None:
            self._signed(raw, headers)
            return account(self.engines)
        if method == "GET" and path in _BRACKET_PATHS:
            params = self._signed(raw, headers)
            if path == "/dapi/v1/leverageBracket":  # by pair, as Binance's v1 answers: one row per pair
                by_pair = {c.pair: (e, c) for e, c in reversed(self._chosen(params))}  # the first of each pair
                return [coinm_payloads.leverage_brackets(e, c, by_pair=True) for e, c in reversed(by_pair.values())]
            return [coinm_payloads.leverage_brackets(e, c) for e, c in self._chosen(params)]
        if (method, path) == ("GET", "/dapi/v1/positionRisk"):
            params = self._signed(raw, headers)
            return [coinm_payloads.position_row(e, c) for e, c in self._chosen(params)]
        if (method, path) == ("POST", _COUNTDOWN_PATH):
            return self._countdown(self._signed(raw, headers))
        route = _usdm_route(method, path)
        if route is None:
            raise errors.unknown_path()
        if route.security is Security.API_KEY:
            auth.require_api_key(headers, self.settings.secret_for)
        params = self._signed(raw, headers) if route.security is Security.SIGNED else auth.parse_params(raw)
        if (method, path) == ("POST", _BATCH_PATH):
            return self._coinm_answer(self._batch(route, params))
        answer = self._coinm_answer(self._route(route, params))
        if path in _ALWAYS_LISTS and isinstance(answer, dict):
            return [answer]  # COIN-M answers a list even for one symbol
        return answer

    def _route(self, route: Route, params: Mapping[str, str]) -> Any:
        symbol_id = params.get("symbol", "")
        if symbol_id:
            engine = self.desk.engine_of(symbol_id)
            if engine is None:
                raise errors.invalid_symbol()
            return route.handler(engine, params)
        answers = [route.handler(engine, params) for engine in self.desk]
        if all(isinstance(a, list) for a in answers):
            return [row for answer in answers for row in answer]
        return answers[0]  # an answer about no symbol in particular (ping, cancel-all refused, ...)

    def _batch(self, route: Route, params: Mapping[str, str]) -> list[Any]:
        """A new-order batch split by coin, each part placed by the USDⓈ-M handler on its coin's engine, the
        answers put back in the batch's order. An item naming no listed symbol goes to the first engine, whose
        handler refuses it in place (-1121), as it refuses any malformed item."""
        items = json_list(params, "batchOrders")  # Binance's checks of the whole batch (a list, at most 5)
        parts: dict[CoinmExchange, list[int]] = {}
        for index, item in enumerate(items):
            symbol_id = str(item.get("symbol", "")) if isinstance(item, dict) else ""
            engine = self.desk.engine_of(symbol_id) or self.engines[0]
            parts.setdefault(engine, []).append(index)
        answers: list[Any] = [None] * len(items)
        for engine, indices in parts.items():
            part = {**params, "batchOrders": json.dumps([items[i] for i in indices])}
            for index, answer in zip(indices, route.handler(engine, part), strict=True):
                answers[index] = answer
        return answers

    def _countdown(self, params: Mapping[str, str]) -> dict[str, str]:
        symbol_id = params.get("symbol", "").upper()
        if self.desk.engine_of(symbol_id) is None:
            raise errors.invalid_symbol() if symbol_id else errors.missing_parameter("symbol")
        return arm_request(self.countdowns, symbol_id, params, self._countdown_clock.now_ms())

    def expire_countdowns(self) -> list[str]:
        """Cancel the open orders of each COIN-M symbol whose countdown ran out; the symbols cancelled."""
        expired = self.countdowns.due(self._countdown_clock.now_ms())
        for symbol_id in expired:
            engine = self.desk.engine_of(symbol_id)
            if engine is not None:
                engine.cancel_all({"symbol": symbol_id})
        if expired:
            self.publish()
        return expired

    def _chosen(self, params: Mapping[str, str]) -> list[tuple[CoinmExchange, Any]]:
        """(engine, contract) pairs a `symbol` or `pair` parameter names; every one without either."""
        symbol_id, pair = params.get("symbol", ""), params.get("pair", "")
        chosen = [
            (e, c)
            for e in self.desk
            for c in e.catalog.all()
            if (not symbol_id or c.id == symbol_id.upper()) and (not pair or c.pair == pair.upper())
        ]
        if symbol_id and not chosen:
            raise errors.invalid_symbol()
        return chosen

    def _coinm_answer(self, answer: Any) -> Any:
        if isinstance(answer, list):
            return [self._coinm_answer(row) for row in answer]
        if not isinstance(answer, dict) or "orderId" not in answer:
            return answer
        engine = self.desk.engine_of(str(answer.get("symbol", "")))
        face = engine.catalog.all()[0].instrument.contract_size if engine is not None else 1.0
        if "cumQuote" in answer:
            return coinm_payloads.coinm_order(answer, face)
        if "quoteQty" in answer:
            return coinm_payloads.coinm_trade(answer, face)
        return answer

    def _signed(self, raw: str, headers: Mapping[str, str]) -> dict[str, str]:
        secret = auth.require_api_key(headers, self.settings.secret_for)
        return auth.check_signed(raw, secret, self._auth_clock.now_ms(), self.settings.recv_window_max_ms)

    def _listen_key_request(self, method: str) -> dict[str, str]:
        """One listen key for the COIN-M account, as on Binance: POST returns the live one or a new one."""
        if method == "POST":
            if self._listen_key is None:
                self._listen_key = secrets.token_hex(32)
            return {"listenKey": self._listen_key}
        if method in ("PUT", "DELETE"):
            if self._listen_key is None:
                raise errors.listen_key_does_not_exist()
            key = self._listen_key
            if method == "DELETE":
                self._listen_key = None
            return {"listenKey": key} if method == "PUT" else {}
        raise errors.unknown_path()

    # ---- websockets -----------------------------------------------------------------------------------

    def _is_listen_key(self, key: str) -> bool:
        return self._listen_key is not None and key == self._listen_key

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        category = request.match_info.get("category", "")
        tail = request.match_info.get("tail", "")
        legacy_key = category in ("", "private") and bool(tail) and "@" not in tail and not tail.isdigit()
        key = request.query.get("listenKey") or (tail if legacy_key else "")
        if category == "private" or key:
            if not self._is_listen_key(key):
                return error_response(errors.listen_key_does_not_exist())
            return await self.hub.serve_user(request, key)
        return await self.hub.serve_market(request, [tail] if "@" in tail else [])

    async def _combined(self, request: web.Request) -> web.StreamResponse:
        names = [s for s in request.query.get("streams", "").split("/") if s]
        return await self.hub.serve_market(request, names, combined=True)


def _payloads(streams: MarketStreams, moment: Moment, stream: str) -> list[Payload]:
    return streams.payloads(stream, moment)
