"""Fault injection for the exchange simulator, scriptable per test.

Request faults are rules: a kind, how many matching requests it applies to (`times=None`: until `clear()`),
and an optional method/path filter. A rule without a path applies to REST paths only (/fapi, /futures);
give a websocket path (e.g. "/market/ws/0") to refuse websocket handshakes. Rules are consulted in the order
they were added; each request consumes at most one rule per phase:

- before the request is processed: 429 / 418 (rate limit, ban), 503 plain text, 503 -1001, -2019 margin
  insufficient, -2010 order rejected;
- after it was processed (the order exists): answer late (`delay`), not at all until `release()`/stop
  (`timeout`), so the client times out with the outcome unknown, or with a 503 in place of the answer
  (`unavailable(after_processing=True)`: a gateway that lost the matching engine's reply).

Stream faults act on the live connections: `drop_websockets()`, `silence()`/`speak()` (connections stay open,
nothing is sent), `expire_listen_key()` (the key is forgotten, `listenKeyExpired` is pushed, the user stream
closes and its keep-alive fails with -1125).
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot.exchange_sim import errors
from bot.exchange_sim.errors import BinanceError

ORDER_PATH = "/fapi/v1/order"
_REST_PREFIXES = ("/fapi/", "/futures/")


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "rate_limit"  # HTTP 429 {-1003}
    IP_BAN = "ip_ban"  # HTTP 418 {-1003}
    UNAVAILABLE = "unavailable"  # HTTP 503, plain text (a gateway answer)
    INTERNAL_ERROR = "internal_error"  # HTTP 503 {-1001}
    MARGIN_INSUFFICIENT = "margin_insufficient"  # HTTP 400 {-2019}
    REJECT = "reject"  # HTTP 400 {-2010} or the code/msg given
    DELAY = "delay"  # processed, answered after `delay_s`
    TIMEOUT = "timeout"  # processed, never answered until released
    ANSWER_LOST = "answer_lost"  # processed, then answered 503 (plain text or -1001) instead of its answer


class Phase(enum.Enum):
    BEFORE = "before"
    AFTER = "after"


_AFTER_KINDS = frozenset({FaultKind.DELAY, FaultKind.TIMEOUT, FaultKind.ANSWER_LOST})


@dataclass(slots=True)
class FaultRule:
    kind: FaultKind
    remaining: int | None  # None: until cleared
    method: str | None = None
    path: str | None = None
    delay_s: float = 0.0
    error: BinanceError | None = None

    @property
    def phase(self) -> Phase:
        return Phase.AFTER if self.kind in _AFTER_KINDS else Phase.BEFORE

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        if self.path is None:
            return path.startswith(_REST_PREFIXES)
        return path == self.path

    def as_error(self) -> BinanceError:
        if self.error is not None:
            return self.error
        return {
            FaultKind.RATE_LIMIT: lambda: errors.rate_limited(429),
            FaultKind.IP_BAN: lambda: errors.rate_limited(418),
            FaultKind.UNAVAILABLE: errors.service_unavailable_text,
            FaultKind.INTERNAL_ERROR: errors.internal_error,
            FaultKind.MARGIN_INSUFFICIENT: errors.margin_insufficient,
            FaultKind.REJECT: errors.order_rejected,
        }[self.kind]()


class StreamControl(Protocol):
    """What the stream faults need from the running simulator."""

    async def drop_websockets(self) -> int: ...

    async def expire_listen_keys(self, listen_key: str | None) -> int: ...


class Faults:
    """The fault script of one simulator. Methods return self where chaining reads well."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._released = asyncio.Event()
        self._holding = 0
        self._holding_changed = asyncio.Condition()
        self._control: StreamControl | None = None
        self.market_silent = False
        self.user_silent = False

    def attach(self, control: StreamControl) -> None:
        self._control = control

    # ---- request faults ----------------------------------------------------------------------------

    def add(self, rule: FaultRule) -> Faults:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError(f"a fault applies to at least one request, or to all (times=None): {rule.remaining}")
        self._rules.append(rule)
        return self

    def rate_limit(
        self,
        times: int | None = 1,
        *,
        ban: bool = False,
        method: str | None = None,
        path: str | None = None,
        retry_after_s: int | None = None,
    ) -> Faults:
        """429 (Retry-After: 1), or 418 with `ban` (Retry-After: 60); `retry_after_s` asks for another wait."""
        kind = FaultKind.IP_BAN if ban else FaultKind.RATE_LIMIT
        error = None
        if retry_after_s is not None:
            error = errors.rate_limited(418 if ban else 429)
            error.retry_after_s = retry_after_s
        return self.add(FaultRule(kind, times, _upper(method), path, error=error))

    def unavailable(
        self,
        times: int | None = 1,
        *,
        json_body: bool = False,
        method: str | None = None,
        path: str | None = None,
        after_processing: bool = False,
    ) -> Faults:
        """503, plain text or (`json_body`) {-1001}: before the request is processed (it never ran), or
        `after_processing` (it ran: an order exists, and its answer is replaced by the 503)."""
        if after_processing:
            error = errors.internal_error() if json_body else errors.service_unavailable_text()
            return self.add(FaultRule(FaultKind.ANSWER_LOST, times, _upper(method), path, error=error))
        kind = FaultKind.INTERNAL_ERROR if json_body else FaultKind.UNAVAILABLE
        return self.add(FaultRule(kind, times, _upper(method), path))

    def margin_insufficient(self, times: int | None = 1, *, path: str = ORDER_PATH) -> Faults:
        return self.add(FaultRule(FaultKind.MARGIN_INSUFFICIENT, times, "POST", path))

    def reject_orders(
        self,
        times: int | None = 1,
        *,
        code: int = -2010,
        msg: str = "Order was rejected by the exchange simulator.",
    ) -> Faults:
        return self.add(FaultRule(FaultKind.REJECT, times, "POST", ORDER_PATH, error=errors.bad_request(code, msg)))

    def delay_after_accept(
        self, seconds: float, times: int | None = 1, *, method: str = "POST", path: str = ORDER_PATH
    ) -> Faults:
        return self.add(FaultRule(FaultKind.DELAY, times, method.upper(), path, delay_s=seconds))

    def timeout_after_accept(self, times: int | None = 1, *, method: str = "POST", path: str = ORDER_PATH) -> Faults:
        return self.add(FaultRule(FaultKind.TIMEOUT, times, method.upper(), path))

    def clear(self) -> None:
        """Forget every request rule, end silence, and answer every request held by a timeout."""
        self._rules.clear()
        self.market_silent = self.user_silent = False
        self.release()

    def release(self) -> None:
        """Let every held (timed-out) request answer now; later timeouts hold again."""
        self._released.set()
        self._released = asyncio.Event()

    def take(self, phase: Phase, method: str, path: str) -> FaultRule | None:
        """The rule this request triggers in `phase`, consuming one of its uses."""
        for rule in self._rules:
            if rule.phase is phase and rule.matches(method, path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule
        return None

    async def hold(self, rule: FaultRule) -> None:
        """Wait as the rule says: `delay_s` for a delay, until released for a timeout; a lost answer raises the
        503 that replaces it (an aiohttp HTTP exception: the server sends it as the response)."""
        if rule.kind is FaultKind.ANSWER_LOST:
            raise _http_error(rule.as_error())
        released = self._released
        await self._count_holding(+1)
        try:
            if rule.kind is FaultKind.TIMEOUT:
                await released.wait()
            else:
                await asyncio.wait_for(released.wait(), timeout=rule.delay_s)
        except TimeoutError:
            pass  # the delay is over: answer now
        finally:
            await self._count_holding(-1)

    async def _count_holding(self, change: int) -> None:
        async with self._holding_changed:
            self._holding += change
            self._holding_changed.notify_all()

    @property
    def holding(self) -> int:
        """Requests processed whose answers are being held right now."""
        return self._holding

    async def wait_holding(self, count: int = 1) -> None:
        """Return once `count` answers are held (tests: the order exists, its answer has not left)."""
        async with self._holding_changed:
            await self._holding_changed.wait_for(lambda: self._holding >= count)

    @property
    def pending(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules)

    # ---- stream faults -----------------------------------------------------------------------------

    def silence(self, *, market: bool = True, user: bool = True) -> None:
        """Stop sending on streams (market data, user data) while keeping the connections open."""
        self.market_silent = self.market_silent or market
        self.user_silent = self.user_silent or user

    def speak(self) -> None:
        self.market_silent = self.user_silent = False

    async def drop_websockets(self) -> int:
        """Close every websocket connection; returns how many were closed."""
        return await self._require_control().drop_websockets()

    async def expire_listen_key(self, listen_key: str | None = None) -> int:
        """Expire one listen key (or all): returns how many user-stream connections were closed."""
        return await self._require_control().expire_listen_keys(listen_key)

    def _require_control(self) -> StreamControl:
        if self._control is None:
            raise RuntimeError("stream faults need a running simulator (await sim.start() first)")
        return self._control


def _upper(method: str | None) -> str | None:
    return method.upper() if method else None


def _http_error(error: BinanceError) -> web.HTTPServiceUnavailable:
    """A 503 error answer as the exception aiohttp turns into that response, raised where a handler has
    already produced its answer."""
    if error.status != web.HTTPServiceUnavailable.status_code:
        raise ValueError(f"only a 503 replaces a processed request's answer, not {error.status}")
    if error.plain_text:
        return web.HTTPServiceUnavailable(text=error.msg)
    return web.HTTPServiceUnavailable(text=json.dumps(error.body()), content_type="application/json")
