"""Bybit v5 websockets over the simulator's core: public topics per category and the private stream.

Public (`/v5/public/linear`): `tickers.<id>`, `kline.<interval>.<id>` and `orderbook.<depth>.<id>`, each sent
as a snapshot when subscribed and whenever the contract's market data moves. Private (`/v5/private`): an
`auth` op first (HMAC of "GET/realtime" + expires), then `order`, `execution`, `position` and `wallet`, built
from the core's user events (Binance's ORDER_TRADE_UPDATE / ACCOUNT_UPDATE, translated here). Frames:
`{"op": "subscribe", "args": [...], "req_id": ...}` answered `{"success": true, "op": "subscribe", ...}`;
`{"op": "ping"}` answered with a pong. Publishing is synchronous: each connection has a queue and a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.exchange_sim.bybit import payloads
from bot.exchange_sim.bybit.auth import check_ws_login
from bot.exchange_sim.bybit.ids import by_bybit_id, bybit_id
from bot.exchange_sim.bybit.rest_market import kline
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.exchange import SimExchange

Json = dict[str, Any]
_PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet"})
_PUBLIC_KINDS = frozenset({"tickers", "kline", "orderbook"})
_CLOSE_TIMEOUT_S = 1.0


@dataclass(eq=False, slots=True)
class Connection:
    ws: web.WebSocketResponse
    private: bool
    conn_id: str
    authed: bool = False
    topics: set[str] = field(default_factory=set)
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def send(self, message: Json) -> None:
        self.queue.put_nowait(json.dumps(message))


class BybitStreams:
    def __init__(
        self, exchange: SimExchange, secret_for: Callable[[str], str | None], now_ms: Callable[[], int]
    ) -> None:
        self.exchange = exchange
        self._secret_for = secret_for
        self._now_ms = now_ms  # the wall clock: a login's expiry is the client's wall time
        self._connections: set[Connection] = set()
        self._changed = asyncio.Condition()
        self.connections_opened = 0

    # ---- serving --------------------------------------------------------------------------------------

    async def serve(self, request: web.Request, *, private: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=_CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        self.connections_opened += 1
        conn = Connection(ws, private, f"sim-{self.connections_opened}")
        self._connections.add(conn)
        writer = asyncio.create_task(self._write(conn), name="bybit-ws-writer")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, msg.data)
        finally:
            self._connections.discard(conn)
            conn.queue.put_nowait(None)
            await writer
            await self._notify()
        return ws

    async def _write(self, conn: Connection) -> None:
        while (text := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def drop_all(self) -> int:
        dropped = list(self._connections)
        for conn in dropped:
            with contextlib.suppress(Exception):
                await conn.ws.close()
        return len(dropped)

    async def wait_subscribed(self, topic: str, timeout_s: float = 10.0) -> None:
        """Return once some connection has subscribed `topic` (tests: a condition, not a delay)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: topic in self.subscribed()), timeout_s)

    def subscribed(self) -> set[str]:
        return {t for conn in self._connections for t in conn.topics}

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- frames ---------------------------------------------------------------------------------------

    async def _on_frame(self, conn: Connection, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            conn.send({"success": False, "ret_msg": "invalid request", "conn_id": conn.conn_id})
            return
        op, req_id, args = frame.get("op"), frame.get("req_id", ""), frame.get("args") or []
        base = {"req_id": req_id, "conn_id": conn.conn_id, "op": op}
        if op == "ping":
            conn.send({**base, "success": True, "ret_msg": "pong"} if not conn.private else
                      {**base, "op": "pong", "args": [str(self._now_ms())]})  # fmt: skip
        elif op == "auth":
            conn.authed = conn.private and check_ws_login(args, self._secret_for, self._now_ms())
            refused = {"ret_msg": "Invalid apikey or signature", "request": {"op": "auth", "req_id": req_id}}
            conn.send({**base, "success": conn.authed, **({"ret_msg": ""} if conn.authed else refused)})
        elif op in ("subscribe", "unsubscribe"):
            await self._subscription(conn, op, [str(a) for a in args], base)
        else:
            conn.send({**base, "success": False, "ret_msg": f"unknown op {op!r}"})

    async def _subscription(self, conn: Connection, op: str, topics: list[str], base: Json) -> None:
        bad = [t for t in topics if not self._valid(conn, t)]
        if bad or (conn.private and not conn.authed):
            reason = (
                "Request not authorized"
                if conn.private and not conn.authed
                else f"error:handler not found,topic:{bad[0]}"
            )
            conn.send({**base, "success": False, "ret_msg": reason})
            return
        if op == "unsubscribe":
            conn.topics.difference_update(topics)
        else:
            conn.topics.update(topics)
        conn.send({**base, "success": True, "ret_msg": ""})
        if op == "subscribe" and not conn.private:
            for topic in topics:
                message = self._public(topic)
                if message is not None:
                    conn.send(message)
        await self._notify()

    def _valid(self, conn: Connection, topic: str) -> bool:
        if conn.private:
            return topic in _PRIVATE_TOPICS
        parts = topic.split(".")
        return parts[0] in _PUBLIC_KINDS and by_bybit_id(self.exchange.catalog, parts[-1]) is not None

    # ---- publishing -----------------------------------------------------------------------------------

    def publish_market(self, moved: list[Contract]) -> None:
        """Each subscribed topic of a contract whose market data moved, as a fresh snapshot."""
        ids = {bybit_id(c) for c in moved}
        topics = {t for t in self.subscribed() if t.split(".")[-1] in ids and t.split(".")[0] in _PUBLIC_KINDS}
        for topic in topics:
            message = self._public(topic)
            if message is None:
                continue
            for conn in self._connections:
                if not conn.private and topic in conn.topics:
                    conn.send(message)

    def _public(self, topic: str) -> Json | None:
        parts = topic.split(".")
        ex = self.exchange
        contract = by_bybit_id(ex.catalog, parts[-1])
        if contract is None or ex.market.mark(contract) is None:
            return None
        stamp = {"topic": topic, "type": "snapshot", "ts": ex.now_ms}
        if parts[0] == "tickers":
            return {**stamp, "cs": ex.now_ms, "data": payloads.ticker(ex, contract)}
        if parts[0] == "orderbook":
            depth = int(parts[1]) if parts[1].isdigit() else 1
            bids, asks = ex.public.levels(contract)
            book = {"s": bybit_id(contract), "b": [[p, q] for p, q in bids.items()][:depth],
                    "a": [[p, q] for p, q in asks.items()][:depth], "u": ex.public.stamp_depth(contract),
                    "seq": ex.now_ms}  # fmt: skip
            return {**stamp, "cts": ex.now_ms, "data": book}
        rows = kline(ex, {"category": "linear", "symbol": parts[-1], "interval": parts[1], "limit": "1"})["list"]
        if not rows:
            return None
        start, open_, high, low, close, volume, turnover = rows[0]
        candle = {"start": int(start), "end": int(start) + 59_999, "interval": parts[1], "open": open_,
                  "close": close, "high": high, "low": low, "volume": volume, "turnover": turnover,
                  "confirm": False, "timestamp": ex.now_ms}  # fmt: skip
        return {**stamp, "data": [candle]}

    def publish_user(self, events: list[Json]) -> None:
        """The core's user events (Binance-shaped) as Bybit's private topics."""
        if not events:
            return
        messages: list[tuple[str, Json]] = []
        for event in events:
            messages.extend(self._translate(event))
        for conn in self._connections:
            if conn.private and conn.authed:
                for topic, message in messages:
                    if topic in conn.topics:
                        conn.send(message)

    def _translate(self, event: Json) -> list[tuple[str, Json]]:
        ex, now = self.exchange, self.exchange.now_ms
        kind = event.get("e")

        def message(topic: str, data: list[Json]) -> tuple[str, Json]:
            return topic, {"id": f"{topic}-{now}", "topic": topic, "creationTime": now, "data": data}

        if kind == "ORDER_TRADE_UPDATE":
            o = event["o"]
            order = next((x for x in ex.orders() if x.order_id == o["i"]), None)
            if order is None:
                return []
            row = payloads.order(order, status=o["X"], filled=float(o["z"]), avg=float(o["ap"]))
            out = [message("order", [row])]
            if o["x"] == "TRADE":
                trade = next((t for t in reversed(ex.trades(order.contract)) if t.trade_id == o["t"]), None)
                if trade is not None:
                    out.append(message("execution", [payloads.execution(trade, order)]))
            return out
        if kind == "ACCOUNT_UPDATE":
            held = [ex.catalog.by_id(p["s"]) for p in event["a"].get("P", [])]
            rows = [payloads.position(ex.account, c, now) for c in held if c is not None]
            out = [message("wallet", [payloads.wallet(ex)])]
            if rows:
                out.append(message("position", [{**r, "category": "linear"} for r in rows]))
            return out
        return []
