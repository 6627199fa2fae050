"""The report's interactive plots: uPlot (the dashboard's vendored copy) inlined in the page, with each plot's data.

A report is one standalone file: the library, its styles and the small script that builds the plots are written
into the page, and a Content-Security-Policy lets the page run exactly those scripts (by their sha256) and load
nothing. Each plot's data is a JSON block beside its chart: times in seconds, one array per line, null for a gap
(the estimator's warm-up is left out, not drawn as zero). Marks are moments drawn as vertical lines on every plot
(a state change, a liquidation): `Mark(ts_ms, label, color)` given to `ReportData.marks`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

UPLOT = Path(__file__).resolve().parent.parent / "control" / "static" / "vendor" / "uplot"  # one vendored copy
BUILD_SCRIPT = Path(__file__).resolve().parent / "report_charts.js"
MAX_POINTS = 2_000  # per plot; more only grows the file, a screen has fewer pixels than that
Format = Literal["money", "percent", "plain"]


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    values: Sequence[float]
    color: str
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment shown on every plot as a vertical line, its label under the cursor's values."""

    ts_ms: int
    label: str
    color: str = "#b00020"


@dataclass(frozen=True, slots=True)
class Assets:
    """What a page inlines to draw its plots, and the CSP source list that lets exactly these scripts run."""

    style: str
    scripts: tuple[str, ...]

    @property
    def script_sources(self) -> str:
        return " ".join(f"'sha256-{_sha256(script)}'" for script in self.scripts)


@cache
def assets() -> Assets:
    """uPlot's script and styles and the build script, read once from the package."""
    library = (UPLOT / "uPlot.iife.min.js").read_text(encoding="utf-8")
    build = BUILD_SCRIPT.read_text(encoding="utf-8")
    return Assets((UPLOT / "uPlot.min.css").read_text(encoding="utf-8"), (library, build))


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def chart_data(ts: Sequence[int], lines: Sequence[Line], fmt: Format, marks: Sequence[Mark] = ()) -> dict[str, Any]:
    """One plot as the build script reads it: aligned columns (uPlot's layout), thinned to about MAX_POINTS."""
    keep = thinned(len(ts), [line.values for line in lines])
    return {
        "format": fmt,
        "series": [{"label": line.label, "color": line.color, "dash": line.dashed} for line in lines],
        "data": [
            [ts[i] / 1000 for i in keep],
            *([_finite_or_none(line.values[i]) for i in keep] for line in lines),
        ],
        "marks": [{"t": mark.ts_ms / 1000, "label": mark.label, "color": mark.color} for mark in marks],
    }


def data_block(data: dict[str, Any]) -> str:
    """The JSON in a `<script type="application/json">` (data, never run): no '<' can close the element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def thinned(count: int, columns: Sequence[Sequence[float]]) -> list[int]:
    """The rows to keep: all when few; else per bucket each column's lowest and highest row (peaks and troughs
    survive) and its first gap (a gap stays a gap), in time order."""
    if count <= MAX_POINTS:
        return list(range(count))
    size = math.ceil(count / max(MAX_POINTS // (2 * max(len(columns), 1)), 1))
    kept: list[int] = []
    for start in range(0, count, size):
        rows = range(start, min(start + size, count))
        chosen = {start}
        for column in columns:
            finite = [i for i in rows if math.isfinite(column[i])]
            if finite:
                chosen.update((min(finite, key=column.__getitem__), max(finite, key=column.__getitem__)))
            if len(finite) < len(rows):
                chosen.add(next(i for i in rows if not math.isfinite(column[i])))
        kept.extend(sorted(chosen))
    return kept
