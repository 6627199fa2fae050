"""The result of a run or backtest: the JSON the issue specifies and its readable form."""

from __future__ import annotations

from typing import Any

from bot.daemon import RunSummary
from bot.report.text import utc


def result_json(summary: RunSummary) -> dict[str, Any]:
    e = summary.effectiveness
    return {
        "effectiveness": {
            "variance_reduction": round(e.variance_reduction, 6),
            "drawdown_reduction": round(e.drawdown_reduction, 6),
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
    }


def result_text(summary: RunSummary) -> str:
    e = summary.effectiveness
    t = summary.totals
    positions = ", ".join(f"{q:+g} {s}" for s, q in sorted(summary.positions.items())) or "none"
    return "\n".join(
        [
            f"period          {utc(summary.first_ts)} → {utc(summary.last_ts)} UTC ({e.days} days traded,"
            f" {t.events:,} events)",
            f"decisions       {summary.decisions} ({_triggers(summary.triggers)}), clips {summary.clips},"
            f" fills {t.fills}, rejected {summary.rejected}",
            f"hedge positions {positions}",
            f"                {'hedged':>14} {'unhedged':>14}",
            f"P&L             {e.hedged_pnl:>14,.2f} {e.unhedged_pnl:>14,.2f}",
            f"max drawdown    {e.hedged_max_drawdown:>14,.2f} {e.unhedged_max_drawdown:>14,.2f}",
            f"costs           fees {t.fees:,.2f}, funding {t.funding:+,.2f} (+ = received),"
            f" slippage {t.slippage_cost:,.2f}",
            f"effectiveness   variance reduction {e.variance_reduction:.1%},"
            f" drawdown reduction {e.drawdown_reduction:.1%}",
        ]
    )


def _triggers(triggers: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(triggers.items())) or "none fired"
