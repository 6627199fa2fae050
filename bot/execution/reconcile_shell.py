"""Reconciliation, gathered: the journal's view and the venue's answers, ready for `plan_reconciliation`.

Shell: reads the journal and queries the venue (raising the venue's errors: an unreachable venue is the
caller's to handle). The daemon applies the plan (`Daemon.reconcile`), because applying moves its engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain import MS_PER_DAY, MS_PER_MINUTE, ClientOrderId, OrderUpdate, Symbol
from bot.execution.reconcile import (
    ForeignOrders,
    JournalView,
    ReconcilePlan,
    VenueView,
    known_order_ids,
    plan_reconciliation,
)
from bot.store.journal import Journal, JournaledOrder
from bot.venues.base import Venue
from bot.venues.errors import OrderNotFound

MAX_CATCH_UP_MS = 7 * MS_PER_DAY  # fills older than this are not fetched; a position difference covers them
CATCH_UP_OVERLAP_MS = MS_PER_MINUTE  # the venue's clock and ours may differ a little: fetch a bit earlier


async def survey(
    journal: Journal, venue: Venue, now: int, lot_steps: Mapping[Symbol, float]
) -> tuple[JournalView, VenueView]:
    """Both views at `now`. A journal with no order has nothing to catch up on: no fills are fetched, and what
    the account holds becomes a position difference (adopted and reported)."""
    account = await venue.fetch_account()
    open_at_venue = tuple(await venue.fetch_open_orders())
    journal_open = tuple(journal.open_orders())
    looked_up = await _look_up(venue, journal_open, {u.client_id for u in open_at_venue})
    start = journal.catch_up_from()
    since = max(now - MAX_CATCH_UP_MS, start - CATCH_UP_OVERLAP_MS) if start is not None else None
    fills = tuple(await venue.fetch_fills(since)) if since is not None else ()
    venue_view = VenueView(open_at_venue, looked_up, fills, account)
    named = known_order_ids(journal_open, venue_view)
    known = {cid: order for cid in sorted(named) if (order := journal.order(cid)) is not None}
    journal_view = JournalView(
        now=now,
        open_orders=journal_open,
        known=known,
        fill_keys=journal.fill_keys_since(since) if since is not None else frozenset(),
        filled_by_order=journal.filled_qty_by_order(known),
        positions=journal.positions(),
        lot_steps=lot_steps,
    )
    return journal_view, venue_view


async def _look_up(
    venue: Venue, journal_open: tuple[JournaledOrder, ...], listed: set[ClientOrderId]
) -> dict[ClientOrderId, OrderUpdate | None]:
    """The venue's answer about each journal-open order it does not list as open; None: it never saw it."""
    answers: dict[ClientOrderId, OrderUpdate | None] = {}
    for order in journal_open:
        client_id = order.request.client_id
        if client_id in listed:
            continue
        try:
            answers[client_id] = await venue.fetch_order(client_id, order.request.symbol)
        except OrderNotFound:
            answers[client_id] = None
    return answers


async def survey_and_plan(
    journal: Journal, venue: Venue, now: int, lot_steps: Mapping[Symbol, float], foreign: ForeignOrders
) -> ReconcilePlan:
    journal_view, venue_view = await survey(journal, venue, now, lot_steps)
    return plan_reconciliation(journal_view, venue_view, foreign)
