"""A self-contained HTML backtest report: summary table and inline SVG plots, no script, no network.

The page carries its own CSS and draws every plot as an SVG `<polyline>` computed here, so it opens from a
file in any browser, offline, forever. A Content-Security-Policy forbids the page from loading anything.
Each plot is a `<figure data-plot="...">` with a `<figcaption>`. Pure: values in, text out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 28, 36  # room for y labels, the legend and the x labels
MAX_POINTS = 2_000  # per line; more only grows the file, a screen has fewer pixels than that
HEDGED, UNHEDGED, THIRD = "#1f5fbf", "#8a8a8a", "#c2571a"

Formatter = Callable[[float], str]


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

    def __post_init__(self) -> None:
        n = len(self.timestamps_ms)
        for name in _SERIES:
            values = tuple(getattr(self, name))
            if values and len(values) != n:
                raise ValueError(f"ReportData.{name} has {len(values)} values for {n} timestamps")
            object.__setattr__(self, name, values)  # frozen: store immutable copies of what was given
        object.__setattr__(self, "timestamps_ms", tuple(self.timestamps_ms))
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


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    values: Sequence[float]
    color: str
    dashed: bool = False


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
    return _PAGE.format(title=escape(report.title), style=_STYLE, body=body)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
{body}
</main>
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
svg { width: 100%; height: auto; display: block; }
svg text { font: 12px system-ui, sans-serif; fill: #444; }
svg .grid { stroke: #e6e6e6; } svg .axis { stroke: #999; } svg .zero { stroke: #666; stroke-dasharray: 3 3; }
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
    money = _money
    return [
        _figure(
            "portfolio-value",
            "Portfolio value, hedged and unhedged (quote currency)",
            ts,
            [Line("hedged", report.hedged_value, HEDGED), Line("unhedged", report.unhedged_value, UNHEDGED)],
            money,
        ),
        _figure(
            "drawdown",
            "Drawdown from the running peak, hedged and unhedged (quote currency)",
            ts,
            [
                Line("hedged", drawdown(report.hedged_value), HEDGED),
                Line("unhedged", drawdown(report.unhedged_value), UNHEDGED),
            ],
            money,
        ),
        _figure(
            "hedge-ratio",
            "Hedge ratio: hedge notional / exposure",
            ts,
            [Line("hedge ratio", report.hedge_ratio, HEDGED)],
            _percent,
        ),
        _figure(
            "correlation-beta",
            "Rolling correlation and beta of the portfolio to the hedge",
            ts,
            [Line("correlation", report.correlation, HEDGED), Line("beta", report.beta, THIRD, dashed=True)],
            _plain,
        ),
        _figure(
            "funding-fees",
            "Cumulative funding (+ received) and fees paid (quote currency)",
            ts,
            [
                Line("funding", report.cumulative_funding, HEDGED),
                Line("fees", report.cumulative_fees, THIRD, dashed=True),
            ],
            money,
        ),
    ]


def _figure(plot: str, caption: str, ts: Sequence[int], lines: Sequence[Line], fmt: Formatter) -> str:
    drawn = [line for line in lines if any(math.isfinite(v) for v in line.values)]
    if not ts or not drawn:
        chart = '<p class="empty">nothing was recorded for this plot</p>'
    else:
        chart = line_chart(ts, drawn, fmt, title=caption)
    caption_html = f"<figcaption>{escape(caption)}</figcaption>"
    return f'<figure data-plot="{escape(plot)}">\n{chart}\n{caption_html}\n</figure>'


# ---- the SVG line chart -------------------------------------------------------------------------


def line_chart(ts: Sequence[int], lines: Sequence[Line], fmt: Formatter, *, title: str = "") -> str:
    """An SVG chart of `lines` over `ts` (ms): y grid and labels, dates on x, a legend and a zero line."""
    finite = [v for line in lines for v in line.values if math.isfinite(v)]
    y_ticks = nice_ticks(min(finite), max(finite))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    x_lo, x_hi = ts[0], (ts[-1] if ts[-1] > ts[0] else ts[0] + 1)  # one instant: avoid 0 width
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(t: float) -> float:
        return LEFT + (t - x_lo) / (x_hi - x_lo) * plot_w

    def y_of(v: float) -> float:
        return TOP + (y_hi - v) / (y_hi - y_lo) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' width="{WIDTH}" height="{HEIGHT}"><title>{escape(title)}</title>'
    ]
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>')
    if y_lo < 0 < y_hi:
        zero = y_of(0)
        parts.append(f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    x_ticks = _time_ticks(x_lo, x_hi)
    for i, t in enumerate(x_ticks):
        anchor = "end" if i == len(x_ticks) - 1 else "middle"  # the last label must not run off the edge
        label = escape(_date(t, x_hi - x_lo))
        parts.append(f'<text x="{x_of(t):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}">{label}</text>')
    for line in lines:
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        for segment in _segments(ts, line.values):
            points = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in segment)
            parts.append(
                f'<polyline data-series="{escape(line.label)}" fill="none" stroke="{line.color}"'
                f' stroke-width="1.6"{dash} points="{points}"/>'
            )
    parts.append(_legend(lines))
    parts.append("</svg>")
    return "".join(parts)


def _legend(lines: Sequence[Line]) -> str:
    items = []
    x = LEFT + 8
    for line in lines:
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        items.append(
            f'<line x1="{x}" x2="{x + 22}" y1="14" y2="14" stroke="{line.color}" stroke-width="2.5"{dash}/>'
            f'<text x="{x + 28}" y="18">{escape(line.label)}</text>'
        )
        x += 40 + 7 * len(line.label)
    return f'<g class="legend">{"".join(items)}</g>'


def _segments(ts: Sequence[int], values: Sequence[float]) -> Iterator[list[tuple[int, float]]]:
    """Runs of finite values (a NaN is a gap, not a zero), each thinned to at most MAX_POINTS points."""
    run: list[tuple[int, float]] = []
    for t, v in zip(ts, values, strict=False):
        if math.isfinite(v):
            run.append((t, v))
        elif run:
            yield _thin(run)
            run = []
    if run:
        yield _thin(run)


def _thin(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep each bucket's lowest and highest point (in time order), so peaks and troughs survive."""
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / (MAX_POINTS // 2))
    kept: list[tuple[int, float]] = []
    for start in range(0, len(points), size):
        bucket = points[start : start + size]
        low = min(range(len(bucket)), key=lambda i: bucket[i][1])
        high = max(range(len(bucket)), key=lambda i: bucket[i][1])
        kept.extend(bucket[i] for i in sorted({low, high}))
    return kept


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round ticks (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi]; a flat series gets a band around it."""
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi)) or hi - lo < 1e-12:  # flat, up to float noise
        pad = max(abs(lo) * 0.05, 1e-9) if lo else 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step)
    last = math.ceil(hi / step)
    first -= first * step > lo  # lo / step can underflow to 0 (a denormal lo): the first tick must still cover it
    last += last * step < hi
    return [k * step for k in range(first, last + 1)]  # k × step: a zero tick is exactly 0


def _time_ticks(lo: int, hi: int, count: int = 6) -> list[float]:
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


def _date(ts_ms: float, span_ms: float) -> str:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d" if span_ms > 3 * 86_400_000 else "%m-%d %H:%M")


def _utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.3g}%"


def _plain(value: float) -> str:
    return f"{value:.2f}"
