"""The HTML report: one self-contained page whose plots are SVG polylines a browser draws without a server."""

from __future__ import annotations

import itertools
import math
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.report.html import (
    BOTTOM,
    HEIGHT,
    MAX_POINTS,
    TOP,
    Line,
    ReportData,
    drawdown,
    line_chart,
    nice_ticks,
    render_html,
)

HOUR = 3_600_000
START = 1_700_000_000_000
PLOTS = ["portfolio-value", "drawdown", "hedge-ratio", "correlation-beta", "funding-fees"]
SUMMARY = {
    "effectiveness": {"variance_reduction": 0.812345, "drawdown_reduction": 0.6},
    "hedged": {"pnl": 1234.5, "trades": 42},
}


def synthetic_report(points: int = 24 * 60, warmup: int = 200) -> ReportData:
    """Sixty days of hourly values; correlation and beta are NaN during the estimator's warm-up."""
    ts = [START + i * HOUR for i in range(points)]
    return ReportData(
        timestamps_ms=ts,
        unhedged_value=[50_000 + 8_000 * math.sin(i / 200) - 2 * i for i in range(points)],
        hedged_value=[50_000 + 1_500 * math.sin(i / 150) for i in range(points)],
        hedge_ratio=[0.8 + 0.1 * math.sin(i / 300) for i in range(points)],
        cumulative_funding=[0.5 * i for i in range(points)],
        cumulative_fees=[0.3 * i for i in range(points)],
        correlation=[math.nan] * warmup + [0.7 + 0.2 * math.sin(i / 100) for i in range(points - warmup)],
        beta=[math.nan] * warmup + [1.2 + 0.3 * math.cos(i / 100) for i in range(points - warmup)],
        summary=SUMMARY,
        title="ETH SOL LINK vs BTC perp <2024>",
    )


class Figures(HTMLParser):
    """Collects, per `<figure data-plot>`, its polylines' point counts and its caption."""

    def __init__(self) -> None:
        super().__init__()
        self.plots: dict[str, list[int]] = {}
        self.captions: dict[str, str] = {}
        self.tags: set[str] = set()
        self._current: str | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        if tag == "figure" and attributes.get("data-plot"):
            self._current = attributes["data-plot"]
            self.plots[self._current or ""] = []
        elif tag == "polyline" and self._current is not None:
            self.plots[self._current].append(len((attributes.get("points") or "").split()))
        elif tag == "figcaption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._current = None
        elif tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption and self._current is not None:
            self.captions[self._current] = self.captions.get(self._current, "") + data


def figures(page: str) -> Figures:
    parser = Figures()
    parser.feed(page)
    return parser


def test_every_plot_is_a_captioned_figure_with_lines_drawn() -> None:
    found = figures(render_html(synthetic_report()))
    assert list(found.plots) == PLOTS
    assert set(found.captions) == set(PLOTS)
    assert {plot: len(lines) for plot, lines in found.plots.items()} == {
        "portfolio-value": 2,
        "drawdown": 2,
        "hedge-ratio": 1,
        "correlation-beta": 2,
        "funding-fees": 2,
    }
    assert all(count > 100 for lines in found.plots.values() for count in lines)


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = render_html(synthetic_report())
    found = figures(page)
    assert not {"script", "link", "img", "iframe", "object"} & found.tags
    for reference in ("src=", "href=", "url(", "@import", "https://"):
        assert reference not in page
    assert page.count("http://") == page.count('xmlns="http://www.w3.org/2000/svg"')  # a name, not a fetch
    assert "default-src 'none'" in page


def test_the_summary_is_a_table_of_every_number_in_the_backtest_json() -> None:
    page = render_html(synthetic_report())
    for row in (
        "effectiveness.variance_reduction",
        "0.812345",
        "hedged.pnl",
        "1,234.50",
        "hedged.trades",
        "42",
    ):
        assert f">{row}<" in page


def test_text_from_the_caller_is_escaped() -> None:
    page = render_html(synthetic_report())
    assert "<2024>" not in page
    assert "ETH SOL LINK vs BTC perp &lt;2024&gt;" in page


def test_the_warm_up_gap_is_left_out_not_drawn_as_zero() -> None:
    warmup, points = 200, 24 * 60
    found = figures(render_html(synthetic_report(points, warmup)))
    assert found.plots["correlation-beta"] == [points - warmup, points - warmup]


def test_a_gap_in_the_middle_splits_a_line_in_two() -> None:
    ts = [START + i * HOUR for i in range(10)]
    values = [1.0, 2.0, 3.0, math.nan, math.nan, 4.0, 5.0, 6.0, 7.0, 8.0]
    svg = line_chart(ts, [Line("beta", values, "#000")], str)
    assert svg.count("<polyline") == 2


def test_a_long_series_is_thinned_but_keeps_its_extremes() -> None:
    points = 100_000
    ts = [START + i * 60_000 for i in range(points)]
    values = [math.sin(i / 5_000) for i in range(points)]
    values[31_337] = 5.0  # a one-minute spike must survive thinning
    values[77_777] = -5.0
    svg = line_chart(ts, [Line("value", values, "#000")], str)
    [polyline] = svg.split("<polyline")[1:]
    coordinates = polyline.split('points="')[1].split('"')[0].split()
    assert len(coordinates) <= MAX_POINTS
    ys = [float(c.split(",")[1]) for c in coordinates]
    ticks = nice_ticks(-5.0, 5.0)
    plot_height = HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + (ticks[-1] - value) / (ticks[-1] - ticks[0]) * plot_height

    assert min(ys) == pytest.approx(y_of(5.0), abs=0.06)  # coordinates are written with one decimal
    assert max(ys) == pytest.approx(y_of(-5.0), abs=0.06)


def test_an_empty_report_renders_and_says_there_is_nothing_to_plot() -> None:
    page = render_html(ReportData(timestamps_ms=[], unhedged_value=[], hedged_value=[]))
    found = figures(page)
    assert list(found.plots) == PLOTS
    assert all(lines == [] for lines in found.plots.values())
    assert page.count("nothing was recorded for this plot") == len(PLOTS)
    assert "no summary was given" in page


def test_a_single_point_and_a_flat_series_still_draw() -> None:
    one = ReportData([START], [100.0], [100.0], [0.5], [0.0], [0.0])
    assert figures(render_html(one)).plots["portfolio-value"] == [1, 1]
    flat = ReportData([START, START + HOUR], [100.0, 100.0], [100.0, 100.0])
    assert figures(render_html(flat)).plots["portfolio-value"] == [2, 2]


def test_a_series_of_the_wrong_length_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"hedge_ratio has 1 values for 2 timestamps"):
        ReportData([START, START + HOUR], [1.0, 2.0], [1.0, 2.0], hedge_ratio=[0.5])


def test_timestamps_going_backwards_are_refused() -> None:
    with pytest.raises(ValueError, match="must not go backwards"):
        ReportData([START + HOUR, START], [1.0, 2.0], [1.0, 2.0])


def test_the_report_keeps_its_own_copy_of_the_series() -> None:
    values = [1.0, 2.0]
    report = ReportData([START, START + HOUR], values, values)
    values.append(3.0)
    assert report.hedged_value == (1.0, 2.0)


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    assert drawdown([100.0, 120.0, 90.0, 130.0, 117.0]) == (0.0, 0.0, -30.0, 0.0, -13.0)


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(0, 1e9, allow_nan=False),
)
def test_ticks_are_evenly_spaced_round_numbers_covering_the_range(lo: float, width: float) -> None:
    hi = lo + width
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo
    assert ticks[-1] >= hi
    assert 2 <= len(ticks) <= 12
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(step == pytest.approx(steps[0], rel=1e-6) for step in steps)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(mantissa == pytest.approx(m, rel=1e-6) for m in (1, 2, 2.5, 5, 10))


# ---- in a real browser ------------------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.skip("headless Chromium is not installed here (CI installs it: apt-get install chromium)")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(synthetic_report()), encoding="utf-8")
    return path


def test_chromium_builds_a_dom_with_every_plots_polylines(tmp_path: Path, report_file: Path) -> None:
    dom = run_chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    found = figures(dom)
    assert list(found.plots) == PLOTS
    assert sum(len(lines) for lines in found.plots.values()) == 9
    assert all(count > 100 for lines in found.plots.values() for count in lines)


def test_chromium_paints_a_full_page_screenshot(tmp_path: Path, report_file: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", report_file.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1200, 3000)
    # An empty page at this size compresses to ~17 kB; this report's plots measured ~190 kB.
    assert len(png) > 60_000
