"""A self-contained HTML backtest report: summary table and interactive plots, no network.

The page carries its own CSS and scripts (uPlot and the build script, inlined: `bot.report.charts`), so it opens
from a file in any browser, offline, forever; a Content-Security-Policy lets it run exactly those scripts and load
nothing. Each plot is a `<figure data-plot="...">` with its data, a chart and a `<figcaption>`: drag to zoom on
time, double-click to zoom out, the values under the cursor in its legend. Values in, text out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from bot.report.charts import MAX_POINTS, Format, Line, Mark, assets, chart_data, data_block

__all__ = ["MAX_POINTS", "Line", "Mark", "ReportData", "drawdown", "render_html"]

HEDGED, UNHEDGED, THIRD = "#1f5fbf", "#8a8a8a", "#c2571a"


@dataclass(frozen=True, slots=True)
class ReportData:
    """Time series of one backtest, aligned on `timestamps_ms`; a series may be empty when not recorded.

    hedge_ratio = hedge notional / exposure; cumulative_funding is + when received; cumulative_fees is
    what was paid (≥ 0). `summary` is the backtest's JSON result, shown as a table.
    """

    timestamps_ms: Sequence[int]
    unhedged_value: Sequence[float]
    hedged_value: Sequence[float]
    hedge_ratio: Sequence[float] = ()
    cumulative_funding: Sequence[float] = ()
    cumulative_fees: Sequence[float] = ()
    correlation: Sequence[float] = ()
    beta: Sequence[float] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    title: str = "hedgebot backtest"
    marks: Sequence[Mark] = ()  # moments drawn on every plot (state changes, liquidations)

    def __post_init__(self) -> None:
        n = len(self.timestamps_ms)
        for name in _SERIES:
            values = tuple(getattr(self, name))
            if values and len(values) != n:
                raise ValueError(f"ReportData.{name} has {len(values)} values for {n} timestamps")
            object.__setattr__(self, name, values)  # frozen: store immutable copies of what was given
        object.__setattr__(self, "timestamps_ms", tuple(self.timestamps_ms))
        object.__setattr__(self, "marks", tuple(self.marks))
        if any(b < a for a, b in itertools.pairwise(self.timestamps_ms)):
            raise ValueError("ReportData.timestamps_ms must not go backwards")


_SERIES = (
    "unhedged_value",
    "hedged_value",
    "hedge_ratio",
    "cumulative_funding",
    "cumulative_fees",
    "correlation",
    "beta",
)


def drawdown(values: Sequence[float]) -> tuple[float, ...]:
    """Each value minus the running peak before it (≤ 0), in the values' units."""
    peak = -math.inf
    out = []
    for value in values:
        peak = max(peak, value)
        out.append(value - peak)
    return tuple(out)


# ---- the page -----------------------------------------------------------------------------------


def render_html(report: ReportData) -> str:
    body = "\n".join([_header(report), _summary_table(report.summary), *_figures(report)])
    inlined = assets()
    scripts = "\n".join(f"<script>{script}</script>" for script in inlined.scripts)
    return _PAGE.format(
        title=escape(report.title),
        style=inlined.style + _STYLE,
        body=body,
        scripts=scripts,
        script_sources=inlined.script_sources,
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src {script_sources}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
{body}
</main>
{scripts}
</body>
</html>
"""

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0;
  background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.period { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; background: #fff; }
td, th { padding: 4px 12px; border-bottom: 1px solid #e4e4e4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 24px 0; background: #fff; border: 1px solid #e4e4e4; border-radius: 6px; padding: 12px; }
figcaption { color: #444; margin-top: 6px; }
.chart { width: 100%; min-height: 300px; }
.marks { color: #b00020; min-height: 1.2em; margin: 2px 0 0; font-size: 13px; }
.empty { color: #777; font-style: italic; }
"""


def _header(report: ReportData) -> str:
    ts = report.timestamps_ms
    period = "no data points were recorded"
    if ts:
        period = f"{_utc(ts[0])} → {_utc(ts[-1])} UTC, {len(ts):,} points"
    return f'<h1>{escape(report.title)}</h1>\n<p class="period">{escape(period)}</p>'


def _summary_table(summary: Mapping[str, Any]) -> str:
    if not summary:
        return '<h2>Summary</h2>\n<p class="empty">no summary was given</p>'
    rows = "\n".join(
        f'<tr><th scope="row">{escape(key)}</th><td class="num">{escape(_cell(value))}</td></tr>'
        for key, value in _flatten(summary)
    )
    return f'<h2>Summary</h2>\n<table class="summary">\n{rows}\n</table>'


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested keys joined by dots; a list of rows (the rolls) numbers its rows from 1: "rolls.1.near"."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, list) and all(isinstance(row, Mapping) for row in value):
            if not value:
                yield name, "none"
            for number, row in enumerate(value, start=1):
                yield from _flatten(row, f"{name}.{number}.")
        else:
            yield name, value


def _cell(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.6g}" if abs(value) < 10 else f"{value:,.2f}"


def _figures(report: ReportData) -> list[str]:
    ts = report.timestamps_ms
    marks = report.marks
    return [
        _figure(
            "portfolio-value",
            "Portfolio value, hedged and unhedged (quote currency)",
            ts,
            [Line("hedged", report.hedged_value, HEDGED), Line("unhedged", report.unhedged_value, UNHEDGED)],
            "money",
            marks,
        ),
        _figure(
            "drawdown",
            "Drawdown from the running peak, hedged and unhedged (quote currency)",
            ts,
            [
                Line("hedged", drawdown(report.hedged_value), HEDGED),
                Line("unhedged", drawdown(report.unhedged_value), UNHEDGED),
            ],
            "money",
            marks,
        ),
        _figure(
            "hedge-ratio",
            "Hedge ratio: hedge notional / exposure",
            ts,
            [Line("hedge ratio", report.hedge_ratio, HEDGED)],
            "percent",
            marks,
        ),
        _figure(
            "correlation-beta",
            "Rolling correlation and beta of the portfolio to the hedge",
            ts,
            [Line("correlation", report.correlation, HEDGED), Line("beta", report.beta, THIRD, dashed=True)],
            "plain",
            marks,
        ),
        _figure(
            "funding-fees",
            "Cumulative funding (+ received) and fees paid (quote currency)",
            ts,
            [
                Line("funding", report.cumulative_funding, HEDGED),
                Line("fees", report.cumulative_fees, THIRD, dashed=True),
            ],
            "money",
            marks,
        ),
    ]


def _figure(
    plot: str, caption: str, ts: Sequence[int], lines: Sequence[Line], fmt: Format, marks: Sequence[Mark]
) -> str:
    """The plot's data (JSON, never run) and the element its chart is built in; a note when nothing was recorded."""
    drawn = [line for line in lines if any(math.isfinite(v) for v in line.values)]
    if not ts or not drawn:
        chart = '<p class="empty">nothing was recorded for this plot</p>'
    else:
        data = data_block(chart_data(ts, drawn, fmt, marks))
        chart = (
            f'<script type="application/json" class="plot-data">{data}</script>\n'
            f'<div class="chart" role="img" aria-label="{escape(caption)}"></div>'
            + ('\n<p class="marks"></p>' if marks else "")  # the marks under the cursor, named
        )
    caption_html = f"<figcaption>{escape(caption)}</figcaption>"
    return f'<figure data-plot="{escape(plot)}">\n{chart}\n{caption_html}\n</figure>'


def _utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
