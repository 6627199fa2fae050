"""What governance did during a run, for the backtest result: every trading-state change, every collateral cut and
every top-up of the hedge account from a reserve (none without one). Reads the run's totals, never the daemon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.report.text import utc


def state_changes_json(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`state_changes`: each change of the trading state with its time, from, to and the reason (source first)."""
    return [{"time": utc(int(r["ts"])), "from": r["from"], "to": r["to"], "reason": r["reason"]} for r in records]


def cuts_json(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`collateral_cuts`: each protective cut the collateral buffer asked for, the share of every position to
    close and the positions it drove each leg to."""
    return [
        {"time": utc(int(r["ts"])), "fraction": round(float(r["fraction"]), 4), "targets": r["targets"],
         "reason": r["reason"]}
        for r in records
    ]  # fmt: skip


def top_ups_json(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`top_ups`: each transfer from the reserve into the hedge account (empty without a reserve)."""
    return [{"time": utc(int(r["ts"])), "amount": round(float(r["amount"]), 2), "reason": r["reason"]} for r in records]


def governance_lines(
    changes: Sequence[Mapping[str, Any]], cuts: Sequence[Mapping[str, Any]], top_ups: Sequence[Mapping[str, Any]]
) -> list[str]:
    """The text summary's lines: a count and one line per event (state changes, cuts, top-ups)."""
    lines = [f"state changes   {len(changes)}"]
    lines += [f"  {row['time']}  {row['from']} → {row['to']}: {row['reason']}" for row in state_changes_json(changes)]
    lines.append(f"collateral cuts {len(cuts)}")
    lines += [
        f"  {row['time']}  cut {row['fraction']:.0%}: " + ", ".join(f"{s} → {q:+g}" for s, q in row["targets"].items())
        for row in cuts_json(cuts)
    ]
    lines.append(f"top-ups         {len(top_ups)}" + ("" if top_ups else " (no reserve configured)"))
    lines += [f"  {row['time']}  {row['amount']:,.2f}: {row['reason']}" for row in top_ups_json(top_ups)]
    return lines
