"""Reconciliation, gathered: the journal's view and the venue's answers, ready for `plan_reconciliation`.

Shell: reads the journal and queries the venue (raising the venue's errors: an unreachable venue is the
caller's to handle). `Reconciler` runs it and applies the plan through an `EventPath` (the daemon's: journal,
then engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    AccountSnapshot,
    ClientOrderId,
    OrderUpdate,
    Symbol,
    parse_duration_ms,
)
from bot.execution.order_states import IllegalTransition
from bot.execution.reconcile_plan import (
    SENT_GRACE_MS,
    ForeignOrders,
    JournalView,
    ReconcilePlan,
    VenueView,
    known_order_ids,
    plan_reconciliation,
    reconciliation_due,
    sent_grace_ms,
)
from bot.execution.venue import RESYNC_FILLS_LOOKBACK_MS, Venue
from bot.execution.venue_errors import OrderNotFound, Retryable, VenueError
from bot.live.ports import EventPath
from bot.risk.state import TradingState
from bot.store.journal import Journal, JournaledOrder

MAX_CATCH_UP_MS = 7 * MS_PER_DAY  # fills older than this are not fetched; a position difference covers them
CATCH_UP_OVERLAP_MS = MS_PER_MINUTE  # the venue's clock and ours may differ a little: fetch a bit earlier
SURVEY_ATTEMPTS = 3  # surveys taken while fills keep moving positions, before reconciliation gives up for now


async def survey(
    journal: Journal,
    venue: Venue,
    now: int,
    lot_steps: Mapping[Symbol, float],
    sent_grace: int = SENT_GRACE_MS,
    venue_id: str | None = None,
) -> tuple[JournalView, VenueView]:
    """Both views at `now`. Fills are read from the journal's catch-up point, and never from later than a stream
    re-sync would replay them; what the account holds beyond them is a position difference (adopted, reported).
    `venue_id` (hedge legs on several venues): only that venue's journal rows are matched against `venue`."""
    journal_open = tuple(journal.open_orders(venue_id))
    start = journal.catch_up_from(venue_id)
    since = max(now - MAX_CATCH_UP_MS, start - CATCH_UP_OVERLAP_MS) if start is not None else now
    # never less than a stream re-sync replays: a fill it hands over again is then one the journal holds
    since = min(since, now - RESYNC_FILLS_LOOKBACK_MS)
    venue_view = await _settled_venue_view(venue, journal_open, since)
    named = known_order_ids(journal_open, venue_view)
    known = {cid: order for cid in sorted(named) if (order := journal.order(cid)) is not None}
    journal_view = JournalView(
        now=now,
        open_orders=journal_open,
        known=known,
        fill_keys=journal.fill_keys_since(since, venue_id),
        filled_by_order=journal.filled_qty_by_order(known),
        positions=journal.positions(venue_id),
        lot_steps=lot_steps,
        sent_grace_ms=sent_grace,
    )
    return journal_view, venue_view


async def _settled_venue_view(venue: Venue, journal_open: tuple[JournaledOrder, ...], since: int) -> VenueView:
    """The venue's orders, fills and account as one picture: the account is read before and after the rest, and
    the picture is taken again while a fill moved a position in between (the fills would then include one the
    account does not, and the difference would be adopted as if the journal were wrong). Raises Retryable when
    the account never holds still."""
    before = await venue.fetch_account()
    for _ in range(SURVEY_ATTEMPTS):
        open_at_venue = tuple(await venue.fetch_open_orders())
        looked_up = await _look_up(venue, journal_open, {u.client_id for u in open_at_venue})
        fills = tuple(await venue.fetch_fills(since))
        after = await venue.fetch_account()
        if _positions(after) == _positions(before):
            return VenueView(open_at_venue, looked_up, fills, after)
        before = after
    raise Retryable(f"the account's positions kept changing during {SURVEY_ATTEMPTS} surveys (trading elsewhere?)")


def _positions(account: AccountSnapshot) -> dict[Symbol, float]:
    return {p.symbol: p.qty for p in account.positions if p.qty}


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
    journal: Journal,
    venue: Venue,
    now: int,
    lot_steps: Mapping[Symbol, float],
    foreign: ForeignOrders,
    sent_grace: int = SENT_GRACE_MS,
    venue_id: str | None = None,
) -> ReconcilePlan:
    journal_view, venue_view = await survey(journal, venue, now, lot_steps, sent_grace, venue_id)
    return plan_reconciliation(journal_view, venue_view, foreign)


UNCHANGED_LOG_EVERY_MS = MS_PER_HOUR  # an unchanged reconciliation is logged this often (each is journaled)


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    interval_ms: int  # a reconciliation this often while all is well
    retry_ms: int  # and this often while one has failed or something waits to be settled
    foreign: ForeignOrders  # what to do with open orders the journal never sent
    sent_grace_ms: int  # how long an order only sent may still reach the venue

    @staticmethod
    def from_config(config: Config, *, in_process: bool = False) -> ReconcileSettings:
        """`in_process`: the venue executes orders inside this process (paper), so an order it does not know
        after a restart never reached it; no request can still be on its way, and none is waited for."""
        execution = config.execution
        window = max(parse_duration_ms(venue.request_window) for venue in config.venue_sections().values())
        grace = 0 if in_process else sent_grace_ms(window)  # [venues]: the longest request window of them
        return ReconcileSettings(
            interval_ms=parse_duration_ms(execution.reconcile_interval),
            retry_ms=parse_duration_ms(execution.reconcile_retry),
            foreign=ForeignOrders(execution.foreign_orders),
            sent_grace_ms=grace,
        )


class Reconciler:
    """Reconciles a daemon's journal and engine against its venue: at start, then every reconcile_interval, and
    every reconcile_retry while a failure (or something only it can settle: `settle_later`) holds trading halted.
    Nothing is ever sent from here but the cancels of foreign orders that `[execution] foreign_orders = "cancel"`
    asks for."""

    def __init__(
        self, settings: ReconcileSettings, journal: Journal, venue: Venue, events: EventPath, clock: Clock, log: Any
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.venue = venue
        self.events = events
        self.clock = clock
        self.log = log
        self.last_try: int | None = None
        self.failed = False
        self._last_logged: tuple[int, dict[str, int]] | None = None  # when the last one was logged, and what

    def due(self, now: int) -> bool:
        settings = self.settings
        return reconciliation_due(now, self.last_try, self.failed, settings.interval_ms, settings.retry_ms)

    async def reconcile(self) -> ReconcilePlan | None:
        """Match the journal against the venue and apply the plan; None when it failed (trading held halted)."""
        now = self.clock.now_ms()
        self.last_try = now
        instruments = self.events.running_engine().instruments
        lot_steps = {symbol: instrument.lot_step for symbol, instrument in instruments.items()}
        settings = self.settings
        try:
            plan = await survey_and_plan(
                self.journal, self.venue, now, lot_steps, settings.foreign, settings.sent_grace_ms
            )
        except VenueError as exc:
            trouble = "venue unreachable" if isinstance(exc, Retryable) else f"venue error ({type(exc).__name__})"
            await self._failed(now, f"reconciliation failed, {trouble}: {exc}")
            return None
        verdict = plan.verdict
        if not verdict.ok:
            await self._failed(now, f"reconciliation refused: {verdict.reason}")
            return None
        await self._apply(now, plan)
        return plan

    def _log_done(self, now: int, summary: dict[str, int]) -> None:
        """Logged when its summary differs from the last logged one, else once an hour of the clock: a sped-up
        run reconciles every simulated minute, and most of its log was these lines (every one is journaled)."""
        last = self._last_logged
        if last is None or summary != last[1] or now - last[0] >= UNCHANGED_LOG_EVERY_MS:
            self.log.info("reconciliation_done", **summary)
            self._last_logged = (now, summary)

    async def _apply(self, now: int, plan: ReconcilePlan) -> None:
        engine = self.events.running_engine()
        for adoption in plan.adopt:
            try:
                engine.orders.adopt(adoption.request, adoption.update)
            except IllegalTransition as exc:
                self.log.error("order_adoption_illegal", client_id=adoption.request.client_id, error=str(exc))
        for update in plan.updates:
            await self.events.apply_venue_event(update)  # journaled, then the engine
        for fill in plan.fills:
            if fill.symbol in engine.instruments:
                await self.events.apply_venue_event(fill)  # journaled once (by trade id), then the engine
            else:
                self.journal.record_fill(fill)  # an instrument we do not trade: the account covers its position
        for order in plan.cancel:
            await self._cancel_foreign(order.client_id, order.symbol)
        for difference in plan.positions:
            self.journal.record_position_adoption(now, difference.symbol, difference.journal_qty, difference.venue_qty)
        if plan.account is not None:
            engine.adopt_positions(plan.account)  # the venue's positions, which include every fill
            engine.on_venue(plan.account)  # and its equity, governed against them
        self.failed = False
        self.journal.record_reconciliation(now, "ok", "", plan.summary())
        differences = plan.differences
        self._log_done(now, plan.summary())
        if differences:
            self.log.warning("reconciliation_differences", differences=differences)
            self.events.alert("reconciliation_differences", "reconcile", "; ".join(differences))
        change = engine.governor.release("reconcile", now, "reconciliation succeeded")
        if change is not None:
            await self.events.execute(now, change)

    async def settle_later(self, now: int, reason: str) -> None:
        """What only a reconciliation can settle (an order whose fate the venue could not tell yet: unreachable,
        or no trace while its request window is still open): trading is held halted with `reason`, and a
        reconciliation runs every reconcile_retry from now until one succeeds, which lifts the hold."""
        self.failed, self.last_try = True, now
        self.log.warning("reconciliation_needed", reason=reason)
        change = self.events.running_engine().governor.hold("reconcile", TradingState.HALTED, reason, now)
        if change is not None:
            await self.events.execute(now, change)

    async def _failed(self, now: int, reason: str) -> None:
        self.failed = True
        self._last_logged = None  # the one that succeeds next is logged, changed or not
        self.journal.record_reconciliation(now, "failed", reason, {})
        self.log.error("reconciliation_failed", reason=reason)
        self.events.alert("reconciliation_failed", "reconcile", f"trading halted: {reason}", "critical")
        change = self.events.running_engine().governor.hold("reconcile", TradingState.HALTED, reason, now)
        if change is not None:
            await self.events.execute(now, change)

    async def _cancel_foreign(self, client_id: ClientOrderId, symbol: Symbol) -> None:
        """A foreign order cancelled as `[execution] foreign_orders = "cancel"` says (it is not journaled)."""
        try:
            update = await self.venue.cancel_order(client_id, symbol)
        except VenueError as exc:  # already gone, or the venue is away: the next reconciliation sees it again
            self.log.warning("foreign_order_cancel_failed", client_id=client_id, instrument=symbol, error=str(exc))
            return
        self.log.warning("foreign_order_cancelled", client_id=client_id, instrument=symbol, status=str(update.status))
