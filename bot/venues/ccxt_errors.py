"""ccxt's exceptions mapped once, here, into the project's few kinds; and how streams back off and reconnect.

The mapping depends on what was being done, because the same failure means different things:

| ccxt raises | read / setup | create / cancel |
|---|---|---|
| RateLimitExceeded, DDoSProtection (429, 418, -1003) | RateLimited | RateLimited (refused before it was processed) |
| InvalidNonce (-1021), OnMaintenance, connection refused | Retryable | Retryable (the request never ran) |
| RequestTimeout, other NetworkError, OperationFailed, BadResponse | Retryable | UnknownOutcome (it may have run) |
| InsufficientFunds (-2019, -2018) | InsufficientMargin | InsufficientMargin |
| OrderNotFillable, OrderImmediatelyFillable (-5022: post-only would take) | Rejected | WouldTakeLiquidity |
| OrderNotFound (-2011, -2013) | OrderNotFound | OrderNotFound |
| InvalidOrder, BadRequest, OperationRejected, other ExchangeError | Rejected | Rejected |
| AuthenticationError, BadSymbol, NotSupported, ArgumentsRequired | Fatal | Fatal |

A 503 or a dropped connection on a create is an unknown outcome, never a rejection: Binance documents that
such an order "could have been a success". Messages are passed through secret redaction.

Streams use `run_stream`: connect, re-sync by REST once the subscription is live, hand each result over;
after a failure back off (capped exponential with jitter) and do it all again. Only Fatal ends a stream.
"""

from __future__ import annotations

import asyncio
import enum
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
import ccxt.async_support as ccxt

from bot.execution.venue_errors import (
    Fatal,
    InsufficientMargin,
    OrderNotFound,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOutcome,
    VenueError,
    WouldTakeLiquidity,
)
from bot.secrets import redact

__all__ = [
    "Backoff",
    "Operation",
    "StreamStats",
    "already_so",
    "error_code",
    "map_ccxt_error",
    "report_connection",
    "retry_after_s",
    "run_stream",
]

_CODE = re.compile(r'"(?:code|retCode)"\s*:\s*"?(-?\d+)')  # Binance and OKX: code; Bybit: retCode
_NOT_MODIFIED = frozenset({"110043"})  # Bybit: "Set leverage not modified" (ccxt: BadRequest)


class Operation(enum.StrEnum):
    READ = "read"  # queries: safe to repeat
    SETUP = "setup"  # leverage, margin mode, markets: safe to repeat
    CREATE = "create"  # an order create: never repeated blind
    CANCEL = "cancel"  # a cancel: its outcome matters as much as a create's
    STREAM = "stream"  # a websocket watch

    @property
    def changes_state(self) -> bool:
        return self in (Operation.CREATE, Operation.CANCEL)


def error_code(message: str) -> str:
    """The exchange's error code in a ccxt message ('binanceusdm {"code":-2019,...}' → '-2019',
    'bybit {"retCode":110043,...}' → '110043'), or ''."""
    match = _CODE.search(message)
    return match.group(1) if match else ""


def retry_after_s(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a Retry-After header (case-insensitive), or None when absent or not a number."""
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds if seconds >= 0 else None
    return None


def already_so(error: VenueError) -> bool:
    """A refusal that only says the setting was already in force (Binance -4046 'No need to change margin type',
    Bybit 110026 'Cross/isolated margin mode is not modified', 110043 'Set leverage not modified')."""
    code = error.code if isinstance(error, Rejected) else ""
    return isinstance(error.__cause__, ccxt.NoChange) or code in _NOT_MODIFIED


def _never_sent(exc: BaseException) -> bool:
    """ccxt raises ExchangeNotAvailable both for 'could not connect' and for 'dropped mid-request'."""
    return isinstance(exc.__cause__, aiohttp.ClientConnectorError)


def map_ccxt_error(exc: BaseException, operation: Operation, *, retry_after: float | None = None) -> VenueError | None:
    """The project's exception for a ccxt (or network) exception; None for anything else (a bug: let it raise)."""
    if isinstance(exc, VenueError):
        return exc
    message = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, ccxt.BaseError):
        return _map_exchange_error(exc, operation, message, retry_after)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return _network(operation, f"{type(exc).__name__}: {message}")
    return None


def _map_exchange_error(
    exc: BaseException, operation: Operation, message: str, retry_after: float | None
) -> VenueError:
    code = error_code(message)
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimited(message, retry_after_s=retry_after)
    if isinstance(exc, ccxt.InvalidNonce | ccxt.OnMaintenance) or _never_sent(exc):
        return Retryable(message, retry_after_s=retry_after)
    if isinstance(exc, ccxt.OperationFailed):  # network errors, timeouts, 5xx, unparseable answers
        return _network(operation, message)
    if isinstance(exc, ccxt.AuthenticationError | ccxt.BadSymbol | ccxt.NotSupported | ccxt.ArgumentsRequired):
        return Fatal(message)
    if isinstance(exc, ccxt.ExchangeClosedByUser | ccxt.InvalidProxySettings):
        return Fatal(message)
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientMargin(message, code=code)
    if isinstance(exc, ccxt.OrderNotFillable | ccxt.OrderImmediatelyFillable) and operation is Operation.CREATE:
        return WouldTakeLiquidity(message, code=code)
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound(message, code=code)
    # InvalidOrder, BadRequest, OperationRejected, and a plain ExchangeError: the exchange answered "no"
    return Rejected(message, code=code)


def _network(operation: Operation, message: str) -> VenueError:
    if operation.changes_state:
        return UnknownOutcome(f"{operation} outcome unknown ({message}); resolve it by client order id")
    return Retryable(message)


# ---- backoff and streams -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter: attempt n waits min(cap, initial × factor^n) × (1 ± jitter)."""

    initial_s: float = 0.5
    cap_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2  # a fraction: spreads reconnects of many clients after one outage

    def __post_init__(self) -> None:
        if not (self.initial_s > 0 and self.cap_s >= self.initial_s and self.factor >= 1):
            raise ValueError(f"backoff needs 0 < initial_s <= cap_s and factor >= 1, got {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"backoff jitter {self.jitter} must be in [0, 1)")

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        exponent = min(max(attempt, 0), 64)  # beyond this the cap applies anyway; keeps the float finite
        base = min(self.cap_s, self.initial_s * self.factor**exponent)
        return base * (1.0 + self.jitter * rng.uniform(-1.0, 1.0))


@dataclass(slots=True)
class StreamStats:
    """Counters of one stream, for metrics and tests."""

    updates: int = 0  # watch results handed over
    dropped: int = 0  # malformed messages dropped
    reconnects: int = 0  # failures followed by a new watch
    resyncs: int = 0  # REST snapshots taken once connected (at the start, after each failure) or on a stall
    stalls: int = 0  # times nothing arrived within the stall timeout
    last_error: str = ""


_CONNECTED: ContextVar[asyncio.Future[None] | None] = ContextVar("hedgebot_stream_connected", default=None)


def report_connection(connection: asyncio.Future[Any]) -> None:
    """Called by the client as a watch gets its websocket (see `ccxt_client`): tells `run_stream` when the
    subscription is live, so its REST re-sync cannot miss what happens between the snapshot and the stream."""
    waiter = _CONNECTED.get()
    if waiter is None or waiter.done():
        return

    def opened(future: asyncio.Future[Any]) -> None:
        if not waiter.done() and not future.cancelled() and future.exception() is None:
            waiter.set_result(None)

    connection.add_done_callback(opened)


def _start_watch(watch: Callable[[], Awaitable[Any]]) -> tuple[asyncio.Task[Any], asyncio.Future[None]]:
    """Start a watch with a future the client resolves once its connection is open."""
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    token = _CONNECTED.set(connected)
    try:
        task: asyncio.Task[Any] = asyncio.ensure_future(watch())  # the task copies the context: it sees `connected`
    finally:
        _CONNECTED.reset(token)
    return task, connected


async def run_stream(
    watch: Callable[[], Awaitable[Any]],
    on_update: Callable[[Any], None],
    resync: Callable[[], Awaitable[None]],
    stats: StreamStats,
    backoff: Backoff,
    rng: random.Random,
    *,
    wake: asyncio.Event | None = None,
    stall_timeout_s: float | None = None,
    on_failure: Callable[[VenueError], None] | None = None,
    on_synced: Callable[[], None] | None = None,
) -> NoReturn:
    """Watch forever; raise Fatal when the exchange says the stream can never work.

    Connect, then re-sync by REST once the connection is open (at the start and after every failure), then
    hand over each watch result, and call `on_update(None)` whenever `wake` is set: ccxt resolves a watch
    once per batch of messages and not at all between one watch and the next, so a handler that reads
    ccxt's caches on every message (`wake`) misses nothing. After a failure: back off (capped exponential
    with jitter) and connect again; a failed re-sync counts as a failure. When the watch has not resolved
    within `stall_timeout_s`, re-sync by REST while it keeps waiting, so a silent connection never leaves
    data older than REST's. `on_failure` runs before each backoff, `on_synced` once a connection is synced.
    """
    loop = asyncio.get_running_loop()
    attempt, needs_resync, quiet_since = 0, True, loop.time()
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                if attempt:
                    await asyncio.sleep(backoff.delay_s(attempt - 1, rng))
                pending, connected = _start_watch(watch)
                if needs_resync and await _connected(pending, connected):
                    if not await _resync_quietly(resync, stats):
                        await _abandon(pending)
                        pending, attempt = None, attempt + 1
                        continue
                    needs_resync = False
                    if on_synced is not None:
                        on_synced()
                quiet_since = loop.time()
            timeout = None if stall_timeout_s is None else max(0.0, quiet_since + stall_timeout_s - loop.time())
            outcome = await _next(pending, wake, timeout)
            if outcome == "woken":
                on_update(None)
                continue
            if outcome == "stalled":
                stats.stalls += 1
                await _resync_quietly(resync, stats)
                quiet_since = loop.time()
                continue
            finished, pending = pending, None
            failure = _failure_of(finished)
            if failure is None:
                attempt = 0
                stats.updates += 1
                on_update(finished.result())
                continue
            stats.reconnects += 1
            stats.last_error = str(failure)
            attempt, needs_resync = attempt + 1, True
            if on_failure is not None:
                on_failure(failure)
    finally:
        if pending is not None:
            await _abandon(pending)


async def _next(pending: asyncio.Task[Any], wake: asyncio.Event | None, within_s: float | None) -> str:
    """'done' (the watch ended), 'woken' (`wake` was set, and is cleared) or 'stalled' (neither in time)."""
    waiter = asyncio.ensure_future(wake.wait()) if wake is not None else None
    try:
        waited = {pending} if waiter is None else {pending, waiter}
        await asyncio.wait(waited, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if waiter is not None and not waiter.done():
            waiter.cancel()
    if pending.done():
        return "done"
    if wake is not None and wake.is_set():
        wake.clear()
        return "woken"
    return "stalled"


async def _connected(pending: asyncio.Task[Any], connected: asyncio.Future[None]) -> bool:
    """Wait until the watch's connection is open (True) or the watch ended first (False: handled as usual)."""
    await asyncio.wait({pending, connected}, return_when=asyncio.FIRST_COMPLETED)
    connected.cancel()
    return not pending.done()


async def _abandon(pending: asyncio.Task[Any]) -> None:
    if not pending.done():
        pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)


def _failure_of(task: asyncio.Task[Any]) -> VenueError | None:
    exc = task.exception()
    if exc is None:
        return None
    mapped = map_ccxt_error(exc, Operation.STREAM)
    if mapped is None:
        raise exc
    _raise_if_fatal(mapped, exc)
    return mapped


def _raise_if_fatal(mapped: VenueError, exc: BaseException) -> None:
    if isinstance(mapped, Fatal):
        if mapped is exc:
            raise mapped
        raise mapped from exc


async def _resync_quietly(resync: Callable[[], Awaitable[None]], stats: StreamStats) -> bool:
    """Run a REST re-sync; a transient failure is recorded (and retried by the caller), Fatal raises."""
    try:
        await resync()
    except Exception as exc:
        mapped = map_ccxt_error(exc, Operation.READ)
        if mapped is None:
            raise
        _raise_if_fatal(mapped, exc)
        stats.last_error = str(mapped)
        return False
    stats.resyncs += 1
    return True
