"""Websocket side of the simulator: market streams and user-data streams, as Binance USDⓈ-M serves them.

Paths (ccxt.pro rewrites its `/ws` base per category): `/ws[/<n>]`, `/public/ws[/<n>]`, `/market/ws[/<n>]`
for market data (SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS frames; a raw-stream path like
`/ws/btcusdt@bookTicker` subscribes on connect), `/private/ws?listenKey=KEY` or `/ws/<listenKey>` for the user
stream, and `/stream?streams=a/b` for combined streams (each message wrapped as `{"stream": name, "data": …}`).
Which streams exist is `market_streams.py`'s. On SUBSCRIBE the current value of each value stream is sent at
once (Binance would send it within its 1 s cadence), which lets tests step the market without waiting. A
SUBSCRIBE naming the account's listen key (what Binance's futures connector sends for `user_data`) makes that
market connection carry the user-data events too.

Each connection has a send queue and a writer task, so publishing is synchronous and never blocks the
matching engine. Tests synchronise with `wait_subscribed` / `wait_user_connections` (conditions, no sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.exchange_sim.faults import Faults

Payload = dict[str, Any] | list[dict[str, Any]]
_CLOSE_TIMEOUT_S = 1.0  # how long a close (drop, expiry, shutdown) waits for the client's close frame
# (stream name) -> payloads to send for it now: [] when there is nothing to say yet
SnapshotFn = Callable[[str], list[Payload]]


@dataclass(eq=False, slots=True)
class Connection:
    ws: web.WebSocketResponse
    is_user: bool
    listen_key: str | None = None
    streams: set[str] = field(default_factory=set)
    combined: bool = False  # /stream: every message wrapped with its stream name
    user_keys: set[str] = field(default_factory=set)  # listen keys SUBSCRIBEd on a market connection
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    sent: int = 0

    def send(self, text: str) -> None:
        self.queue.put_nowait(text)


class StreamHub:
    def __init__(self, faults: Faults, snapshot: SnapshotFn, is_listen_key: Callable[[str], bool]) -> None:
        self._faults = faults
        self._snapshot = snapshot
        self._is_listen_key = is_listen_key
        self._connections: set[Connection] = set()
        self._changed = asyncio.Condition()
        self.connections_opened = 0
        self.data_messages_queued = 0  # market and user data (not control replies), for silence checks

    # ---- serving ------------------------------------------------------------------------------------

    async def serve_market(
        self, request: web.Request, initial_streams: Iterable[str] = (), *, combined: bool = False
    ) -> web.WebSocketResponse:
        conn = await self._open(request, is_user=False)
        conn.combined = combined
        if initial_streams:
            await self._subscribe(conn, list(initial_streams))
        return await self._run(conn)

    async def serve_user(self, request: web.Request, listen_key: str) -> web.WebSocketResponse:
        conn = await self._open(request, is_user=True, listen_key=listen_key)
        return await self._run(conn)

    async def _open(self, request: web.Request, *, is_user: bool, listen_key: str | None = None) -> Connection:
        ws = web.WebSocketResponse(autoping=True, timeout=_CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        conn = Connection(ws, is_user, listen_key)
        self._connections.add(conn)
        self.connections_opened += 1
        await self._notify()
        return conn

    async def _run(self, conn: Connection) -> web.WebSocketResponse:
        writer = asyncio.create_task(self._write(conn), name="sim-ws-writer")
        try:
            async for msg in conn.ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, msg.data)
        finally:
            self._connections.discard(conn)
            conn.queue.put_nowait(None)
            await writer
            await self._notify()
        return conn.ws

    async def _write(self, conn: Connection) -> None:
        while (text := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # the peer went away mid-send: the reader loop ends too
                return
            conn.sent += 1

    async def _on_frame(self, conn: Connection, text: str) -> None:
        try:
            frame = json.loads(text)
            method, params, request_id = frame.get("method"), frame.get("params") or [], frame.get("id")
        except (ValueError, AttributeError):
            conn.send(json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
            return
        if method == "SUBSCRIBE" and isinstance(params, list):
            conn.send(json.dumps({"result": None, "id": request_id}))
            keys = {str(p) for p in params if "@" not in str(p) and self._is_listen_key(str(p))}
            conn.user_keys.update(keys)
            await self._subscribe(conn, [str(p) for p in params if str(p) not in keys])
            await self._notify()
        elif method == "UNSUBSCRIBE" and isinstance(params, list):
            conn.streams.difference_update(str(p) for p in params)
            conn.user_keys.difference_update(str(p) for p in params)
            conn.send(json.dumps({"result": None, "id": request_id}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send(json.dumps({"result": sorted(conn.streams | conn.user_keys), "id": request_id}))
        elif method in ("SET_PROPERTY", "GET_PROPERTY"):
            conn.send(json.dumps({"result": None, "id": request_id}))
        else:
            error = {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}
            conn.send(json.dumps({"error": error, "id": request_id}))

    async def _subscribe(self, conn: Connection, streams: list[str]) -> None:
        conn.streams.update(streams)
        if not self._faults.market_silent:
            for stream in streams:
                for payload in self._snapshot(stream):
                    self._send_data(conn, _encode(stream, payload, conn.combined))
        await self._notify()

    # ---- publishing ---------------------------------------------------------------------------------

    def publish_market(self, payloads_by_stream: Callable[[str], list[Payload]]) -> None:
        """Send each market connection what its streams have to say now (`payloads_by_stream` is cached)."""
        if self._faults.market_silent:
            return
        encoded: dict[tuple[str, bool], list[str]] = {}
        for conn in self._connections:
            if conn.is_user:
                continue
            for stream in conn.streams:
                texts = encoded.get((stream, conn.combined))
                if texts is None:
                    made = [_encode(stream, p, conn.combined) for p in payloads_by_stream(stream)]
                    texts = encoded[(stream, conn.combined)] = made
                for text in texts:
                    self._send_data(conn, text)

    def publish_market_text(self, texts_by_stream: Callable[[str], list[str]]) -> None:
        """Send raw text frames to the market connections subscribed to a stream: a test hook for what no
        payload encodes (truncated or otherwise broken JSON)."""
        if self._faults.market_silent:
            return
        for conn in self._connections:
            if not conn.is_user:
                for stream in conn.streams:
                    for text in texts_by_stream(stream):
                        self._send_data(conn, text)

    def publish_user(self, events: list[dict[str, Any]]) -> None:
        if self._faults.user_silent or not events:
            return
        texts = [json.dumps(e) for e in events]
        for conn in self._connections:
            if conn.is_user:
                for text in texts:
                    self._send_data(conn, text)
            for key in [k for k in conn.user_keys if self._is_listen_key(k)]:
                for event in events:
                    self._send_data(conn, _encode(key, event, conn.combined))

    def _send_data(self, conn: Connection, text: str) -> None:
        conn.send(text)
        self.data_messages_queued += 1

    # ---- faults and shutdown ------------------------------------------------------------------------

    async def drop_all(self) -> int:
        conns = list(self._connections)
        for conn in conns:
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the simulator")
        return len(conns)

    async def close_user(self, listen_key: str | None, notice: Callable[[str], dict[str, Any]] | None = None) -> int:
        """Close the user streams of `listen_key` (all when None), after sending `notice(key)` if given."""
        conns = [c for c in self._connections if c.is_user and (listen_key is None or c.listen_key == listen_key)]
        for conn in conns:
            if notice is not None and conn.listen_key is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.send_str(json.dumps(notice(conn.listen_key)))
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"listenKey expired")
        return len(conns)

    # ---- synchronisation for tests ------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_subscribed(self, stream: str) -> None:
        """Return once some market connection subscribes to `stream`."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: any(stream in c.streams or stream in c.user_keys for c in self._connections)
            )

    async def wait_user_connections(self, count: int = 1) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: sum(c.is_user for c in self._connections) >= count)

    async def wait_connections(self, count: int) -> None:
        """Return once exactly `count` connections (market and user) are open (0: all closed)."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._connections) == count)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def subscribed_streams(self) -> set[str]:
        """Every market stream some connection is subscribed to."""
        streams: set[str] = set()
        for conn in self._connections:
            streams |= conn.streams
        return streams


def _encode(stream: str, payload: Payload | dict[str, Any], combined: bool) -> str:
    return json.dumps({"stream": stream, "data": payload} if combined else payload)
