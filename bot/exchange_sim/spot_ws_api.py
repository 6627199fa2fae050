"""Binance's spot WebSocket API (`/ws-api/v3`), as far as its user data stream: what ccxt.pro's spot
`watch_balance` speaks.

ccxt 4.5 no longer takes a listen key for spot: it opens the WebSocket API (`wss://ws-api.binance.com/ws-api/v3`,
rewritten to `ws://HOST:PORT/spot/ws-api/v3` by bot.venues.ccxt_client.point_at) and sends

    {"id": "1", "method": "userDataStream.subscribe.signature",
     "params": {"apiKey": KEY, "timestamp": MS, "recvWindow": MS, "signature": HMAC}}

answered `{"id": "1", "status": 200, "result": {"subscriptionId": 0}}`; from then on every user data event comes
wrapped as `{"subscriptionId": 0, "event": {...}}`. Served too: `session.logon` then `userDataStream.subscribe`
(the key-per-session way), `userDataStream.unsubscribe`, `ping` and `time`. A request it cannot take is answered
with Binance's status and error code (a bad signature: 400 / -1022), so ccxt raises what it would raise at
Binance. The events are the spot API's (spot_api.py): `balanceUpdate` and `outboundAccountPosition` whenever a
spot-wallet balance changes (a deposit, a withdrawal, a transfer). `Faults.user_silent` silences them;
`drop_all` closes every session, as a network loss would; `refusing` answers new connections 503 (an outage).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.clock import Clock
from bot.exchange_sim import auth, errors
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.faults import Faults

PATHS = ("/spot/ws-api/v3", "/ws-api/v3")  # the spot host's prefix, and the root as the spot REST API has it
_CLOSE_TIMEOUT_S = 1.0


@dataclass(eq=False, slots=True)
class _Session:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    subscriptions: set[int] = field(default_factory=set)
    logged_on: bool = False  # session.logon succeeded: requests need no signature of their own

    def send(self, message: dict[str, Any]) -> None:
        self.queue.put_nowait(json.dumps(message))


class SpotWsApi:
    """The WebSocket API's sessions and user data subscriptions (see the module docstring)."""

    def __init__(self, secret_for: Callable[[str], str | None], recv_window_max_ms: int, clock: Clock,
                 faults: Faults) -> None:  # fmt: skip
        self._secret_for = secret_for
        self._recv_window_max_ms = recv_window_max_ms
        self._clock = clock
        self._faults = faults
        self._sessions: set[_Session] = set()
        self._changed = asyncio.Condition()
        self._next_subscription = 0
        self.events_sent = 0
        self.refusing = False  # a test's outage: new connections are answered 503, open ones are left alone

    def add_routes(self, app: web.Application) -> None:
        for path in PATHS:
            app.router.add_get(path, self._serve)

    # ---- publishing -----------------------------------------------------------------------------------

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Send each user data event to every subscription (unless the user streams are silenced)."""
        if self._faults.user_silent:
            return
        for session in self._sessions:
            for subscription in sorted(session.subscriptions):
                for event in events:
                    session.send({"subscriptionId": subscription, "event": event})
                    self.events_sent += 1

    async def drop_all(self) -> int:
        sessions = list(self._sessions)
        for session in sessions:
            await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the simulator")
        return len(sessions)

    async def wait_subscriptions(self, count: int = 1) -> None:
        """Return once `count` user data subscriptions are live (a test's condition, never a sleep)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.subscriptions >= count)

    @property
    def subscriptions(self) -> int:
        return sum(len(session.subscriptions) for session in self._sessions)

    # ---- serving --------------------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        if self.refusing:
            raise web.HTTPServiceUnavailable(text="the WebSocket API is down (simulated outage)")
        ws = web.WebSocketResponse(autoping=True, timeout=_CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        session = _Session(ws)
        self._sessions.add(session)
        writer = asyncio.create_task(self._write(session), name="sim-ws-api-writer")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    session.send(self._answer(session, msg.data))
                    await self._notify()
        finally:
            self._sessions.discard(session)
            session.queue.put_nowait(None)
            await writer
            await self._notify()
        return ws

    async def _write(self, session: _Session) -> None:
        while (text := await session.queue.get()) is not None:
            if session.ws.closed:
                return
            try:
                await session.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # the peer went away mid-send: the reader loop ends too
                return

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _answer(self, session: _Session, text: str) -> dict[str, Any]:
        try:
            request = json.loads(text)
            request_id, method = request.get("id"), request.get("method")
            params = request.get("params") or {}
            if not isinstance(params, dict):
                raise AttributeError("params")
        except (ValueError, AttributeError):
            return _error(None, errors.bad_request(-1100, "Illegal characters found in a parameter."))
        try:
            return {"id": request_id, "status": 200, "result": self._handle(session, str(method), params)}
        except BinanceError as error:
            return _error(request_id, error)

    def _handle(self, session: _Session, method: str, params: dict[str, Any]) -> dict[str, Any]:
        now = self._clock.now_ms()
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now}
        if method == "session.logon":
            self._check_signed(params)
            session.logged_on = True
            return {"apiKey": params.get("apiKey"), "authorizedSince": now, "connectedSince": now,
                    "returnRateLimits": False, "serverTime": now}  # fmt: skip
        if method in ("userDataStream.subscribe", "userDataStream.subscribe.signature"):
            if method.endswith(".signature") or not session.logged_on:
                self._check_signed(params)
            return {"subscriptionId": self._subscribe(session)}
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            session.subscriptions.difference_update(session.subscriptions if wanted is None else {int(wanted)})
            return {}
        raise errors.bad_request(-1100, f"Unknown method {method!r}.")

    def _subscribe(self, session: _Session) -> int:
        subscription, self._next_subscription = self._next_subscription, self._next_subscription + 1
        session.subscriptions.add(subscription)
        return subscription

    def _check_signed(self, params: dict[str, Any]) -> None:
        """The request's signature over its other parameters, sorted by name (Binance's WebSocket API rule)."""
        if not params.get("apiKey"):
            raise errors.missing_parameter("apiKey")
        secret = self._secret_for(str(params["apiKey"]))
        if secret is None:
            raise errors.invalid_api_key()
        payload = "&".join(f"{key}={_text(value)}" for key, value in sorted(params.items()) if key != "signature")
        raw = f"{payload}&signature={params.get('signature', '')}"
        auth.check_signed(raw, secret, self._clock.now_ms(), self._recv_window_max_ms)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _error(request_id: Any, error: BinanceError) -> dict[str, Any]:
    return {"id": request_id, "status": error.status, "error": error.body()}
