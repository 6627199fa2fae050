"""Reconciliation, planned: the journal's view of our orders, fills and positions against the venue's. Pure.

The shell (`bot.live.reconciler`) gathers both views and applies the plan; this module only decides:

- our orders open at the venue are adopted into the tracker (the journal knows their request), at the venue's
  status; journaled orders the venue reports final take that final status;
- an intent the venue never saw is abandoned, never sent again: one still `new` was never sent (the
  `submitted` mark is journaled before a request leaves) and is cancelled at once; one marked `submitted`
  is declared lost (rejected) once it is older than its grace (`sent_grace_ms`), before that reconciliation waits;
  a working order the venue no longer knows (purged after it ended) is expired, its fills come as fills;
- fills the journal lacks are applied once (keyed by symbol and trade id), ours and foreign alike, since the
  venue's positions include both;
- orders at the venue that are not ours are cancelled or left, as configured (`[execution] foreign_orders`);
- where the venue's positions differ from what the journal's fills imply, the venue's are adopted and each
  difference is reported;
- answers that contradict the journal or each other make the plan `failed`: nothing of it is applied and
  trading stays halted until a later reconciliation succeeds.

A plan never sends an order: it holds status reports, fills, cancels of foreign orders and adoptions.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    Symbol,
    TradeId,
)
from bot.execution.journaled import JournaledOrder
from bot.execution.order_states import IllegalTransition, check_transition

# A request marked sent may still reach the venue and be executed until its request window (Binance's
# recvWindow, `[venue] request_window`) has passed on the venue's clock. The venue refuses a timestamp more
# than 1 s ahead of its own clock, so ours may lag its by up to that: after the window plus this margin without
# a trace, the order is declared lost.
CLOCK_MARGIN_MS = 2_000


def sent_grace_ms(request_window_ms: int) -> int:
    """How long after its request was signed an order without a trace at the venue may still arrive there."""
    return request_window_ms + CLOCK_MARGIN_MS


SENT_GRACE_MS = sent_grace_ms(10_000)  # with ccxt's default recvWindow for Binance (10 s)
_OUR_CLIENT_ID = re.compile(r"^hb-[0-9a-f]+-\d+-\d+-\d+$")  # bot.execution.ids.client_order_id
_QTY_SLACK = 1e-9


def is_our_client_id(client_id: str) -> bool:
    """Ours by format: `hb-<decision>-<leg>-<clip>`. Another hedgebot on the same account would match too."""
    return bool(_OUR_CLIENT_ID.match(client_id))


class ForeignOrders(enum.StrEnum):
    """What to do with an open order at the venue that hedgebot did not place."""

    LEAVE = "leave"  # report it and trade around it (someone trades this account by hand)
    CANCEL = "cancel"  # the account is the bot's alone: cancel it


@dataclass(frozen=True, slots=True)
class JournalView:
    """What the journal says, at `now`."""

    now: int
    open_orders: tuple[JournaledOrder, ...]  # not final: new, submitted, accepted, partially filled
    known: Mapping[ClientOrderId, JournaledOrder]  # every journaled order the venue's answers name
    fill_keys: frozenset[tuple[Symbol, TradeId]]  # journaled fills in the catch-up window
    filled_by_order: Mapping[ClientOrderId, float]  # journaled fill quantity of those orders
    positions: Mapping[Symbol, float]  # journaled fills plus positions adopted before
    lot_steps: Mapping[Symbol, float] = field(default_factory=dict)  # differences below half a lot are noise
    sent_grace_ms: int = SENT_GRACE_MS  # a sent order without a trace is waited for this long, then declared lost


@dataclass(frozen=True, slots=True)
class VenueView:
    """What the venue answered."""

    open_orders: tuple[OrderUpdate, ...]
    looked_up: Mapping[ClientOrderId, OrderUpdate | None]  # journal-open orders not listed open; None: unknown
    fills: tuple[Fill, ...]  # since the journal's catch-up point
    account: AccountSnapshot


@dataclass(frozen=True, slots=True)
class Adoption:
    """One of our orders working at the venue, to be tracked again."""

    request: OrderRequest
    update: OrderUpdate


@dataclass(frozen=True, slots=True)
class PositionDifference:
    symbol: Symbol
    journal_qty: float
    venue_qty: float

    @property
    def delta(self) -> float:
        return self.venue_qty - self.journal_qty


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReconcilePlan:
    adopt: tuple[Adoption, ...] = ()
    updates: tuple[OrderUpdate, ...] = ()  # journaled orders whose status or filled quantity changes
    fills: tuple[Fill, ...] = ()  # fills the journal lacks, each once
    foreign_fills: tuple[Fill, ...] = ()  # those of `fills` that are not of a journaled order (reported)
    cancel: tuple[OrderUpdate, ...] = ()  # foreign orders to cancel
    left: tuple[OrderUpdate, ...] = ()  # foreign orders left working
    positions: tuple[PositionDifference, ...] = ()
    account: AccountSnapshot | None = None  # positions and equity to adopt
    problems: tuple[str, ...] = ()  # contradictions: the plan must not be applied
    waiting: tuple[ClientOrderId, ...] = ()  # sent too recently to be declared lost

    @property
    def verdict(self) -> Verdict:
        if self.problems or self.waiting:
            waiting = [f"order {cid} was sent but the venue has no trace of it yet" for cid in self.waiting]
            return Verdict(False, "; ".join([*self.problems, *waiting]))
        return Verdict(True)

    @property
    def differences(self) -> list[str]:
        """One line per thing the journal did not know, for the log and the operator's alert."""
        lines = [f"adopted {a.request.client_id} ({a.update.status}) on {a.request.symbol}" for a in self.adopt]
        lines += [f"order {u.client_id} → {u.status}{f' ({u.reason})' if u.reason else ''}" for u in self.updates]
        lines += [f"missed fill {f.trade_id} of {f.client_id}: {f.side} {f.qty:g} {f.symbol}" for f in self.fills]
        lines += [
            f"fill {f.trade_id} on {f.symbol} is from an order hedgebot did not place" for f in self.foreign_fills
        ]
        lines += [f"foreign order {u.client_id} on {u.symbol}: cancelling" for u in self.cancel]
        lines += [f"foreign order {u.client_id} on {u.symbol}: left working" for u in self.left]
        lines += [
            f"position {d.symbol}: journal {d.journal_qty:g}, venue {d.venue_qty:g} (adopted, Δ {d.delta:+g})"
            for d in self.positions
        ]
        return lines

    def summary(self) -> dict[str, int]:
        return {
            "adopted": len(self.adopt),
            "updated": len(self.updates),
            "fills": len(self.fills),
            "foreign_fills": len(self.foreign_fills),
            "cancelled": len(self.cancel),
            "left": len(self.left),
            "positions": len(self.positions),
        }


@dataclass(slots=True)
class _Draft:
    adopt: list[Adoption] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    cancel: list[OrderUpdate] = field(default_factory=list)
    left: list[OrderUpdate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    waiting: list[ClientOrderId] = field(default_factory=list)


def plan_reconciliation(journal: JournalView, venue: VenueView, foreign: ForeignOrders) -> ReconcilePlan:
    draft = _Draft()
    listed = {u.client_id for u in venue.open_orders}
    for update in venue.open_orders:
        _venue_open(draft, journal, update, foreign)
    for order in journal.open_orders:
        if order.request.client_id not in listed:
            _venue_silent(draft, journal, order, venue.looked_up)
    fills, foreign_fills = _missed_fills(draft, journal, venue.fills)
    positions = _position_differences(journal, fills, venue.account)
    return ReconcilePlan(
        adopt=tuple(draft.adopt),
        updates=tuple(draft.updates),
        fills=fills,
        foreign_fills=foreign_fills,
        cancel=tuple(draft.cancel),
        left=tuple(draft.left),
        positions=positions,
        account=venue.account,
        problems=tuple(draft.problems),
        waiting=tuple(draft.waiting),
    )


def _venue_open(draft: _Draft, journal: JournalView, update: OrderUpdate, foreign: ForeignOrders) -> None:
    order = journal.known.get(update.client_id)
    if order is None:
        if is_our_client_id(update.client_id):
            draft.problems.append(
                f"order {update.client_id} is open at the venue with hedgebot's id format but is not in the journal"
                " (another hedgebot on this account, or a journal that is not this account's)"
            )
        else:
            (draft.cancel if foreign is ForeignOrders.CANCEL else draft.left).append(update)
        return
    if _moved(draft, order, update):
        draft.adopt.append(Adoption(order.request, update))


def _venue_silent(
    draft: _Draft, journal: JournalView, order: JournaledOrder, looked_up: Mapping[ClientOrderId, OrderUpdate | None]
) -> None:
    """A journal-open order the venue does not list as open: its own answer says what became of it."""
    client_id = order.request.client_id
    if client_id not in looked_up:
        draft.problems.append(f"order {client_id} is open in the journal and the venue was not asked about it")
        return
    update = looked_up[client_id]
    if update is not None:
        if _moved(draft, order, update) and update.status.is_open:
            draft.adopt.append(Adoption(order.request, update))
        return
    symbol = order.request.symbol
    if order.status is OrderStatus.NEW:
        reason = "abandoned: journaled but never sent (found at reconciliation)"
        draft.updates.append(OrderUpdate(journal.now, client_id, symbol, OrderStatus.CANCELLED, reason=reason))
    elif order.status is OrderStatus.SUBMITTED and _may_still_arrive(journal, order):
        draft.waiting.append(client_id)
    elif order.status is OrderStatus.SUBMITTED:
        reason = "never reached the venue (no trace at reconciliation)"
        draft.updates.append(OrderUpdate(journal.now, client_id, symbol, OrderStatus.REJECTED, reason=reason))
    else:  # it was working; venues purge old orders that ended unfilled. Its fills, if any, come as fills
        reason = "the venue no longer knows this working order (purged after it ended)"
        draft.updates.append(OrderUpdate(journal.now, client_id, symbol, OrderStatus.EXPIRED, reason=reason))


def _may_still_arrive(journal: JournalView, order: JournaledOrder) -> bool:
    """A sent order the venue does not know may still reach it within its grace; never with no grace (an in-process
    venue: whatever the clocks say, such as a restarted accelerated paper run's clock starting before the order)."""
    return journal.sent_grace_ms > 0 and journal.now - order.updated_ts < journal.sent_grace_ms


def _moved(draft: _Draft, order: JournaledOrder, update: OrderUpdate) -> bool:
    """Check the venue's report against the journal; record the update when it moves the order. False on a
    contradiction (then it is a problem, not an update)."""
    client_id = order.request.client_id
    if update.symbol != order.request.symbol:
        draft.problems.append(
            f"order {client_id}: the venue has it on {update.symbol}, the journal on {order.request.symbol}"
        )
        return False
    if update.filled_qty > order.request.qty * (1 + _QTY_SLACK) + _QTY_SLACK:
        draft.problems.append(
            f"order {client_id}: the venue reports {update.filled_qty:g} filled of {order.request.qty:g}"
        )
        return False
    # a `new` intent the venue knows was sent: the `submitted` mark was lost, not the request
    known_status = OrderStatus.SUBMITTED if order.status is OrderStatus.NEW else order.status
    try:
        check_transition(known_status, update.status)
    except IllegalTransition as exc:
        draft.problems.append(f"order {client_id}: journal says {order.status}, venue says {update.status} ({exc})")
        return False
    if (update.status, update.filled_qty) != (order.status, order.filled_qty):
        draft.updates.append(update)
    return True


def _missed_fills(
    draft: _Draft, journal: JournalView, fills: tuple[Fill, ...]
) -> tuple[tuple[Fill, ...], tuple[Fill, ...]]:
    seen = set(journal.fill_keys)
    missed: list[Fill] = []
    per_order: dict[ClientOrderId, float] = {}
    for fill in fills:
        key = (fill.symbol, fill.trade_id)
        if key in seen:
            continue
        seen.add(key)
        missed.append(fill)
        per_order[fill.client_id] = per_order.get(fill.client_id, 0.0) + fill.qty
    for client_id, qty in per_order.items():
        order = journal.known.get(client_id)
        if order is None:
            continue
        total = journal.filled_by_order.get(client_id, 0.0) + qty
        if total > order.request.qty * (1 + _QTY_SLACK) + _QTY_SLACK:
            draft.problems.append(f"order {client_id}: fills add up to {total:g}, more than its {order.request.qty:g}")
    for fill in missed:
        order = journal.known.get(fill.client_id)
        if order is not None and (order.request.symbol, order.request.side) != (fill.symbol, fill.side):
            draft.problems.append(
                f"fill {fill.trade_id}: {fill.side} {fill.symbol} does not match order {fill.client_id}"
            )
    foreign = tuple(fill for fill in missed if fill.client_id not in journal.known)
    return tuple(missed), foreign


def _position_differences(
    journal: JournalView, fills: tuple[Fill, ...], account: AccountSnapshot
) -> tuple[PositionDifference, ...]:
    expected = dict(journal.positions)
    for fill in fills:
        expected[fill.symbol] = expected.get(fill.symbol, 0.0) + fill.signed_qty
    actual = {p.symbol: p.qty for p in account.positions}
    differences = []
    for symbol in sorted({*expected, *actual}):
        ours, theirs = expected.get(symbol, 0.0), actual.get(symbol, 0.0)
        tolerance = max(journal.lot_steps.get(symbol, 0.0) / 2, 1e-9 * max(1.0, abs(theirs)))
        if abs(theirs - ours) > tolerance:
            differences.append(PositionDifference(symbol, ours, theirs))
    return tuple(differences)


def known_order_ids(journal_open: tuple[JournaledOrder, ...], venue: VenueView) -> set[ClientOrderId]:
    """Every client id the two views name: the journal is asked about each (open or final)."""
    ids = {order.request.client_id for order in journal_open}
    ids |= {update.client_id for update in venue.open_orders}
    ids |= {fill.client_id for fill in venue.fills}
    return ids


def reconciliation_due(now: int, last_try: int | None, failed: bool, interval_ms: int, retry_ms: int) -> bool:
    """Whether the next reconciliation is due: at once when none ran, every `retry_ms` while the last one
    failed, every `interval_ms` otherwise (0: at start only)."""
    if last_try is None:
        return True
    wait = retry_ms if failed else interval_ms
    return wait > 0 and now - last_try >= wait
