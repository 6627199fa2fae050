"""What governance did, read back from a journal: every trading-state change, every collateral cut, every top-up
of the hedge account from a reserve and every liquidation, for `hedgebot report` (text and `--json`) and the HTML
reports (backtest and report), where each is also a mark on the plots.

The same rows as the run's totals (`bot.report.collateral`): the journal holds them all (`state_changes`, the
decisions whose trigger is `collateral_reduce`, the `top_up` executions, `liquidations`), so a report of a
daemon's journal or of a backtest's shows what the run summary showed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.report.charts import Mark
from bot.report.collateral import cuts_json, governance_lines, state_changes_json, top_ups_json
from bot.store.journal import Journal

CUT_TRIGGER = "collateral_reduce"
TOP_UP_KIND = "top_up"  # bot.live.topup_desk's execution kind
_EXECUTED = "executed"
COLORS = {"state": "#7a3fb5", "cut": "#c2571a", "top_up": "#2e8b57", "liquidation": "#b00020"}


@dataclass(frozen=True, slots=True)
class GovernanceRecords:
    """Rows as the run's totals hold them (`ts` in ms), oldest first."""

    state_changes: Sequence[Mapping[str, Any]] = ()
    collateral_cuts: Sequence[Mapping[str, Any]] = ()
    top_ups: Sequence[Mapping[str, Any]] = ()
    liquidations: Sequence[Mapping[str, Any]] = ()

    def as_json(self) -> dict[str, Any]:
        """`state_changes`, `collateral_cuts` and `top_ups`, as in the backtest JSON (liquidations: the summary's)."""
        return {
            "state_changes": state_changes_json(self.state_changes),
            "collateral_cuts": cuts_json(self.collateral_cuts),
            "top_ups": top_ups_json(self.top_ups),
        }

    def lines(self) -> list[str]:
        return governance_lines(self.state_changes, self.collateral_cuts, self.top_ups)

    def marks(self) -> list[Mark]:
        """One mark per event, named as the text names it: drawn on every plot."""
        marks = [
            Mark(int(r["ts"]), f"{r['from']} → {r['to']}: {r['reason']}", COLORS["state"]) for r in self.state_changes
        ]
        marks += [
            Mark(int(r["ts"]), f"collateral cut {float(r['fraction']):.0%}: {r['reason']}", COLORS["cut"])
            for r in self.collateral_cuts
        ]
        marks += [
            Mark(int(r["ts"]), f"top-up {float(r['amount']):,.0f}: {r['reason']}", COLORS["top_up"])
            for r in self.top_ups
        ]
        marks += [Mark(int(r["ts"]), _liquidation_label(r), COLORS["liquidation"]) for r in self.liquidations]
        return sorted(marks, key=lambda mark: mark.ts_ms)


def _liquidation_label(row: Mapping[str, Any]) -> str:
    before, after = float(row["equity_before"]), float(row["equity_after"])
    return f"liquidation of the hedge account: equity {before:,.2f} → {after:,.2f}"


def read_governance(path: Path, start_ms: int = 0, end_ms: int = 2**62) -> GovernanceRecords:
    """The journal's governance events in [start, end)."""
    journal = Journal(path)
    try:
        changes = [_state_change(r) for r in journal.rows("state_changes") if start_ms <= int(r["ts"]) < end_ms]
        decisions = [r for r in journal.rows("decisions") if r["trigger"] == CUT_TRIGGER]
        cuts = [_cut(r) for r in decisions if start_ms <= int(r["ts"]) < end_ms]
        top_ups = [r for r in _top_ups(journal.executions(TOP_UP_KIND)) if start_ms <= int(r["ts"]) < end_ms]
        liquidations = journal.liquidations(start_ms, end_ms)
    finally:
        journal.close()
    return GovernanceRecords(changes, cuts, top_ups, liquidations)


def _state_change(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"ts": int(row["ts"]), "from": row["from_state"], "to": row["to_state"], "reason": row["reason"]}


def _cut(row: Mapping[str, Any]) -> dict[str, Any]:
    numbers = json.loads(row["numbers"])
    targets = {target["symbol"]: target["qty"] for target in json.loads(row["targets"])}
    return {"ts": int(row["ts"]), "fraction": numbers.get("fraction", 0.0), "targets": targets, "reason": row["reason"]}


def _top_ups(rows: Sequence[tuple[int, str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The executed top-ups, at the time each was asked: the journal holds a transfer's request (its amount and
    reason, status `sent` or `refused`), then its outcome by the same key."""
    asked: dict[str, dict[str, Any]] = {}
    executed: list[str] = []
    for _, _, key, record in rows:
        if "amount" in record:
            asked.setdefault(key, record)
        if record.get("status") == _EXECUTED and key not in executed:
            executed.append(key)
    done = [asked[key] for key in executed if key in asked]
    return [{"ts": int(r["ts"]), "amount": float(r["amount"]), "reason": str(r["reason"])} for r in done]
