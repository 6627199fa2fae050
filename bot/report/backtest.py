"""The result of a run or backtest: the JSON the issue specifies and its readable form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.execution.roll_plan import RollState
from bot.report.capture import capture_json, capture_text
from bot.report.carry import carry_lines
from bot.report.coin_account import describe as describe_coin_account
from bot.report.collateral import cuts_json, governance_lines, state_changes_json, top_ups_json
from bot.report.run_summary import RunSummary
from bot.report.text import utc


def result_json(summary: RunSummary) -> dict[str, Any]:
    e = summary.effectiveness
    return {
        "effectiveness": {
            "variance_reduction": round(e.variance_reduction, 6),
            "drawdown_reduction": round(e.drawdown_reduction, 6),
            **capture_json(e.capture),  # upside/downside capture, their spread, floor breaches
        },
        "hedged": {
            "pnl": round(e.hedged_pnl, 2),
            "max_drawdown": round(e.hedged_max_drawdown, 2),
            "fees": round(summary.totals.fees, 2),
            "funding": round(summary.totals.funding, 2),
            "trades": summary.totals.fills,
        },
        "unhedged": {"pnl": round(e.unhedged_pnl, 2), "max_drawdown": round(e.unhedged_max_drawdown, 2)},
        "period": {"start": utc(summary.first_ts), "end": utc(summary.last_ts), "days": e.days},
        "decisions": summary.decisions,
        "triggers": summary.triggers,
        "execution": summary.execution,
        "rolls": [roll_row(state) for state in summary.rolls],
        "liquidations": liquidations_json(summary.totals.liquidations),
        "transfers": {"count": summary.totals.transfer_count, "value": round(summary.totals.transfers, 2)},
        "state_changes": state_changes_json(summary.totals.state_changes),
        "collateral_cuts": cuts_json(summary.totals.collateral_cuts),
        "top_ups": top_ups_json(summary.totals.top_ups),
        "quarantined": summary.totals.quarantined,
        **({"coin_account": summary.coin_account} if summary.coin_account is not None else {}),
        **({"carry": summary.carry} if summary.carry is not None else {}),
    }


def liquidation_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One liquidation: when, the positions it closed (quantity held, the mark it closed at, the entry) and the
    hedge account's P&L closing them realised and its equity after (closing at the marks leaves it unchanged)."""
    return {
        "time": utc(int(record["ts"])),
        "closed": [
            {"symbol": c["symbol"], "qty": c["qty"], "price": c["price"], "entry_price": round(c["entry_price"], 8)}
            for c in record["closed"]
        ],
        "realized_pnl": round(record["realized_pnl"], 2),
        "equity_after": round(record["equity_after"], 2),
    }


def liquidations_json(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The `liquidations` block: always present, count 0 when the account was never liquidated."""
    return {"count": len(records), "events": [liquidation_row(record) for record in records]}


def liquidation_lines(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """A line per liquidation under their count (nothing when there was none)."""
    if not records:
        return []
    lines = [f"liquidations    {len(records)}: the hedge account was liquidated (see runbooks/margin-call.md)"]
    for row in map(liquidation_row, records):
        closed = ", ".join(f"{c['qty']:+g} {c['symbol']} @ {c['price']:,.2f}" for c in row["closed"])
        lines.append(
            f"  {row['time']}  {closed}; realised {row['realized_pnl']:+,.2f}, equity left {row['equity_after']:,.2f}"
        )
    return lines


def roll_outcome(state: RollState) -> str:
    """ "finished" before expiry, "expired" (the venue delivered what was left at expiry), or "in progress"."""
    if state.finished_ms is None:
        return "in progress"
    return "expired" if state.finished_ms >= state.expiry_ms else "finished"


def roll_row(state: RollState) -> dict[str, Any]:
    """One roll the run made: its contracts, when it started and ended, the near contract's expiry, and its
    cost in the quote currency (positive = paid; a roll still in progress counts what it has cost so far)."""
    cost = state.cost
    return {
        "near": state.near,
        "far": state.far,  # None: a plain dated contract, closed rather than rolled
        "started": utc(state.started_ms),
        "finished": None if state.finished_ms is None else utc(state.finished_ms),
        "expiry": utc(state.expiry_ms),
        "outcome": roll_outcome(state),
        **({"carry_switch": True} if state.switch else {}),  # a perpetual ↔ dated move of a carry leg
        "cost": {
            "basis": round(cost.basis, 2),
            "slippage": round(cost.slippage, 2),
            "fees": round(cost.fees, 2),
            "total": round(cost.total, 2),
        },
    }


def result_text(summary: RunSummary) -> str:
    e = summary.effectiveness
    t = summary.totals
    positions = ", ".join(f"{q:+g} {s}" for s, q in sorted(summary.positions.items())) or "none"
    return "\n".join(
        [
            f"period          {utc(summary.first_ts)} → {utc(summary.last_ts)} UTC ({e.days} days traded,"
            f" {t.events:,} events)",
            f"decisions       {summary.decisions} ({_triggers(summary)}), clips {summary.clips},"
            f" fills {t.fills}, rejected {summary.rejected}",
            f"hedge positions {positions}",
            *([f"coin account    {line}"] if (line := describe_coin_account(summary.coin_account)) else []),
            f"                {'hedged':>14} {'unhedged':>14}",
            f"P&L             {e.hedged_pnl:>14,.2f} {e.unhedged_pnl:>14,.2f}",
            f"max drawdown    {e.hedged_max_drawdown:>14,.2f} {e.unhedged_max_drawdown:>14,.2f}",
            f"costs           fees {t.fees:,.2f}, funding {t.funding:+,.2f} (+ = received),"
            f" slippage {t.slippage_cost:,.2f}",
            f"effectiveness   variance reduction {e.variance_reduction:.1%},"
            f" drawdown reduction {e.drawdown_reduction:.1%}",
            f"capture         {capture_text(e.capture)}",
            *([f"quarantined     {t.quarantined} price prints held back as implausible"] if t.quarantined else []),
            *(
                [f"transfers       {t.transfer_count} holdings changes worth {t.transfers:+,.2f}, not in P&L"]
                if t.transfer_count
                else []
            ),
            *liquidation_lines(t.liquidations),
            *governance_lines(t.state_changes, t.collateral_cuts, t.top_ups),
            *_rolls_table(summary.rolls),
            *carry_lines(summary.carry),
        ]
    )


def _rolls_table(rolls: tuple[RollState, ...]) -> list[str]:
    """A line per roll under a total (nothing for a run that made none)."""
    if not rolls:
        return []
    basis = sum(roll.cost.basis for roll in rolls)
    slippage = sum(roll.cost.slippage for roll in rolls)
    fees = sum(roll.cost.fees for roll in rolls)
    moves = [f"{roll.near} → {roll.far or 'closed'}" for roll in rolls]
    width = max(len(move) for move in moves)
    lines = [
        f"rolls           {len(rolls)}, cost {basis + slippage + fees:+,.2f} (basis {basis:+,.2f}, slippage"
        f" {slippage:+,.2f}, fees {fees:,.2f}; + = paid)",
        f"  {'near → far':{width}}  {'started':16}  {'finished':16}  {'expiry':16}  {'cost':>10}",
    ]
    for move, roll in zip(moves, rolls, strict=True):
        outcome = roll_outcome(roll)
        finished = utc(roll.finished_ms) if outcome == "finished" and roll.finished_ms is not None else outcome
        lines.append(
            f"  {move:{width}}  {utc(roll.started_ms):16}  {finished:16}  {utc(roll.expiry_ms):16}"
            f"  {roll.cost.total:>+10,.2f}"
        )
    return lines


def _triggers(summary: RunSummary) -> str:
    """The triggers that fired; when none did because the estimates never had enough samples, that reason."""
    fired = ", ".join(f"{name} {count}" for name, count in sorted(summary.triggers.items()))
    samples, needs = summary.warmup
    if fired or samples >= needs:
        return fired or "none fired"
    return f"none fired: the estimates were never ready, {samples} of {needs} samples (hedge.min_samples)"
