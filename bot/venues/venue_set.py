"""Hedge legs on more than one venue (`[venues]`, bot.settings.venues): one `Venue` made of several, each request
routed by its symbol to the venue that trades it (bot.execution.venue_routes), accounts merged.

Each member keeps its own keys, markets, leverage and margin mode, user stream and dead-man switch: the set only
routes. The merged account is in the quote (every leg is linear there: config checks it), equity and margins
summed and positions put together; each member's own snapshot is kept (`snapshots`) for the per-venue status.

A member whose REST fails (a read, a create, a reconciliation) is marked down (`down`): orders to it are refused
here, before anything is sent, and the daemon holds its legs (bot.live.venue_watch) while the others trade on.
Only a reconciliation of that member that succeeds (`mark_up`) lifts it: what it missed is then adopted once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import fields, replace
from typing import Any

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    Instrument,
    Liquidated,
    MarketEvent,
    OrderRequest,
    OrderUpdate,
    Symbol,
    VenueEvent,
)
from bot.execution.venue import Venue
from bot.execution.venue_choice import VenueChoice
from bot.execution.venue_errors import RateLimited, Rejected, Retryable
from bot.execution.venue_routes import VenueRoutes
from bot.logs import get_logger


class VenueDown(Rejected):
    """Refused before sending: the venue that trades this symbol is down, its legs are held."""


class VenueSet:
    def __init__(self, members: Mapping[str, Venue], routes: VenueRoutes, now_ms: Callable[[], int]) -> None:
        self.members = dict(members)
        self.routes = routes
        self.now_ms = now_ms
        names = {venue.name for venue in self.members.values()}
        self.name = "paper" if names == {"paper"} else "+".join(f"{i}:{v.name}" for i, v in self.members.items())
        self.snapshots: dict[str, AccountSnapshot] = {}  # each member's latest account, as it reported it
        self.down: dict[str, tuple[int, str]] = {}  # member id -> (since, why): its REST failed
        self.choices: tuple[VenueChoice, ...] = ()  # instruments placed by cost at start (journaled by the daemon)
        self.log = get_logger(component="venue_set")
        if all(callable(getattr(v, "wait_for_events", None)) for v in self.members.values()):
            self.wait_for_events: Callable[[], Awaitable[None]] = self._wait_any  # live members: events on streams
        switches = [getattr(v, "dead_man", None) for v in self.members.values()]
        if any(switch is not None for switch in switches):  # live members: each its own countdown
            self.dead_man = DeadMen([switch for switch in switches if switch is not None])
        if all(callable(getattr(v, "account_now", None)) for v in self.members.values()):
            self.account_now: Callable[[], AccountSnapshot] = self._account_now  # paper members: as they stand

    # ---- routing and health ---------------------------------------------------------------------------

    def member(self, symbol: str) -> tuple[str, Venue]:
        venue_id = self.routes.venue_of(symbol)
        return venue_id, self.members[venue_id]

    def mark_down(self, venue_id: str, why: str) -> None:
        if venue_id not in self.down:
            self.down[venue_id] = (self.now_ms(), why)
            self.log.error("venue_down", venue=venue_id, reason=why)

    def mark_up(self, venue_id: str) -> None:
        if self.down.pop(venue_id, None) is not None:
            self.log.warning("venue_up", venue=venue_id)

    async def _member_call(self, venue_id: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except RateLimited:  # it answers, asking us to wait: the desk backs off, the venue is not down
            raise
        except Retryable as exc:
            self.mark_down(venue_id, f"its REST fails: {exc}")
            raise

    # ---- the Venue protocol ---------------------------------------------------------------------------

    async def start(self) -> None:
        for venue in self.members.values():
            await venue.start()

    async def close(self) -> None:
        for venue in self.members.values():
            await venue.close()

    async def load_instruments(self, symbols: Iterable[Symbol]) -> dict[Symbol, Instrument]:
        loaded: dict[Symbol, Instrument] = {}
        for venue_id, mine in self.routes.split(symbols).items():
            if mine:
                loaded.update(await self.members[venue_id].load_instruments(mine))
        return loaded

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        venue_id, venue = self.member(request.symbol)
        if venue_id in self.down:
            raise VenueDown(f"venue {venue_id!r} is down ({self.down[venue_id][1]}): its legs are held", code="local")
        result: OrderUpdate = await self._member_call(venue_id, venue.create_order(request))
        return result

    async def cancel_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        venue_id, venue = self.member(symbol)
        result: OrderUpdate = await self._member_call(venue_id, venue.cancel_order(client_id, symbol))
        return result

    async def fetch_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        venue_id, venue = self.member(symbol)
        result: OrderUpdate = await self._member_call(venue_id, venue.fetch_order(client_id, symbol))
        return result

    async def fetch_open_orders(self) -> list[OrderUpdate]:
        found: list[OrderUpdate] = []
        for venue_id, venue in self.members.items():
            found.extend(await self._member_call(venue_id, venue.fetch_open_orders()))
        return found

    async def fetch_fills(self, since_ms: int) -> list[Fill]:
        found: list[Fill] = []
        for venue_id, venue in self.members.items():
            found.extend(await self._member_call(venue_id, venue.fetch_fills(since_ms)))
        return found

    async def fetch_account(self) -> AccountSnapshot:
        """Every member's account read now, merged; a member that cannot be read is marked down and stands at its
        last snapshot. Retryable only when none could be read."""
        read = 0
        for venue_id, venue in self.members.items():
            try:
                self.snapshots[venue_id] = await self._member_call(venue_id, venue.fetch_account())
                read += 1
            except Retryable as exc:
                self.log.warning("venue_account_failed", venue=venue_id, error=str(exc))
        if not read:
            raise Retryable("no venue's account could be read")
        return self.merged()

    def merged(self, snapshots: Mapping[str, AccountSnapshot] | None = None) -> AccountSnapshot:
        """The members' accounts as one, in the quote; its time is the oldest of the members that are up (a held
        member's old snapshot counts its positions and equity, never makes the whole look fresh or stale)."""
        snapshots = self.snapshots if snapshots is None else snapshots
        parts = list(snapshots.values())
        fresh = [s.ts for venue_id, s in snapshots.items() if venue_id not in self.down]
        currency = next((s.currency for s in parts if s.currency), "")
        return AccountSnapshot(
            ts=min(fresh) if fresh else min((s.ts for s in parts), default=0),
            currency=currency,
            wallet_balance=sum(s.wallet_balance for s in parts),
            equity=sum(s.equity for s in parts),
            initial_margin=sum(s.initial_margin for s in parts),
            maintenance_margin=sum(s.maintenance_margin for s in parts),
            positions=tuple(p for s in parts for p in s.positions),
            venues=tuple(snapshots.items()),  # each venue liquidates on its own: the ladder reads these
        )

    def with_member(self, venue_id: str, snapshot: AccountSnapshot) -> AccountSnapshot:
        """The merged account with one member's snapshot replaced by `snapshot` (kept as its latest)."""
        self.snapshots[venue_id] = snapshot
        return self.merged()

    def on_market(self, event: MarketEvent) -> None:
        for venue in self.members.values():
            venue.on_market(event)

    def drain(self) -> list[VenueEvent]:
        events: list[VenueEvent] = []
        for venue_id, venue in self.members.items():
            drained = venue.drain()
            for event in drained:
                if isinstance(event, AccountSnapshot):  # a member's own account: the engine sees the whole
                    whole = self.with_member(venue_id, event)
                    event = _as_whole(event, whole)
                events.append(event)
        return events

    async def _wait_any(self) -> None:
        waits = [asyncio.ensure_future(_waiter(venue)()) for venue in self.members.values()]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _account_now(self) -> AccountSnapshot:
        return self.merged({i: _now_reader(v)() for i, v in self.members.items()})

    def member_snapshot(self, venue_id: str) -> AccountSnapshot | None:
        return self.snapshots.get(venue_id)

    def positions_of(self, venue_id: str, snapshot: AccountSnapshot) -> AccountSnapshot:
        """`snapshot` with only the positions the member `venue_id` trades."""
        mine = tuple(p for p in snapshot.positions if self.routes.venue_of(p.symbol) == venue_id)
        return replace(snapshot, positions=mine)


class DeadMen:
    """The members' dead-man switches as one: a shutdown that leaves orders resting disarms every one."""

    def __init__(self, switches: list[Any]) -> None:
        self.switches = switches

    async def disarm(self) -> None:
        for switch in self.switches:
            await switch.disarm()


def _as_whole(event: AccountSnapshot, whole: AccountSnapshot) -> AccountSnapshot:
    """A member's snapshot as the merged account; a liquidation keeps what it closed (and stays a Liquidated)."""
    if isinstance(event, Liquidated):
        return Liquidated(**{**{f: getattr(event, f) for f in _LIQUIDATED_FIELDS}, **_fields_of(whole)})
    return whole


def _fields_of(snapshot: AccountSnapshot) -> dict[str, Any]:
    return {f: getattr(snapshot, f) for f in _SNAPSHOT_FIELDS}


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(AccountSnapshot))
_LIQUIDATED_FIELDS = tuple(f.name for f in fields(Liquidated))


def _waiter(venue: Venue) -> Callable[[], Awaitable[None]]:
    wait: Callable[[], Awaitable[None]] = venue.wait_for_events  # type: ignore[attr-defined]  # checked in __init__
    return wait


def _now_reader(venue: Venue) -> Callable[[], AccountSnapshot]:
    read: Callable[[], AccountSnapshot] = venue.account_now  # type: ignore[attr-defined]  # checked in __init__
    return read
