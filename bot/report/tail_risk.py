"""Value at risk and expected shortfall of today's book, hedged and unhedged, from history. Pure.

The book's one-day P&L is revalued on each past day's returns: Σ holding value × r(asset) for the spot, plus
Σ hedge notional × r(its underlying) for the hedge (a short's notional is negative). Then VaR and ES, historical
and filtered, at a level α (0.99), by the maths of bot.risk.tail (its one home). Losses are positive numbers in
the quote currency. Funding is not counted: a day's funding is small beside a day's price move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.report.stress import Book
from bot.risk.tail import TailRisk, TailRiskReport, filtered, historical, pnl_tail_risk

__all__ = [  # the maths lives in bot.risk.tail (the engine's live VaR uses it too); re-exported for the report
    "TailRisk",
    "TailRiskReport",
    "book_pnl",
    "filtered",
    "format_tail_risk",
    "historical",
    "pnl_tail_risk",
    "tail_risk",
    "tail_risk_json",
]


def book_pnl(book: Book, returns: Sequence[Mapping[str, float]]) -> tuple[list[float], list[float]]:
    """The book's unhedged and hedged P&L on each day of `returns` (asset → that day's simple return); days
    lacking a return for an asset the book holds or hedges with are skipped."""
    assets = {h.asset for h in book.holdings} | {p.instrument.base for p in book.hedges}
    unhedged: list[float] = []
    hedged: list[float] = []
    for day in returns:
        if not assets <= day.keys():
            continue
        spot = sum(h.qty * h.price * day[h.asset] for h in book.holdings)
        hedge = sum(p.notional(p.price) * day[p.instrument.base] for p in book.hedges)
        unhedged.append(spot)
        hedged.append(spot + hedge)
    return unhedged, hedged


def tail_risk(book: Book, returns: Sequence[Mapping[str, float]], level: float = 0.99) -> TailRiskReport:
    """Today's book revalued on each past day's returns."""
    unhedged, hedged = book_pnl(book, returns)
    return pnl_tail_risk(unhedged, hedged, level)


def tail_risk_json(report: TailRiskReport) -> dict[str, Any]:
    def pair(risk: TailRisk) -> dict[str, float]:
        return {"var": round(risk.var, 2), "es": round(risk.es, 2)}

    return {
        "level": report.level,
        "days": report.days,
        "historical": {"unhedged": pair(report.unhedged), "hedged": pair(report.hedged)},
        "filtered": {"unhedged": pair(report.unhedged_filtered), "hedged": pair(report.hedged_filtered)},
    }


def format_tail_risk(report: TailRiskReport, source: str = "days of history") -> str:
    """Three lines: VaR and ES, historical and filtered, unhedged and hedged."""
    head = f"one-day value at risk and expected shortfall at {report.level:.0%}, from {report.days} {source}:"
    rows = [
        ("historical", report.unhedged, report.hedged),
        ("filtered (EWM volatility)", report.unhedged_filtered, report.hedged_filtered),
    ]
    lines = [head]
    for name, unhedged, hedged in rows:
        lines.append(
            f"  {name}: unhedged VaR {unhedged.var:,.2f}, ES {unhedged.es:,.2f}; "
            f"hedged VaR {hedged.var:,.2f}, ES {hedged.es:,.2f}"
        )
    return "\n".join(lines)
