"""Reconciliation with hedge legs on several venues (`[venues]`): each venue matched against its own journal rows.

An order journaled for venue A is looked up on A only; a fill is known by (venue, symbol, trade id); each venue's
positions are adopted for its own instruments, the others' left as the engine has them. A venue that cannot be
reached is marked down (its legs held by bot.live.venue_watch) and tried again every `reconcile_retry`, while the
others are reconciled and trade on; when it answers again, what it did meanwhile is adopted, once. A venue whose
answers contradict the journal halts trading, as with one venue; so does every venue being unreachable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain import Position, Symbol
from bot.execution.reconcile_plan import ReconcilePlan
from bot.execution.venue_errors import Retryable, VenueError
from bot.live.reconciler import Reconciler, survey_and_plan
from bot.venues.venue_set import VenueSet


class VenueSetReconciler(Reconciler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reconciled: set[str] = set()  # venues reconciled in this run: the engine's positions there are theirs

    @property
    def venues(self) -> VenueSet:
        assert isinstance(self.venue, VenueSet)
        return self.venue

    async def reconcile(self) -> ReconcilePlan | None:
        now = self.clock.now_ms()
        self.last_try = now
        engine = self.events.running_engine()
        lot_steps = {symbol: instrument.lot_step for symbol, instrument in engine.instruments.items()}
        settings = self.settings
        plans: list[tuple[str, ReconcilePlan]] = []
        unreachable: list[str] = []
        for venue_id, member in self.venues.members.items():
            try:
                plan = await survey_and_plan(
                    self.journal, member, now, lot_steps, settings.foreign, settings.sent_grace_ms, venue_id
                )
            except Retryable as exc:
                self.venues.mark_down(venue_id, f"reconciliation failed: {exc}")
                self.journal.record_reconciliation(now, "failed", f"venue {venue_id} unreachable: {exc}", {})
                self.log.error("venue_reconciliation_failed", venue=venue_id, error=str(exc))
                unreachable.append(venue_id)
                continue
            except VenueError as exc:
                await self._failed(now, f"venue {venue_id}: reconciliation failed ({type(exc).__name__}): {exc}")
                return None
            if not plan.verdict.ok:
                await self._failed(now, f"venue {venue_id}: reconciliation refused: {plan.verdict.reason}")
                return None
            plans.append((venue_id, plan))
        if not plans:
            await self._failed(now, f"reconciliation failed, no venue reachable ({', '.join(unreachable)})")
            return None
        for venue_id, plan in plans:
            await self._apply_member(now, venue_id, plan)
        self.failed = bool(unreachable)  # an unreachable venue is tried again every reconcile_retry
        return plans[0][1] if len(plans) == 1 else _combined(plans)

    async def _apply_member(self, now: int, venue_id: str, plan: ReconcilePlan) -> None:
        """The plan applied as with one venue, then this venue's positions adopted for its own instruments and
        the merged account (this venue's fresh snapshot, the others' latest) governed."""
        await self._apply(now, replace(plan, account=None))
        account = plan.account
        if account is not None:
            engine = self.events.running_engine()
            whole = self.venues.with_member(venue_id, account)
            positions = {p.symbol: p.qty for p in account.positions if p.qty}
            for other in self.venues.members:
                if other != venue_id:
                    positions.update(self._held_positions(other))
            adopted = tuple(Position(symbol, qty) for symbol, qty in positions.items())
            engine.adopt_positions(replace(whole, positions=adopted))
            engine.on_venue(whole)
            self._reconciled.add(venue_id)
        self.venues.mark_up(venue_id)

    def _held_positions(self, venue_id: str) -> dict[Symbol, float]:
        """Another venue's positions as they stand: the engine's once that venue has been reconciled in this run,
        else the journal's (a venue unreachable since the start: what the journal knows it holds)."""
        routes = self.venues.routes
        if venue_id in self._reconciled:
            engine = self.events.running_engine()
            mine = {s: q for s, q in engine.positions.items() if routes.venue_of(s) == venue_id}
        else:
            mine = self.journal.positions(venue_id)
        return {s: q for s, q in mine.items() if q}


def _combined(plans: list[tuple[str, ReconcilePlan]]) -> ReconcilePlan:
    """The members' plans as one (what `reconcile()` returns: tests and the start-up log read it)."""
    merged = ReconcilePlan()
    for _venue_id, plan in plans:
        merged = ReconcilePlan(
            adopt=(*merged.adopt, *plan.adopt),
            updates=(*merged.updates, *plan.updates),
            fills=(*merged.fills, *plan.fills),
            foreign_fills=(*merged.foreign_fills, *plan.foreign_fills),
            cancel=(*merged.cancel, *plan.cancel),
            left=(*merged.left, *plan.left),
            positions=(*merged.positions, *plan.positions),
            account=plan.account if merged.account is None else merged.account,
        )
    return merged
