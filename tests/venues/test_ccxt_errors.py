"""ccxt's exceptions mapped into the project's kinds, backoff, and the stream supervisor (no network)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from bot.secrets import register
from bot.venues.ccxt_errors import (
    Backoff,
    Operation,
    StreamStats,
    already_so,
    error_code,
    map_ccxt_error,
    report_connection,
    retry_after_s,
    run_stream,
)

GUARD_S = 10.0  # a broken test fails instead of hanging; never a synchronisation delay
FAST = Backoff(initial_s=0.001, cap_s=0.004)

# (ccxt exception, kind for a query, kind for a create)
TABLE: list[tuple[type[Exception], type[VenueError], type[VenueError]]] = [
    (ccxt.RateLimitExceeded, RateLimited, RateLimited),
    (ccxt.DDoSProtection, RateLimited, RateLimited),
    (ccxt.InvalidNonce, Retryable, Retryable),
    (ccxt.OnMaintenance, Retryable, Retryable),
    (ccxt.RequestTimeout, Retryable, UnknownOutcome),
    (ccxt.ExchangeNotAvailable, Retryable, UnknownOutcome),
    (ccxt.NetworkError, Retryable, UnknownOutcome),
    (ccxt.OperationFailed, Retryable, UnknownOutcome),
    (ccxt.BadResponse, Retryable, UnknownOutcome),
    (ccxt.InsufficientFunds, InsufficientMargin, InsufficientMargin),
    (ccxt.OrderNotFound, OrderNotFound, OrderNotFound),
    (ccxt.InvalidOrder, Rejected, Rejected),
    (ccxt.BadRequest, Rejected, Rejected),
    (ccxt.OperationRejected, Rejected, Rejected),
    (ccxt.ExchangeError, Rejected, Rejected),
    (ccxt.AuthenticationError, Fatal, Fatal),
    (ccxt.PermissionDenied, Fatal, Fatal),
    (ccxt.BadSymbol, Fatal, Fatal),
    (ccxt.NotSupported, Fatal, Fatal),
]


@pytest.mark.parametrize(("raised", "on_read", "on_create"), TABLE, ids=[row[0].__name__ for row in TABLE])
def test_each_ccxt_error_maps_to_one_project_kind_that_depends_on_whether_state_may_have_changed(
    raised: type[Exception], on_read: type[VenueError], on_create: type[VenueError]
) -> None:
    read = map_ccxt_error(raised("binanceusdm boom"), Operation.READ)
    created = map_ccxt_error(raised("binanceusdm boom"), Operation.CREATE)
    cancelled = map_ccxt_error(raised("binanceusdm boom"), Operation.CANCEL)
    assert type(read) is on_read
    assert type(created) is on_create
    assert type(cancelled) is on_create


def test_a_create_that_could_not_even_connect_is_retryable_not_an_unknown_outcome() -> None:
    refused = ccxt.ExchangeNotAvailable("binanceusdm POST http://127.0.0.1:9/fapi/v1/order")
    connection_refused = OSError(111, "Connection refused")
    refused.__cause__ = aiohttp.ClientConnectorError(None, connection_refused)  # type: ignore[arg-type]  # key unused
    assert type(map_ccxt_error(refused, Operation.CREATE)) is Retryable


def test_a_plain_timeout_or_socket_error_is_a_network_failure_and_anything_else_is_not_mapped() -> None:
    assert isinstance(map_ccxt_error(TimeoutError(), Operation.CREATE), UnknownOutcome)
    assert type(map_ccxt_error(ConnectionResetError(), Operation.READ)) is Retryable
    assert map_ccxt_error(KeyError("a bug"), Operation.READ) is None


def test_the_exchange_code_travels_with_a_rejection() -> None:
    error = map_ccxt_error(
        ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'), Operation.CREATE
    )
    assert isinstance(error, InsufficientMargin)
    assert error.code == "-2019"
    assert error_code('binanceusdm {"code": -4164, "msg": "notional"}') == "-4164"
    assert error_code("no code here") == ""


def test_a_post_only_order_that_would_take_is_a_refused_price_not_a_refused_order() -> None:
    message = 'binanceusdm {"code":-5022,"msg":"Due to the order could not be executed as maker, ..."}'
    error = map_ccxt_error(ccxt.OrderNotFillable(message), Operation.CREATE)
    assert isinstance(error, WouldTakeLiquidity)
    assert error.code == "-5022"


def test_a_rate_limit_carries_the_retry_after_the_exchange_asked_for() -> None:
    error = map_ccxt_error(ccxt.DDoSProtection("429"), Operation.READ, retry_after=retry_after_s({"Retry-After": "7"}))
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 7.0
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s(None) is None


def test_margin_mode_already_set_is_recognised_as_no_change() -> None:
    error = map_ccxt_error(ccxt.MarginModeAlreadySet("-4046"), Operation.SETUP)
    assert isinstance(error, Rejected)
    error.__cause__ = ccxt.MarginModeAlreadySet("-4046")
    assert already_so(error)
    assert not already_so(Rejected("-2010"))


def test_secrets_in_an_exchange_message_are_redacted() -> None:
    secret = register("s3cr3t-api-key-value")
    error = map_ccxt_error(ccxt.AuthenticationError(f"binanceusdm key {secret} refused"), Operation.READ)
    assert error is not None
    assert secret not in str(error)


@given(attempt=st.integers(min_value=-5, max_value=10_000), seed=st.integers(min_value=0, max_value=2**32))
def test_a_backoff_delay_is_positive_and_never_beyond_the_cap_plus_jitter(attempt: int, seed: int) -> None:
    backoff = Backoff(initial_s=0.5, cap_s=30.0, jitter=0.2)
    delay = backoff.delay_s(attempt, random.Random(seed))
    assert 0.5 * 0.8 <= delay <= 30.0 * 1.2


@given(attempts=st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=10))
def test_without_jitter_the_backoff_grows_until_the_cap(attempts: list[int]) -> None:
    backoff = Backoff(initial_s=0.1, cap_s=5.0, factor=2.0, jitter=0.0)
    delays = [backoff.delay_s(a, random.Random(0)) for a in sorted(attempts)]
    assert delays == sorted(delays)
    assert delays[-1] <= 5.0


def test_a_backoff_that_cannot_work_is_refused() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=2.0, cap_s=1.0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)


# ---- run_stream, with a scripted fake of a ccxt watch -----------------------------------------------


class Refused(Exception):
    """Script item: the watch fails before any connection opens (a refused handshake, a refused key)."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__("refused")
        self.error = error or ccxt.NetworkError("handshake refused")


class ScriptedWatch:
    """A stand-in for a ccxt.pro watch: connects (reported as ccxt_client's hook does), then raises or returns
    the next scripted item; with the script used up it stays connected and silent."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.calls = 0
        self.exhausted = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        item = self.script.pop(0) if self.script else None
        if isinstance(item, Refused):
            raise item.error
        connection: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection.set_result(None)
        report_connection(connection)
        for _ in range(3):  # a message takes a moment to arrive after the connection opens
            await asyncio.sleep(0)
        if item is None:
            self.exhausted.set()
            await asyncio.Event().wait()  # like a quiet stream: no message ever comes
        if isinstance(item, BaseException):
            raise item
        return item


async def run_until(watch: ScriptedWatch, resync: Callable[[], Any], stats: StreamStats, **options: Any) -> list[Any]:
    received: list[Any] = []
    task = asyncio.create_task(run_stream(watch, received.append, resync, stats, FAST, random.Random(1), **options))
    try:
        await asyncio.wait_for(watch.exhausted.wait(), GUARD_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return received


@pytest.mark.asyncio
async def test_each_connection_is_resynced_once_open_then_results_are_handed_over() -> None:
    resyncs: list[int] = []

    async def resync() -> None:
        resyncs.append(len(resyncs))

    watch = ScriptedWatch([{"n": 1}, {"n": 2}])
    stats = StreamStats()
    assert await run_until(watch, resync, stats) == [{"n": 1}, {"n": 2}]
    assert (stats.resyncs, stats.reconnects, len(resyncs)) == (1, 0, 1)


@pytest.mark.asyncio
async def test_after_network_errors_the_stream_backs_off_reconnects_and_resyncs() -> None:
    async def resync() -> None:
        return None

    watch = ScriptedWatch([{"n": 1}, ccxt.NetworkError("closed by remote"), Refused(), {"n": 2}])
    stats = StreamStats()
    received = await run_until(watch, resync, stats)
    assert received == [{"n": 1}, {"n": 2}]
    assert (stats.reconnects, stats.updates) == (2, 2)
    assert stats.resyncs == 2  # the first connection and the one that worked; none for the refused handshake
    assert "refused" in stats.last_error


@pytest.mark.asyncio
async def test_a_failed_resync_counts_as_a_failure_and_the_stream_connects_again() -> None:
    outcomes: list[BaseException | None] = [ccxt.ExchangeNotAvailable("503"), None]

    async def resync() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    watch = ScriptedWatch([{"n": 1}, {"n": 2}])
    stats = StreamStats()
    assert await run_until(watch, resync, stats) == [{"n": 2}]  # the first connection was given up
    assert (stats.resyncs, outcomes, watch.calls) == (1, [], 3)
    assert "503" in stats.last_error


@pytest.mark.asyncio
async def test_an_authentication_error_ends_the_stream_with_fatal() -> None:
    async def resync() -> None:
        raise AssertionError("a fatal error is not re-synced")

    watch = ScriptedWatch([Refused(ccxt.AuthenticationError('{"code":-2015}'))])
    with pytest.raises(Fatal, match="-2015"):
        await asyncio.wait_for(run_stream(watch, print, resync, StreamStats(), FAST, random.Random(1)), GUARD_S)


@pytest.mark.asyncio
async def test_a_silent_stream_is_resynced_while_the_same_watch_keeps_waiting() -> None:
    resynced = asyncio.Event()
    calls: list[int] = []

    async def resync() -> None:
        calls.append(1)
        if len(calls) == 2:  # the first is the one every new connection gets
            resynced.set()

    watch = ScriptedWatch([])
    stats = StreamStats()
    task = asyncio.create_task(run_stream(watch, print, resync, stats, FAST, random.Random(1), stall_timeout_s=0.01))
    try:
        await asyncio.wait_for(resynced.wait(), GUARD_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert stats.stalls >= 1
    assert stats.resyncs >= 1
    assert watch.calls == 1  # never abandoned: a new watch could lose a subscription half made


@pytest.mark.asyncio
async def test_a_wake_between_watch_results_has_the_caches_read_while_the_watch_keeps_waiting() -> None:
    async def resync() -> None:
        return None

    wake = asyncio.Event()
    read = asyncio.Event()
    updates: list[Any] = []

    def on_update(result: Any) -> None:
        updates.append(result)
        read.set()

    watch = ScriptedWatch([])  # connects, then no watch ever resolves
    task = asyncio.create_task(run_stream(watch, on_update, resync, StreamStats(), FAST, random.Random(1), wake=wake))
    try:
        await asyncio.wait_for(watch.exhausted.wait(), GUARD_S)
        wake.set()  # a message ccxt handled without resolving any watch
        await asyncio.wait_for(read.wait(), GUARD_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert updates == [None]
    assert not wake.is_set()
    assert watch.calls == 1
