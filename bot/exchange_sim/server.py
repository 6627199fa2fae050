"""The loopback exchange simulator: an aiohttp server speaking Binance USDⓈ-M REST and websockets.

    sim = ExchangeSim(SimSettings(), events)      # events: Iterable[MarketEvent]
    port = await sim.start()                       # 127.0.0.1, port 0 = a free one
    await sim.advance(10)                          # step the market by hand (tests) ...
    await sim.run_feed()                           # ... or play it at the configured pace
    sim.faults.rate_limit(times=2)                 # script failures
    await sim.stop()

`serve(settings, events)` runs one until cancelled (`hedgebot exchange-sim`). Every order request received
is kept in `order_requests` (client order id and params), so tests can assert no client id was sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.clock import Clock, WallClock
from bot.domain import MarketEvent
from bot.exchange_sim import auth, errors, payloads
from bot.exchange_sim.answers import error_response
from bot.exchange_sim.coinm_api import CoinmApi
from bot.exchange_sim.countdown import Countdowns, arm_request
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.faults import Faults, Phase
from bot.exchange_sim.market_streams import MarketStreams
from bot.exchange_sim.orders import contract_of
from bot.exchange_sim.rest import ROUTES, Answer, Security
from bot.exchange_sim.settings import SimSettings
from bot.exchange_sim.spot_api import SpotApi
from bot.exchange_sim.streams import Payload, StreamHub
from bot.logs import get_logger

if TYPE_CHECKING:  # only a replay loads one (pandas): `hedgebot exchange-sim --prices`
    from bot.exchange_sim.kline_history import KlineHistory

_ORDER_PATHS = frozenset({"/fapi/v1/order", "/fapi/v1/batchOrders"})
_LISTEN_KEY_PATH = "/fapi/v1/listenKey"
_COUNTDOWN_PATH = "/fapi/v1/countdownCancelAll"
_COUNTDOWN_TICK_S = 0.5  # how often an armed countdown is checked while no request or market event comes


RequestTap = Callable[[Phase, str, str], bool]  # (phase, method, path) → drop the request unprocessed?


@dataclass(frozen=True, slots=True)
class ReceivedOrderRequest:
    """One request to an order endpoint, as received (before faults and checks), without its signature."""

    seq: int
    method: str
    path: str
    client_order_id: str | None  # newClientOrderId on create, origClientOrderId on query/cancel
    params: Mapping[str, str]


class ExchangeSim:
    def __init__(
        self,
        settings: SimSettings,
        events: Iterable[MarketEvent],
        *,
        auth_clock: Clock | None = None,
        countdown_clock: Clock | None = None,
        kline_history: KlineHistory | None = None,
    ) -> None:
        self.settings = settings
        self._events: Iterator[MarketEvent] = iter(events)
        self._pending: MarketEvent | None = next(self._events, None)  # peeked: market time starts at it
        self.exchange = SimExchange(settings, self._pending.ts if self._pending else 0)
        self.faults = Faults()
        self.market_streams = MarketStreams(self.exchange)
        self.hub = StreamHub(self.faults, self.market_streams.snapshot, self._is_listen_key)
        self.countdowns = Countdowns()
        self._countdown_task: asyncio.Task[None] | None = None
        self.order_requests: list[ReceivedOrderRequest] = []
        # Observers of every REST request, called before it is processed and after (before anything is published
        # or answered); a tap returning True before processing drops the request unprocessed (answered 503), as
        # if it never arrived. Crash tests kill the client from here at exact points of its conversation.
        self.taps: list[RequestTap] = []
        self.events_applied = 0
        self.feed_finished = asyncio.Event()  # set when `run_feed` has played the whole feed
        self._auth_clock = auth_clock or WallClock()
        self.spot = SpotApi(self.exchange, self.faults, self._auth_clock)  # Binance's spot API (spot_api.py)
        # Binance's COIN-M API (coinm_api.py): served when `settings.coinm_bases` lists coins
        # countdownCancelAll runs on the exchange's time, the request clock unless a test moves it on by itself
        # (a killed client's countdown runs out without the test waiting a minute or skewing signed requests)
        self.countdown_clock = countdown_clock or self._auth_clock
        self.coinm = CoinmApi(
            settings, self.exchange.now_ms, self.faults, self._auth_clock, self.countdown_clock,
            record=self._record_order_request,
        )  # fmt: skip
        self.exchange.transfers.coin_engines = self.coinm.desk.engines  # MAIN_CMFUTURE moves coin into them
        self.exchange.market.history = kline_history  # a replay's klines, from before its start too
        self._listen_key: str | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.log = get_logger(component="exchange_sim")

    # ---- lifecycle ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def _add_routes(self, app: web.Application) -> None:
        """The Binance dialect's routes (a subclass speaking another dialect serves its own instead)."""
        app.router.add_route("*", "/fapi/{tail:.*}", self._dispatch)
        app.router.add_route("*", "/futures/{tail:.*}", self._dispatch)
        app.router.add_route("*", "/sapi/{tail:.*}", self._dispatch)  # wallet transfers (transfers.py)
        self.spot.add_routes(app, self._dispatch)  # Binance's spot API, and its host's /sapi wallet routes
        self.coinm.add_routes(app, self._dispatch)  # /dapi, the /coinm streams, its host's /sapi wallet routes
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/stream", self._combined_websocket)
        app.router.add_get("/{category:public|market}/stream", self._combined_websocket)  # Binance's routed URLs
        app.router.add_get("/ws/{tail}", self._websocket)
        app.router.add_get("/{category:public|market|private}/ws", self._websocket)
        app.router.add_get("/{category:public|market|private}/ws/{tail}", self._websocket)

    async def start(self) -> int:
        app = web.Application()
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.faults.attach(self)
        self._countdown_task = asyncio.create_task(self._expire_countdowns_forever(), name="sim-countdown")
        self.log.info("exchange_sim_listening", url=self.base_url, contracts=len(self.exchange.catalog.all()))
        return self.port

    async def stop(self) -> None:
        self.faults.release()  # answer requests held by a timeout fault, or shutdown would wait for them
        if self._countdown_task is not None:
            self._countdown_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._countdown_task
            self._countdown_task = None
        await self.hub.drop_all()
        await self.spot.stop()
        await self.coinm.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ExchangeSim:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- the market -----------------------------------------------------------------------------------

    def push(self, event: MarketEvent) -> None:
        """Apply one market event now and publish what it changed."""
        self.exchange.on_event(event)
        self.spot.on_event(event)
        self.coinm.on_event(event)
        self.events_applied += 1
        self.expire_countdowns()
        self._publish()

    async def advance(self, n: int = 1) -> int:
        """Apply the next `n` events of the feed; returns how many there were (fewer at its end)."""
        applied = 0
        while applied < n and (event := self._next_event()) is not None:
            self.push(event)
            applied += 1
        return applied

    async def run_feed(self) -> int:
        """Play the rest of the feed at the configured pace; returns how many events were applied."""
        eps, multiplier = self.settings.events_per_second, self.settings.time_multiplier
        applied, previous_ts = 0, None
        while (event := self._next_event()) is not None:
            if eps is not None:
                await asyncio.sleep(1.0 / eps)
            elif multiplier is not None and previous_ts is not None:
                await asyncio.sleep(max(0, event.ts - previous_ts) / 1000.0 / multiplier)
            else:
                await asyncio.sleep(0)  # as fast as possible, but let requests and writers in
            self.push(event)
            applied, previous_ts = applied + 1, event.ts
        self.feed_finished.set()
        return applied

    def _next_event(self) -> MarketEvent | None:
        if self._pending is not None:
            event, self._pending = self._pending, None
            return event
        return next(self._events, None)

    # ---- REST -----------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        body = await request.text()
        raw = "&".join(part for part in (request.rel_url.raw_query_string, body) if part)
        self._record_order_request(method, path, raw)
        self.expire_countdowns()
        try:
            if self._tapped(Phase.BEFORE, method, path):
                raise errors.service_unavailable_text()
            rule = self.faults.take(Phase.BEFORE, method, path)
            if rule is not None:
                raise rule.as_error()
            answer = await self._handle(method, path, raw, request.headers)
            self._tapped(Phase.AFTER, method, path)
        except BinanceError as error:
            return error_response(error)
        finally:
            self._publish()
        held = self.faults.take(Phase.AFTER, method, path)
        if held is not None:
            await self.faults.hold(held)
        return web.json_response(answer)

    def _tapped(self, phase: Phase, method: str, path: str) -> bool:
        """Tell every tap; True when one drops the request (only before it is processed)."""
        dropped = [tap(phase, method, path) for tap in list(self.taps)]
        return phase is Phase.BEFORE and any(dropped)

    async def _handle(self, method: str, path: str, raw: str, headers: Mapping[str, str]) -> Answer:
        if path == "/fapi/v1/time":
            return {"serverTime": self._auth_clock.now_ms()}
        if path == "/fapi/v1/exchangeInfo":
            return payloads.exchange_info(self.exchange.catalog, self.exchange.now_ms, self._auth_clock.now_ms())
        if path == _LISTEN_KEY_PATH:
            auth.require_api_key(headers, self.settings.secret_for)
            return await self._listen_key_request(method)
        if (method, path) == ("POST", _COUNTDOWN_PATH):
            return self._countdown(self._signed(raw, headers))
        route = ROUTES.get((method, path))
        if route is None:
            raise errors.unknown_path()
        if route.security is Security.API_KEY:
            auth.require_api_key(headers, self.settings.secret_for)
        params = self._signed(raw, headers) if route.security is Security.SIGNED else auth.parse_params(raw)
        return route.handler(self.exchange, params)

    def _signed(self, raw: str, headers: Mapping[str, str]) -> dict[str, str]:
        secret = auth.require_api_key(headers, self.settings.secret_for)
        return auth.check_signed(raw, secret, self._auth_clock.now_ms(), self.settings.recv_window_max_ms)

    # ---- countdownCancelAll: the exchange's dead-man's switch -----------------------------------------

    def _countdown(self, params: Mapping[str, str]) -> Answer:
        contract = contract_of(params, self.exchange.catalog)
        assert contract is not None
        return arm_request(self.countdowns, contract.id, params, self.countdown_clock.now_ms())

    def expire_countdowns(self) -> list[str]:
        """Cancel every open order of each symbol whose countdown ran out (by `countdown_clock`, as Binance's
        runs on its own time, not the market's); the symbols cancelled."""
        expired = self.countdowns.due(self.countdown_clock.now_ms())
        for symbol_id in expired:
            cancelled = self.exchange.cancel_all({"symbol": symbol_id})
            self.log.info("exchange_sim_countdown_expired", symbol=symbol_id, cancelled=cancelled)
        if expired:
            self._publish()
        return expired + self.coinm.expire_countdowns()  # COIN-M's symbols, on the same clock

    async def _expire_countdowns_forever(self) -> None:
        while True:  # a timer of the server, not a test's synchronisation: it runs while nothing else happens
            await asyncio.sleep(_COUNTDOWN_TICK_S)
            self.expire_countdowns()

    async def _listen_key_request(self, method: str) -> Answer:
        """One listen key per account, as on Binance: POST returns the live one or a new one."""
        if method == "POST":
            if self._listen_key is None:
                self._listen_key = secrets.token_hex(32)
            return {"listenKey": self._listen_key}
        if method == "PUT":
            if self._listen_key is None:
                raise errors.listen_key_does_not_exist()
            return {"listenKey": self._listen_key}
        if method == "DELETE":
            key, self._listen_key = self._listen_key, None
            if key is not None:
                await self.hub.close_user(key)
            return {}
        raise errors.unknown_path()

    def _record_order_request(self, method: str, path: str, raw: str) -> None:
        if path not in _ORDER_PATHS:
            return
        params = auth.parse_params(auth.signed_payload(raw)[0])
        client_id = params.get("newClientOrderId") if method == "POST" else params.get("origClientOrderId")
        self.order_requests.append(ReceivedOrderRequest(len(self.order_requests) + 1, method, path, client_id, params))

    def sent_client_order_ids(self) -> list[str]:
        """newClientOrderId of every order create received, in arrival order (repeats included)."""
        return [r.client_order_id for r in self.order_requests if r.method == "POST" and r.client_order_id]

    # ---- websockets -----------------------------------------------------------------------------------

    def _is_listen_key(self, key: str) -> bool:
        return self._listen_key is not None and key == self._listen_key

    async def _combined_websocket(self, request: web.Request) -> web.StreamResponse:
        rule = self.faults.take(Phase.BEFORE, request.method, request.path)
        if rule is not None:
            return error_response(rule.as_error())
        names = [s for s in request.query.get("streams", "").split("/") if s]
        return await self.hub.serve_market(request, names, combined=True)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        rule = self.faults.take(Phase.BEFORE, request.method, request.path)
        if rule is not None:
            return error_response(rule.as_error())
        category = request.match_info.get("category", "")
        tail = request.match_info.get("tail", "")
        legacy_key = category in ("", "private") and bool(tail) and "@" not in tail and not tail.isdigit()
        key = request.query.get("listenKey") or (tail if legacy_key else "")  # /ws/<listenKey> is the old form
        if category == "private" or key:
            if not key or key != self._listen_key:
                return error_response(errors.listen_key_does_not_exist())
            return await self.hub.serve_user(request, key)
        return await self.hub.serve_market(request, [tail] if "@" in tail else [])

    def _publish(self) -> None:
        moved = self.exchange.drain_moved()
        moment = self.market_streams.moment(moved, self.hub.subscribed_streams())
        if not moment.empty:
            cache: dict[str, list[Payload]] = {}

            def for_stream(stream: str) -> list[Payload]:
                if stream not in cache:
                    cache[stream] = self.market_streams.payloads(stream, moment)
                return cache[stream]

            self.hub.publish_market(for_stream)
        self.hub.publish_user(self.exchange.drain_user_events())
        self.spot.publish()
        self.coinm.publish()

    # ---- stream faults (StreamControl) ------------------------------------------------------------------

    async def drop_websockets(self) -> int:
        return await self.hub.drop_all()

    async def expire_listen_keys(self, listen_key: str | None) -> int:
        key = self._listen_key
        if key is None or (listen_key is not None and listen_key != key):
            return 0
        self._listen_key = None
        now = self.exchange.now_ms
        return await self.hub.close_user(key, lambda k: {"e": "listenKeyExpired", "E": now, "listenKey": k})


async def serve(
    settings: SimSettings,
    events: Iterable[MarketEvent],
    *,
    on_start: Callable[[ExchangeSim], None] | None = None,
    kline_history: KlineHistory | None = None,
    dialect: type[ExchangeSim] | None = None,
) -> None:
    """Run a simulator until cancelled: listen, play the feed at the configured pace, then keep serving.

    `on_start` is called with the started simulator (its port, faults, ...) before the feed plays; `dialect`
    is the simulator class speaking another exchange's API (bot.exchange_sim.bybit.BybitSim), else Binance's.
    """
    sim = (dialect or ExchangeSim)(settings, events, kline_history=kline_history)
    await sim.start()
    if on_start is not None:
        on_start(sim)
    try:
        applied = await sim.run_feed()
        sim.log.info("exchange_sim_feed_finished", events=applied, market_time=sim.exchange.now_ms)
        await asyncio.Event().wait()
    finally:
        await sim.stop()
