"""The live venue's user stream: orders, fills, balance and positions as ccxt.pro watches, one task each.

Each watch runs under `run_stream` (a REST re-sync once connected, reconnects with backoff and jitter) and
re-authenticates after a failure, so an expired listen key is replaced rather than reused. Orders and fills
are read from ccxt's caches after every message the client handles, so none waits for a later message.
A re-sync fetches each stream's own state: open orders and the final state of orders last seen working,
fills since the last one seen, the account and the funding settled meanwhile. A balance or position change
marks the account dirty; one refresher then takes a REST snapshot (balances, margins and positions
consistent with each other) and, after a Binance FUNDING_FEE update, fetches the funding settled.

`OrderMemory` is what makes REST answers and stream messages safe to overlap: an order's reports only move
forward (a late "new" never follows "filled") and a fill is reported once per trade id.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from bot.domain import AccountSnapshot, ClientOrderId, Fill, FundingSettled, OrderStatus, OrderUpdate, Symbol
from bot.execution.venue import RESYNC_FILLS_LOOKBACK_MS, fill_key
from bot.execution.venue_errors import Fatal, VenueError
from bot.logs import get_logger
from bot.secrets import redact
from bot.venues.ccxt_client import FreshEntries, unless_closed, wake_on_messages
from bot.venues.ccxt_errors import Backoff, StreamStats, run_stream
from bot.venues.ccxt_parse import Payload

__all__ = ["OrderMemory", "UserStream"]

_REMEMBERED = 20_000  # order states and fill keys kept (far more than a day of clips)
_FINAL_RANK = 3
_RANKS = {OrderStatus.NEW: 0, OrderStatus.SUBMITTED: 0, OrderStatus.ACCEPTED: 1, OrderStatus.PARTIALLY_FILLED: 2}
_FUNDING_LOOKBACK_MS = 60_000  # a FUNDING_FEE update fetches settlements from this long before it
_FUNDING_CATCH_UP_MS = 9 * 3_600_000  # a (re)connection looks back beyond one 8-hour funding interval


def _rank(status: OrderStatus) -> int:
    return _FINAL_RANK if status.is_final else _RANKS.get(status, 0)


class OrderMemory:
    """What has been reported of our orders and fills (bounded), and the exchange ids of our orders."""

    def __init__(self) -> None:
        self.client_ids: OrderedDict[str, ClientOrderId] = OrderedDict()  # exchange order id -> ours
        self.working: dict[ClientOrderId, Symbol] = {}  # last reported open
        self.last_fill_ms: int | None = None
        self._progress: OrderedDict[ClientOrderId, tuple[int, float]] = OrderedDict()  # (rank, filled)
        self._fills: OrderedDict[str, None] = OrderedDict()

    def remember(self, update: OrderUpdate) -> OrderUpdate | None:
        """Record a report of an order: the report to pass on (its fill never below one already reported), or
        None when it does not move the order forward."""
        if update.exchange_id:
            self.learn(update.exchange_id, update.client_id)
        rank, before = _rank(update.status), self._progress.get(update.client_id)
        if before is not None:
            known_rank, known_filled = before
            if (
                known_rank == _FINAL_RANK
                or rank < known_rank
                or (rank == known_rank and update.filled_qty <= known_filled)
            ):
                return None
            if update.filled_qty < known_filled:  # a newer status with an older fill figure: keep the larger
                update = replace(update, filled_qty=known_filled)
        self._progress[update.client_id] = (rank, update.filled_qty)
        self._progress.move_to_end(update.client_id)
        _trim(self._progress)
        if update.status.is_final:
            self.working.pop(update.client_id, None)
        else:
            self.working[update.client_id] = update.symbol
        return update

    def learn(self, exchange_id: str, client_id: ClientOrderId) -> None:
        self.client_ids[exchange_id] = client_id
        _trim(self.client_ids)

    def first_time(self, fill: Fill) -> bool:
        """True the first time a fill (by symbol and trade id) is seen."""
        key = fill_key(fill)
        if key in self._fills:
            return False
        self._fills[key] = None
        _trim(self._fills)
        self.last_fill_ms = max(self.last_fill_ms or fill.ts, fill.ts)
        return True


def _as_ms(value: object, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _trim(remembered: OrderedDict[Any, Any]) -> None:
    while len(remembered) > _REMEMBERED:
        remembered.popitem(last=False)


class VenueRest(Protocol):
    """What the user stream needs from the venue's REST side."""

    async def fetch_account(self) -> AccountSnapshot: ...

    async def fetch_fills(self, since_ms: int) -> list[Fill]: ...

    async def fetch_funding_settlements(self, since_ms: int) -> list[FundingSettled]: ...

    async def changed_orders(self) -> list[OrderUpdate]:
        """Open orders and the final state of orders last seen working, those that moved forward only."""
        ...

    def parse_order(self, order: Payload) -> OrderUpdate | None:
        """A stream order as an update when it moves the order forward (remembered), else None."""
        ...

    def parse_fill(self, trade: Payload) -> Fill | None: ...


Emit = Callable[[Any], None]


class UserStream:
    def __init__(
        self,
        client: Any,
        rest: VenueRest,
        memory: OrderMemory,
        emit: Emit,
        watches: tuple[str, ...],
        backoff: Backoff,
        rng: random.Random,
        now_ms: Callable[[], int],
    ) -> None:
        self.client = client
        self.rest = rest
        self.memory = memory
        self.emit = emit
        self.watches = watches  # of watch_orders, watch_my_trades, watch_balance, watch_positions
        self.backoff = backoff
        self.rng = rng
        self.now_ms = now_ms
        self.stats: dict[str, StreamStats] = {}
        self.failure: VenueError | None = None  # a Fatal error that ended a stream
        self.on_failure: Callable[[VenueError], None] | None = None
        self.on_reconnect: Callable[[str], None] | None = None  # told the stream's name at each reconnect
        self.log = get_logger(component="ccxt_user_stream", exchange=str(client.id))
        self._dirty = asyncio.Event()
        self._live: dict[str, bool] = {}
        self._all_live = asyncio.Event()
        self.down_since: int | None = None  # when the streams stopped being all live (None: live, or not started)
        self.last_error = ""  # of the stream that failed last
        self._funding_since: int | None = None
        self._funding_seen: set[tuple[str, int]] = set()
        self._fresh = FreshEntries()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.watches:
            self.down_since = self.now_ms()  # until every stream is connected and re-synced
        if hasattr(self.client, "add_message_observer"):
            self.client.add_message_observer(self._on_raw_message)
        # (handler, re-sync, whether the handler reads ccxt's cache on every message)
        handlers: dict[str, tuple[Callable[[Any], None], Callable[[], Awaitable[None]], bool]] = {
            "watch_orders": (self._on_orders, self._resync_orders, True),
            "watch_my_trades": (self._on_trades, self._resync_fills, True),
            "watch_balance": (self._on_account_change, self._resync_account, False),  # each change: a REST call
            "watch_positions": (self._on_account_change, self._resync_account, False),
        }
        for name in self.watches:
            on_update, resync, every_message = handlers[name]
            self._spawn(name.removeprefix("watch_"), self._supervised(name, on_update, resync, every_message))
        self._spawn("account", self._refresh_account_forever())
        if not {"watch_balance", "watch_positions"} & set(self.watches):  # else their first re-sync does it
            self._dirty.set()  # a first snapshot, so the engine starts from the exchange's account

    async def wait_live(self) -> None:
        """Return once every user stream is connected and re-synced (at once when there are none)."""
        if not self.watches:
            return
        await self._all_live.wait()

    def _set_live(self, name: str, live: bool) -> None:
        self._live[name] = live
        if len(self._live) == len(self.watches) and all(self._live.values()):
            self._all_live.set()
            self.down_since = None
        else:
            self._all_live.clear()
            if self.down_since is None:
                self.down_since = self.now_ms()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except VenueError as exc:  # Fatal: this stream can never work (a revoked key, say)
                if getattr(self.client, "closed_by_user", False):
                    return  # shutting down: the client was closed under the stream
                self.log.error("user_stream_failed", stream=name, error=str(exc))
                self.failure = exc
                if self.on_failure is not None:
                    self.on_failure(exc)

        self._tasks.append(asyncio.create_task(guarded(), name=f"ccxt-user-{name}"))

    async def _supervised(
        self, name: str, on_update: Callable[[Any], None], resync: Callable[[], Awaitable[None]], every_message: bool
    ) -> None:
        stats = self.stats.setdefault(name.removeprefix("watch_"), StreamStats())
        watch = unless_closed(self.client, getattr(self.client, name))
        wake = asyncio.Event() if every_message else None
        if wake is not None:
            wake_on_messages(self.client, wake)

        def failed(error: VenueError) -> None:
            self.log.warning("user_stream_reconnecting", stream=name, error=str(error), reconnects=stats.reconnects)
            self.last_error = redact(str(error))  # listen keys masked: it goes to the status and the alerts
            self._set_live(name, False)
            self._forget_listen_key()
            if self.on_reconnect is not None:
                self.on_reconnect(name.removeprefix("watch_"))

        def synced() -> None:
            self._set_live(name, True)

        self._set_live(name, False)
        await run_stream(
            watch, on_update, resync, stats, self.backoff, self.rng, wake=wake, on_failure=failed, on_synced=synced
        )

    def _forget_listen_key(self) -> None:
        """Authenticate afresh after a failure (a new listen key if the old one expired), never reuse a dead key.

        ccxt re-authenticates when its last authentication is older than the refresh period; this makes it so.
        """
        for options in self.client.options.values():
            if isinstance(options, dict) and "lastAuthenticatedTime" in options:
                options["lastAuthenticatedTime"] = 0

    # ---- stream updates: ccxt's caches are read, whatever a watch returned -----------------------------

    def _on_orders(self, _returned: object) -> None:
        for _, order in self._fresh.fresh("orders", ((None, o) for o in self.client.orders or ())):
            update = self.rest.parse_order(order)
            if update is not None:
                self.emit(update)

    def _on_trades(self, _returned: object) -> None:
        for _, trade in self._fresh.fresh("trades", ((None, t) for t in self.client.myTrades or ())):
            fill = self.rest.parse_fill(trade)
            if fill is not None and self.memory.first_time(fill):
                self.emit(fill)

    def _on_account_change(self, _returned: object) -> None:
        self._dirty.set()

    def _on_raw_message(self, message: object) -> None:
        """Every Binance ACCOUNT_UPDATE (even one ccxt resolved no watch for) is an account change; after a
        FUNDING_FEE the next snapshot also fetches the settlement."""
        if not isinstance(message, Mapping) or message.get("e") != "ACCOUNT_UPDATE":
            return
        update = message.get("a")
        if isinstance(update, Mapping) and update.get("m") == "FUNDING_FEE":
            at = _as_ms(message.get("E"), self.now_ms()) - _FUNDING_LOOKBACK_MS
            self._funding_since = min(self._funding_since or at, at)
        self._dirty.set()

    # ---- re-syncs after a reconnect -----------------------------------------------------------------

    async def _resync_orders(self) -> None:
        for update in await self.rest.changed_orders():
            self.emit(update)

    async def _resync_fills(self) -> None:
        since = (self.memory.last_fill_ms or self.now_ms()) - RESYNC_FILLS_LOOKBACK_MS
        for fill in await self.rest.fetch_fills(since):
            if self.memory.first_time(fill):
                self.emit(fill)

    async def _resync_account(self) -> None:
        """A snapshot of the account, and the funding settled since the last settlement seen."""
        last_seen = max((ts for _, ts in self._funding_seen), default=None)
        since = last_seen + 1 if last_seen is not None else self.now_ms() - _FUNDING_CATCH_UP_MS
        self._funding_since = min(self._funding_since or since, since)
        self._dirty.set()

    async def _refresh_account_forever(self) -> None:
        """One REST snapshot per burst of account changes; funding settlements after a FUNDING_FEE update."""
        attempt = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                self.emit(await self.rest.fetch_account())
                await self._settled_funding()
                attempt = 0
            except VenueError as exc:
                if isinstance(exc, Fatal):
                    raise
                self.log.warning("account_refresh_failed", error=str(exc))
                await asyncio.sleep(self.backoff.delay_s(attempt, self.rng))
                attempt += 1
                self._dirty.set()

    async def _settled_funding(self) -> None:
        """Fetch the settlements asked for; a FUNDING_FEE seen meanwhile asks again rather than being lost."""
        since, self._funding_since = self._funding_since, None
        if since is None:
            return
        try:
            settlements = await self.rest.fetch_funding_settlements(since)
        except VenueError:
            self._funding_since = min(self._funding_since or since, since)
            raise
        for settled in settlements:
            if (settled.symbol, settled.ts) not in self._funding_seen:
                self._funding_seen.add((settled.symbol, settled.ts))
                self.emit(settled)
