"""`hedgebot report`: the journal's hourly valuations turned into daily marks, P&L attribution and effectiveness.

Attribution of the change in hedged value (spot at market + hedge-account P&L) over a day:
  spot          change of the spot holdings' value
  hedge price   change of hedge-account equity less funding and fees (the futures' price P&L)
  funding       funding received (+) or paid (−)
  fees          fees paid (−)
  slippage      paid versus the mark at send time (already inside hedge price; shown for information)
  roll/basis    cost of rolling dated contracts (already inside hedge price; shown for information)
Effectiveness over the period: variance reduction, drawdown reduction, and tracking error (the
annualised standard deviation of daily hedged-value returns: the risk the hedge leaves).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.domain import MS_PER_DAY
from bot.report.html import ReportData
from bot.report.performance import max_drawdown
from bot.report.text import utc
from bot.store.journal import Valuation


@dataclass(frozen=True, slots=True)
class DailyRow:
    day: str
    unhedged: float
    hedged: float
    spot_pnl: float
    hedge_price_pnl: float
    funding: float
    fees: float
    slippage: float
    roll_cost: float
    hedge_ratio: float  # actual short / exposure
    target_ratio: float


def daily_closes(valuations: Sequence[Valuation]) -> list[Valuation]:
    """The last valuation of each UTC day, preceded by the very first one (the opening mark)."""
    if not valuations:
        return []
    closes: dict[int, Valuation] = {}
    for valuation in valuations:
        closes[valuation.ts // MS_PER_DAY] = valuation
    return [valuations[0], *closes.values()]


def daily_rows(valuations: Sequence[Valuation]) -> list[DailyRow]:
    closes = daily_closes(valuations)
    rows = []
    for before, after in itertools.pairwise(closes):
        funding = after.funding_cum - before.funding_cum
        fees = -(after.fees_cum - before.fees_cum)
        rows.append(
            DailyRow(
                day=utc(after.ts)[:10],
                unhedged=after.spot_value,
                hedged=after.spot_value + after.hedge_pnl,
                spot_pnl=after.spot_value - before.spot_value,
                hedge_price_pnl=(after.hedge_pnl - before.hedge_pnl) - funding - fees,
                funding=funding,
                fees=fees,
                slippage=-(after.slippage_cum - before.slippage_cum),
                roll_cost=-(after.roll_cost_cum - before.roll_cost_cum),
                hedge_ratio=_ratio(after.hedge_notional, after.spot_value),
                target_ratio=_ratio(after.target_notional, after.spot_value),
            )
        )
    return rows


def _ratio(notional: float, exposure: float) -> float:
    return -notional / exposure if exposure > 0 else math.nan


def summary(valuations: Sequence[Valuation]) -> dict[str, Any]:
    """Totals and effectiveness over the valuations given (already cut to the chosen period)."""
    closes = daily_closes(valuations)
    if len(closes) < 2:
        return {"days": 0}
    unhedged = np.array([v.spot_value for v in closes])
    hedged = np.array([v.spot_value + v.hedge_pnl for v in closes])
    rows = daily_rows(valuations)
    var_u = float(np.var(np.diff(unhedged), ddof=1)) if len(closes) > 2 else 0.0
    var_h = float(np.var(np.diff(hedged), ddof=1)) if len(closes) > 2 else 0.0
    dd_u, dd_h = max_drawdown(list(unhedged)), max_drawdown(list(hedged))
    returns = np.diff(hedged) / hedged[:-1]
    deviations = [abs(r.hedge_ratio - r.target_ratio) for r in rows if math.isfinite(r.target_ratio)]
    return {
        "period": {"start": utc(closes[0].ts), "end": utc(closes[-1].ts), "days": len(closes) - 1},
        "pnl": {
            "hedged": round(float(hedged[-1] - hedged[0]), 2),
            "unhedged": round(float(unhedged[-1] - unhedged[0]), 2),
            "realised_and_unrealised_hedge": round(closes[-1].hedge_pnl - closes[0].hedge_pnl, 2),
        },
        "attribution": {
            "spot": round(sum(r.spot_pnl for r in rows), 2),
            "hedge_price": round(sum(r.hedge_price_pnl for r in rows), 2),
            "funding": round(sum(r.funding for r in rows), 2),
            "fees": round(sum(r.fees for r in rows), 2),
            "slippage": round(sum(r.slippage for r in rows), 2),
            "roll_basis": round(sum(r.roll_cost for r in rows), 2),
        },
        "effectiveness": {
            "variance_reduction": round(1 - var_h / var_u, 6) if var_u > 0 else 0.0,
            "drawdown_reduction": round(1 - dd_h / dd_u, 6) if dd_u > 0 else 0.0,
            "tracking_error": round(float(np.std(returns, ddof=1) * math.sqrt(365)), 6) if len(returns) > 1 else 0.0,
        },
        "target_ratio_deviation": {
            "mean": round(float(np.mean(deviations)), 6) if deviations else 0.0,
            "max": round(float(np.max(deviations)), 6) if deviations else 0.0,
        },
    }


def report_text(valuations: Sequence[Valuation], last_days: int = 14) -> str:
    totals = summary(valuations)
    if not totals.get("days", 1):
        return "no valuations in the journal for that period (the daemon records one per hour)"
    rows = daily_rows(valuations)
    lines = [
        f"period {totals['period']['start']} → {totals['period']['end']} UTC ({totals['period']['days']} days)",
        "",
        f"{'day':<11}{'unhedged':>14}{'hedged':>14}{'spot':>12}{'hedge px':>12}{'funding':>10}{'fees':>9}"
        f"{'ratio':>7}{'target':>8}",
    ]
    for r in rows[-last_days:]:
        lines.append(
            f"{r.day:<11}{r.unhedged:>14,.0f}{r.hedged:>14,.0f}{r.spot_pnl:>12,.0f}{r.hedge_price_pnl:>12,.0f}"
            f"{r.funding:>10,.0f}{r.fees:>9,.0f}{r.hedge_ratio:>7.2f}{r.target_ratio:>8.2f}"
        )
    a, e = totals["attribution"], totals["effectiveness"]
    lines += [
        "",
        f"P&L hedged {totals['pnl']['hedged']:,.2f} vs unhedged {totals['pnl']['unhedged']:,.2f}",
        f"attribution: spot {a['spot']:,.2f}, hedge price {a['hedge_price']:,.2f}, funding {a['funding']:+,.2f},"
        f" fees {a['fees']:,.2f} (slippage {a['slippage']:,.2f}, roll/basis {a['roll_basis']:,.2f} inside hedge price)",
        f"effectiveness: variance reduction {e['variance_reduction']:.1%}, drawdown reduction"
        f" {e['drawdown_reduction']:.1%}, tracking error {e['tracking_error']:.1%} a year",
        f"hedge ratio vs target: mean deviation {totals['target_ratio_deviation']['mean']:.3f},"
        f" max {totals['target_ratio_deviation']['max']:.3f}",
    ]
    return "\n".join(lines)


def html_data(valuations: Sequence[Valuation], result: dict[str, Any], title: str) -> ReportData:
    """The series of the HTML report, hourly, from the journal's valuations."""
    nan = math.nan
    return ReportData(
        timestamps_ms=[v.ts for v in valuations],
        unhedged_value=[v.spot_value for v in valuations],
        hedged_value=[v.spot_value + v.hedge_pnl for v in valuations],
        hedge_ratio=[_ratio(v.hedge_notional, v.spot_value) for v in valuations],
        cumulative_funding=[v.funding_cum for v in valuations],
        cumulative_fees=[v.fees_cum for v in valuations],
        correlation=[nan if v.correlation is None else v.correlation for v in valuations],
        beta=[nan if v.beta is None else v.beta for v in valuations],
        summary=result,
        title=title,
    )
