"""`hedgebot report`: the journal's hourly valuations and fills turned into daily marks, P&L and effectiveness.

The opening mark. A period that starts with the journal is measured from the state before the first trade:
the spot holdings at the first valuation's prices, the hedge account at its baseline (hedge P&L 0, no costs
yet). The daemon trades at an instant before it values it, so the first valuation already carries that
instant's fees and slippage; measuring from it would drop them. A later period (`--from`) opens at the last
valuation before it. The run summary measures its P&L from the same opening (`ValueRecorder`), so both agree.

Attribution of the change in hedged value (spot at market + hedge-account P&L) over a day:
  spot          change of the spot holdings' value
  hedge price   change of hedge-account equity less funding and fees (the futures' price P&L), split into
    realised    price P&L of the contracts fills closed against their position's average entry, and
    unrealised  change of the open positions' P&L at the marks against their average entry (bot/report/pnl.py)
  funding       funding received (+) or paid (−)
  fees          fees paid (−)
  slippage      paid versus the mark at send time (already inside hedge price; shown for information)
  roll/basis    cost of rolling dated contracts (already inside hedge price; shown for information)
spot + hedge price + funding + fees = the change in hedged value, net of transfers.
Transfers. A holdings change that was no trade (an operator's `set-holding`, a config reload) is journaled as a
transfer (asset, quantity before and after, price, value) and is not P&L: every mark carries the transfers made
up to it, and spot P&L, hedged and unhedged P&L, drawdowns and effectiveness are measured on the values net of
them (a flow-adjusted series, as the run summary's `ValueRecorder`), so a day's spot P&L is Σ qty × price change.
The daily values shown are the marks as they were; the `transfers` column says what moved. Liquidations of the
hedge account in the period are listed (count and events), as in the backtest JSON.
Effectiveness over the period: variance reduction and drawdown reduction on every valuation (the data's
resolution: hourly, or each `hedge.sample` when shorter), tracking error (the annualised standard deviation of
daily hedged-value returns: the risk the hedge leaves), and upside and downside capture with the breaches of a
floor at 85 % of the hedged value's peak, on every valuation too (bot/report/capture.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.domain import MS_PER_DAY
from bot.report.backtest import liquidation_lines, liquidations_json
from bot.report.capture import Capture, capture, capture_json, capture_text
from bot.report.html import Mark as PlotMark
from bot.report.html import ReportData
from bot.report.performance import max_drawdown
from bot.report.pnl import Split
from bot.report.text import utc
from bot.store.journal import Valuation


@dataclass(frozen=True, slots=True)
class Mark:
    """The portfolio at one instant: a valuation with its hedge P&L split (None: no split possible)."""

    ts: int
    spot_value: float
    hedge_pnl: float
    hedge_notional: float
    target_notional: float
    fees_cum: float
    funding_cum: float
    slippage_cum: float
    roll_cost_cum: float
    split: Split | None
    transfers_cum: float = 0.0  # Σ value of the holdings transfers at or before this instant: not P&L

    @property
    def hedged(self) -> float:
        return self.spot_value + self.hedge_pnl

    @property
    def spot_net(self) -> float:
        """The spot value less the transfers so far: what P&L is measured on."""
        return self.spot_value - self.transfers_cum

    @property
    def hedged_net(self) -> float:
        return self.hedged - self.transfers_cum


def mark_of(valuation: Valuation, split: Split | None, transfers_cum: float = 0.0) -> Mark:
    v = valuation
    return Mark(v.ts, v.spot_value, v.hedge_pnl, v.hedge_notional, v.target_notional, v.fees_cum,
                v.funding_cum, v.slippage_cum, v.roll_cost_cum, split, transfers_cum)  # fmt: skip


def opening_of(first: Mark) -> Mark:
    """Just before the journal's first trade: spot at the first valuation's prices, nothing hedged or paid (a
    transfer before it is inside its spot value already)."""
    split = None if first.split is None else Split(0.0, 0.0)
    return Mark(first.ts, first.spot_value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, split, first.transfers_cum)


@dataclass(frozen=True, slots=True)
class Period:
    """The marks of the chosen period and the one it is measured from."""

    opening: Mark
    marks: Sequence[Mark]  # in the period, oldest first (not empty)
    liquidations: Sequence[Mapping[str, Any]] = ()  # Journal.liquidations() in the period
    transfers: Sequence[Mapping[str, Any]] = ()  # Journal.transfers() the period's values are net of


def period(
    marks: Sequence[Mark],
    start_ms: int = 0,
    end_ms: int = 2**62,
    liquidations: Sequence[Mapping[str, Any]] = (),
    transfers: Sequence[Mapping[str, Any]] = (),
) -> Period | None:
    """The marks in [start, end) and their opening: the last mark before the period, or, when the period
    starts with the journal, the state before its first trade. None when the period has no mark."""
    inside = [m for m in marks if start_ms <= m.ts < end_ms]
    if not inside:
        return None
    before = [m for m in marks if m.ts < start_ms]
    opening = before[-1] if before else opening_of(inside[0])
    chosen = [record for record in liquidations if start_ms <= int(record["ts"]) < end_ms]
    moved = [record for record in transfers if opening.ts < int(record["ts"]) <= inside[-1].ts]
    return Period(opening, inside, chosen, moved)


def daily_closes(chosen: Period) -> list[Mark]:
    """The opening, then the last mark of each UTC day."""
    closes: dict[int, Mark] = {}
    for mark in chosen.marks:
        closes[mark.ts // MS_PER_DAY] = mark
    return [chosen.opening, *closes.values()]


@dataclass(frozen=True, slots=True)
class DailyRow:
    day: str
    unhedged: float
    hedged: float
    spot_pnl: float
    hedge_price_pnl: float
    realised: float | None  # the part of hedge_price_pnl that fills closed (None: no split)
    unrealised: float | None  # the change of the open positions' P&L at the marks
    funding: float
    fees: float
    slippage: float
    roll_cost: float
    hedge_ratio: float  # actual short / exposure
    target_ratio: float
    transfers: float = 0.0  # holdings moved in (+) or out (−) that day, at their prices: not in spot_pnl


def daily_rows(chosen: Period) -> list[DailyRow]:
    rows = []
    for before, after in itertools.pairwise(daily_closes(chosen)):
        funding = after.funding_cum - before.funding_cum
        fees = -(after.fees_cum - before.fees_cum)
        change = _change(after.split, before.split)
        rows.append(
            DailyRow(
                day=utc(after.ts)[:10],
                unhedged=after.spot_value,
                hedged=after.hedged,
                spot_pnl=after.spot_net - before.spot_net,
                hedge_price_pnl=(after.hedge_pnl - before.hedge_pnl) - funding - fees,
                realised=None if change is None else change.realised,
                unrealised=None if change is None else change.unrealised,
                funding=funding,
                fees=fees,
                slippage=-(after.slippage_cum - before.slippage_cum),
                roll_cost=-(after.roll_cost_cum - before.roll_cost_cum),
                hedge_ratio=_ratio(after.hedge_notional, after.spot_value),
                target_ratio=_ratio(after.target_notional, after.spot_value),
                transfers=after.transfers_cum - before.transfers_cum,
            )
        )
    return rows


def _change(after: Split | None, before: Split | None) -> Split | None:
    if after is None or before is None:
        return None
    return Split(after.realised - before.realised, after.unrealised - before.unrealised)


def _ratio(notional: float, exposure: float) -> float:
    return -notional / exposure if exposure > 0 else math.nan


def summary(chosen: Period) -> dict[str, Any]:
    """Totals, effectiveness and the daily rows over the period."""
    closes = daily_closes(chosen)
    first, last = closes[0], closes[-1]
    unhedged = np.array([m.spot_net for m in closes])  # net of transfers: they are not P&L
    hedged = np.array([m.hedged_net for m in closes])
    rows = daily_rows(chosen)
    points = [chosen.opening, *chosen.marks]  # variance and drawdowns on every valuation, not daily closes
    every_u, every_h = np.array([m.spot_net for m in points]), np.array([m.hedged_net for m in points])
    var_u = float(np.var(np.diff(every_u), ddof=1)) if len(points) > 2 else 0.0
    var_h = float(np.var(np.diff(every_h), ddof=1)) if len(points) > 2 else 0.0
    dd_u, dd_h = max_drawdown(list(every_u)), max_drawdown(list(every_h))
    returns = np.diff(hedged) / np.array([m.hedged for m in closes[:-1]])  # flow-adjusted: Δ net / value before
    deviations = [abs(r.hedge_ratio - r.target_ratio) for r in rows if math.isfinite(r.target_ratio)]
    change = _change(last.split, first.split)
    return {
        "period": {"start": utc(chosen.marks[0].ts), "end": utc(last.ts), "days": len(closes) - 1},
        "pnl": {
            "hedged": round(float(hedged[-1] - hedged[0]), 2),
            "unhedged": round(float(unhedged[-1] - unhedged[0]), 2),
        },
        "max_drawdown": {"hedged": round(dd_h, 2), "unhedged": round(dd_u, 2)},
        "hedge_pnl": {
            "total": round(last.hedge_pnl - first.hedge_pnl, 2),
            "realised": None if change is None else round(change.realised, 2),
            "unrealised": None if change is None else round(change.unrealised, 2),
            "unrealised_open": _round(last.split.unrealised if last.split is not None else None),
            "funding": round(last.funding_cum - first.funding_cum, 2),
            "fees": round(-(last.fees_cum - first.fees_cum), 2),
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
            **capture_json(_capture(chosen)),  # on every valuation (hourly), net of transfers
        },
        "target_ratio_deviation": {
            "mean": round(float(np.mean(deviations)), 6) if deviations else 0.0,
            "max": round(float(np.max(deviations)), 6) if deviations else 0.0,
        },
        "transfers": {"count": len(chosen.transfers), "value": round(last.transfers_cum - first.transfers_cum, 2)},
        "liquidations": liquidations_json(chosen.liquidations),
        "daily": [_row_json(r) for r in rows],
    }


def _capture(chosen: Period) -> Capture:
    points = [chosen.opening, *chosen.marks]
    return capture([m.spot_net for m in points], [m.hedged_net for m in points])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None  # JSON has no NaN


def _row_json(r: DailyRow) -> dict[str, Any]:
    return {
        "date": r.day,
        "unhedged_value": round(r.unhedged, 2),
        "hedged_value": round(r.hedged, 2),
        "spot": round(r.spot_pnl, 2),
        "hedge_price": round(r.hedge_price_pnl, 2),
        "realised": _round(r.realised),
        "unrealised": _round(r.unrealised),
        "funding": round(r.funding, 2),
        "fees": round(r.fees, 2),
        "slippage": round(r.slippage, 2),
        "roll_basis": round(r.roll_cost, 2),
        "hedge_ratio": _finite(r.hedge_ratio),
        "target_ratio": _finite(r.target_ratio),
        "transfers": round(r.transfers, 2),
    }


_HEADER = (
    f"{'day':<11}{'unhedged':>12}{'hedged':>12}{'spot':>10}{'hedge px':>10}{'realised':>10}{'unreal.':>10}"
    f"{'funding':>9}{'fees':>8}{'ratio':>7}{'target':>8}"
)


def _money(value: float | None, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width},.0f}"


def report_text(chosen: Period, last_days: int | None = None) -> str:
    """The readable report: every day of the period (or the last `last_days`, saying how many are hidden)."""
    totals = summary(chosen)
    rows = daily_rows(chosen)
    shown = rows if last_days is None else rows[max(len(rows) - last_days, 0) :]
    lines = [
        f"period {totals['period']['start']} → {totals['period']['end']} UTC ({totals['period']['days']} days)",
        "",
        _HEADER,
    ]
    hidden = len(rows) - len(shown)
    if hidden:
        lines.append(f"... {hidden} earlier days not shown (all of them: leave out --last; or pick --from/--to)")
    for r in shown:
        lines.append(
            f"{r.day:<11}{r.unhedged:>12,.0f}{r.hedged:>12,.0f}{r.spot_pnl:>10,.0f}{r.hedge_price_pnl:>10,.0f}"
            f"{_money(r.realised, 10)}{_money(r.unrealised, 10)}{r.funding:>9,.0f}{r.fees:>8,.2f}"
            f"{r.hedge_ratio:>7.2f}{r.target_ratio:>8.2f}"
        )
    a, e, h = totals["attribution"], totals["effectiveness"], totals["hedge_pnl"]
    split = (
        "not available (inverse contracts traded)"
        if h["realised"] is None
        else f"realised {h['realised']:,.2f}, unrealised {h['unrealised']:,.2f}"
        f" (open positions at the marks: {h['unrealised_open']:,.2f})"
    )
    lines += [
        "",
        f"P&L hedged {totals['pnl']['hedged']:,.2f} vs unhedged {totals['pnl']['unhedged']:,.2f};"
        f" max drawdown hedged {totals['max_drawdown']['hedged']:,.2f} vs unhedged"
        f" {totals['max_drawdown']['unhedged']:,.2f}",
        f"attribution: spot {a['spot']:,.2f}, hedge price {a['hedge_price']:,.2f}, funding {a['funding']:+,.2f},"
        f" fees {a['fees']:,.2f} (slippage {a['slippage']:,.2f}, roll/basis {a['roll_basis']:,.2f} inside hedge price)",
        f"hedge price P&L: {split}",
        f"effectiveness: variance reduction {e['variance_reduction']:.1%}, drawdown reduction"
        f" {e['drawdown_reduction']:.1%}, tracking error {e['tracking_error']:.1%} a year",
        f"capture: {capture_text(_capture(chosen))}",
        f"hedge ratio vs target: mean deviation {totals['target_ratio_deviation']['mean']:.3f},"
        f" max {totals['target_ratio_deviation']['max']:.3f}",
    ]
    if chosen.transfers:
        lines.append(
            f"transfers: holdings changes worth {totals['transfers']['value']:+,.2f} (set-holding, reload),"
            " not P&L: every figure above is net of them"
        )
    lines += [f"liquidations: {len(chosen.liquidations)}", *liquidation_lines(chosen.liquidations)[1:]]
    return "\n".join(lines)


def html_data(
    valuations: Sequence[Valuation], result: dict[str, Any], title: str, marks: Sequence[PlotMark] = ()
) -> ReportData:
    """The series of the HTML report, hourly, from the journal's valuations; `marks` drawn on every plot."""
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
        summary={key: value for key, value in result.items() if key != "daily"},  # the rows are the plots
        title=title,
        marks=marks,
    )
