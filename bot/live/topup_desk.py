"""The top-up desk: carries out the engine's `TopUp` (bot.risk.topup) like an order, journal first.

1. read the venue's transfer history (the ids already there), 2. journal the intent (`executions`, kind
`top_up`, status `sent`) with those ids, 3. send, 4. journal the outcome (`executed` with the venue's id,
`refused`) and tell the engine, the operator (an alert, a line) and the run's totals; an executed one is
followed by a fresh account snapshot, so the engine sees the money where it is. A lost answer (`UnknownOutcome`,
or a crash between 2 and 4) stays `sent` and blocks further top-ups until it is resolved from the history
(`bot.execution.transfers.find_in_history`): at start, and on every later instant. Nothing is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.execution.transfers import TransferVenue, VenueTransfer, find_in_history
from bot.execution.venue_errors import Rejected, UnknownOutcome, VenueError
from bot.live.ports import EventPath
from bot.report.run_summary import Totals
from bot.risk.topup import TopUp
from bot.store.journal import Journal

KIND = "top_up"
SENT, EXECUTED, REFUSED, NOT_EXECUTED = "sent", "executed", "refused", "not_executed"


class TopUpDesk:
    def __init__(
        self, journal: Journal, venue: object, path: EventPath, totals: Totals, log: Any, human: Callable[[str], None]
    ) -> None:
        self.journal = journal
        self.venue: TransferVenue | None = venue if isinstance(venue, TransferVenue) else None
        self.path = path
        self.totals = totals
        self.log = log
        self.human = human
        self._unresolved: dict[str, dict[str, Any]] = {}  # transfer id -> its `sent` record

    # ---- start: the journal's top-ups ------------------------------------------------------------------------

    def latest(self) -> dict[str, dict[str, Any]]:
        """Each journaled top-up's latest record, by transfer id, in the order they were asked."""
        records: dict[str, dict[str, Any]] = {}
        for _, _, key, record in self.journal.executions(KIND):
            records[key] = {**records.get(key, {}), **record}
        return records

    def restore(self) -> None:
        """Count what the journal shows executed (caps, ids) and keep those left `sent` for resolution."""
        records = self.latest()
        executed = [(int(r["ts"]), float(r["amount"])) for r in records.values() if r["status"] == EXECUTED]
        engine = self.path.running_engine()
        engine.governance.reserve.restore(executed, len(records))
        for record in records.values():
            if record["status"] == EXECUTED:  # in the live equity baseline already: `restored`
                self.totals.top_ups.append({**_totals_row(record), "restored": True})
        self._unresolved = {key: r for key, r in records.items() if r["status"] == SENT}
        for key, record in self._unresolved.items():
            engine.governance.reserve.in_flight = _top_up(record)  # blocks new ones until resolved
            self.log.warning("top_up_unresolved", transfer_id=key, amount=record["amount"])

    async def resolve(self, now: int, *, at_start: bool = False) -> None:
        """Settle each top-up left `sent` from the venue's history; a venue away leaves it for the next instant.
        `at_start`: one executed before this process started is in the account's starting equity (`restored`)."""
        if not self._unresolved or self.venue is None:
            return
        for key, record in list(self._unresolved.items()):
            top_up = _top_up(record)
            try:
                found = find_in_history(top_up, await self.venue.transfers_in(top_up.wallet), self._claimed(record))
            except VenueError as exc:
                self.log.warning("top_up_resolve_failed", transfer_id=key, error=str(exc))
                return
            del self._unresolved[key]
            if found is not None:
                await self._executed(now, top_up, found, "found in the transfer history", restored=at_start)
            else:
                self.journal.record_execution(now, KIND, key, {"status": NOT_EXECUTED})
                self.path.running_engine().on_transfer(key, False, now, refused=False)
                self.log.warning("top_up_not_executed", transfer_id=key, amount=top_up.amount)
                self.path.alert("top_up", key, f"top-up {key} of {_shown(top_up.amount)} was never executed", "warning")

    # ---- the action ------------------------------------------------------------------------------------------

    async def send(self, now: int, top_up: TopUp) -> None:
        if self.venue is None:
            self._refused(now, top_up, f"the {self.path.running_engine().config.bot.mode} venue holds no reserve")
            return
        try:
            before = [row.venue_id for row in await self.venue.transfers_in(top_up.wallet)]
        except VenueError as exc:  # nothing was sent: try again once the planner's retry time has passed
            self._refused(now, top_up, f"transfer history unavailable: {exc}")
            return
        record = {**top_up.as_record(), "status": SENT, "before": before}
        self.journal.record_execution(now, KIND, top_up.transfer_id, record)
        self.log.warning("top_up_sent", transfer_id=top_up.transfer_id, amount=top_up.amount, wallet=top_up.wallet)
        try:
            done = await self.venue.transfer_in(top_up)
        except (UnknownOutcome, VenueError) as exc:
            if isinstance(exc, Rejected):
                self._refused(now, top_up, str(exc))
            else:  # it may have been executed: the history will say, never a second request
                self._unresolved[top_up.transfer_id] = record
                self.log.warning("top_up_outcome_unknown", transfer_id=top_up.transfer_id, error=str(exc))
            return
        await self._executed(now, top_up, done, "executed")

    async def _executed(
        self, now: int, top_up: TopUp, done: VenueTransfer, how: str, *, restored: bool = False
    ) -> None:
        record = {"status": EXECUTED, "venue_id": done.venue_id}
        self.journal.record_execution(now, KIND, top_up.transfer_id, record)
        self.totals.top_ups.append({**_totals_row({**top_up.as_record(), **record}), "restored": restored})
        engine = self.path.running_engine()
        engine.on_transfer(top_up.transfer_id, True, now)
        message = f"top-up {_shown(top_up.amount)} from the {top_up.wallet} wallet into the hedge account ({how})"
        self.log.warning("top_up_executed", transfer_id=top_up.transfer_id, venue_id=done.venue_id,
                         amount=top_up.amount, reason=top_up.reason)  # fmt: skip
        self.path.alert("top_up", top_up.transfer_id, f"{message}: {top_up.reason}", "warning")
        self.human(message)
        try:
            await self.path.apply_venue_event(await self._venue_account())
        except VenueError as exc:  # the next refresh brings it; meanwhile the planner counts it as credit
            self.log.warning("account_refresh_failed", error=str(exc))

    async def _venue_account(self) -> Any:
        fetch = getattr(self.venue, "fetch_account")  # noqa: B009 -- every TransferVenue is a Venue as well
        return await fetch()

    def _refused(self, now: int, top_up: TopUp, why: str) -> None:
        self.journal.record_execution(now, KIND, top_up.transfer_id, {**top_up.as_record(), "status": REFUSED,
                                                                      "why": why})  # fmt: skip
        self.path.running_engine().on_transfer(top_up.transfer_id, False, now)
        self.log.error("top_up_refused", transfer_id=top_up.transfer_id, amount=top_up.amount, why=why)
        self.path.alert("top_up", top_up.transfer_id, f"top-up of {_shown(top_up.amount)} refused: {why}", "critical")

    def _claimed(self, record: Mapping[str, Any]) -> frozenset[str]:
        executed = {str(r["venue_id"]) for r in self.latest().values() if r.get("venue_id")}
        return frozenset({*map(str, record.get("before", [])), *executed})


def _top_up(record: Mapping[str, Any]) -> TopUp:
    return TopUp(int(record["ts"]), str(record["transfer_id"]), float(record["amount"]), record["wallet"],
                 str(record["reason"]))  # fmt: skip


def _totals_row(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"ts": int(record["ts"]), "amount": float(record["amount"]), "reason": str(record["reason"]),
            "transfer_id": str(record["transfer_id"]), "venue_id": str(record.get("venue_id", ""))}  # fmt: skip


def _shown(amount: float) -> str:
    """Whole quote units as they are asked; a coin account's coin (in steps of 0.0001) to four decimals."""
    return f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.4f}"
