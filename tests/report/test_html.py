"""The HTML report: one self-contained page whose plots uPlot (inlined) builds from their data, no network."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.report.charts import UPLOT, Line, Mark, chart_data
from bot.report.html import MAX_POINTS, ReportData, drawdown, render_html

REPO = Path(__file__).resolve().parents[2]
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
    """Collects, per `<figure data-plot>`: its lines' finite point counts (from its data block), its caption and
    whether a browser built its chart (a canvas inside it)."""

    def __init__(self) -> None:
        super().__init__()
        self.plots: dict[str, list[int]] = {}
        self.data: dict[str, dict[str, object]] = {}
        self.captions: dict[str, str] = {}
        self.canvases: dict[str, int] = {}
        self.tags: set[str] = set()
        self._current: str | None = None
        self._in_caption = False
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        if tag == "figure" and attributes.get("data-plot"):
            self._current = attributes["data-plot"] or ""
            self.plots[self._current] = []
            self.canvases[self._current] = 0
        elif tag == "script" and attributes.get("class") == "plot-data" and self._current is not None:
            self._in_data = True
        elif tag == "canvas" and self._current is not None:
            self.canvases[self._current] += 1
        elif tag == "figcaption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._current = None
        elif tag == "figcaption":
            self._in_caption = False
        elif tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._current is None:
            return
        if self._in_data:
            spec = json.loads(data)
            self.data[self._current] = spec
            self.plots[self._current] = [sum(v is not None for v in column) for column in spec["data"][1:]]
        elif self._in_caption:
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


def test_the_page_loads_nothing_from_anywhere_and_runs_only_its_own_inlined_scripts() -> None:
    page = render_html(synthetic_report())
    found = figures(page)
    assert not {"link", "img", "iframe", "object"} & found.tags
    library = (UPLOT / "uPlot.iife.min.js").read_text()
    assert page.count(library) == 1  # the vendored file as it is (its licence banner names its home page)
    for reference in ("src=", "href=", "url(", "@import", "https://", "http://"):
        assert reference not in page.replace(library, "")
    policy = page.split('content="', 2)[1].split('"')[0]
    assert "default-src 'none'" in policy
    scripts = [part.split("</script>")[0] for part in page.split("<script>")[1:]]
    assert len(scripts) == 2  # uPlot and the build script; the data blocks are JSON, which never runs
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


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


def test_a_list_of_rows_in_the_backtest_json_shows_each_field_of_each_row_numbered_from_one() -> None:
    roll = {"near": "BTC/USDT:USDT-210326", "far": "BTC/USDT:USDT-210625", "cost": {"total": -2785.18}}
    page = render_html(ReportData([], [], [], summary={"rolls": [roll, {**roll, "near": "BTC/USDT:USDT-210625"}]}))
    for row in ("rolls.1.near", "BTC/USDT:USDT-210326", "rolls.1.cost.total", "-2,785.18", "rolls.2.near"):
        assert f">{row}<" in page
    assert ">rolls<" not in page
    assert ">none<" in render_html(ReportData([], [], [], summary={"rolls": []}))  # a run that made no roll says so


def test_text_from_the_caller_is_escaped() -> None:
    page = render_html(synthetic_report())
    assert "<2024>" not in page
    assert "ETH SOL LINK vs BTC perp &lt;2024&gt;" in page


def test_the_warm_up_gap_is_left_out_not_drawn_as_zero() -> None:
    warmup, points = 200, 24 * 60
    found = figures(render_html(synthetic_report(points, warmup)))
    assert found.plots["correlation-beta"] == [points - warmup, points - warmup]


def test_a_gap_in_the_middle_is_a_null_so_the_line_breaks_there() -> None:
    ts = [START + i * HOUR for i in range(10)]
    values = [1.0, 2.0, 3.0, math.nan, math.nan, 4.0, 5.0, 6.0, 7.0, 8.0]
    data = chart_data(ts, [Line("beta", values, "#000")], "plain")["data"]
    assert data[1] == [1.0, 2.0, 3.0, None, None, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert data[0] == [t / 1000 for t in ts]  # uPlot's time axis is in seconds


def test_a_long_series_is_thinned_but_keeps_its_extremes_and_its_gaps() -> None:
    points = 100_000
    ts = [START + i * 60_000 for i in range(points)]
    values = [math.sin(i / 5_000) for i in range(points)]
    values[31_337] = 5.0  # a one-minute spike must survive thinning
    values[77_777] = -5.0
    values[50_000:50_010] = [math.nan] * 10  # ten minutes without a value: still a gap
    [x, y] = chart_data(ts, [Line("value", values, "#000")], "plain")["data"]
    assert len(x) <= MAX_POINTS + points // (MAX_POINTS // 2)  # a bucket's first row and gap may add to its two
    assert max(v for v in y if v is not None) == 5.0
    assert min(v for v in y if v is not None) == -5.0
    assert None in y
    assert x == sorted(x)


def test_marks_go_to_every_plot_with_their_time_in_seconds() -> None:
    report = synthetic_report()
    marked = ReportData(**{**{name: getattr(report, name) for name in report.__slots__}, "marks": [
        Mark(START + 5 * HOUR, "halted: kill switch")
    ]})  # fmt: skip
    found = figures(render_html(marked))
    assert {plot: spec["marks"] for plot, spec in found.data.items()} == {
        plot: [{"t": (START + 5 * HOUR) / 1000, "label": "halted: kill switch", "color": "#b00020"}] for plot in PLOTS
    }


def test_text_in_a_data_block_cannot_close_it() -> None:
    report = ReportData([START], [1.0], [1.0], marks=[Mark(START, "</script><script>alert(1)</script>")])
    page = render_html(report)
    assert "</script><script>alert(1)" not in page
    assert figures(page).data["portfolio-value"]["marks"] == [
        {"t": START / 1000, "label": "</script><script>alert(1)</script>", "color": "#b00020"}
    ]


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


def test_chromium_builds_every_plots_chart_from_the_inlined_library(tmp_path: Path, report_file: Path) -> None:
    dom = run_chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    found = figures(dom)
    assert list(found.plots) == PLOTS
    assert all(found.canvases[plot] >= 1 for plot in PLOTS), found.canvases  # uPlot ran under the page's CSP
    assert dom.count('data-drawn="true"') == len(PLOTS)
    assert sum(len(lines) for lines in found.plots.values()) == 9


def test_chromium_paints_a_full_page_screenshot(tmp_path: Path, report_file: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", report_file.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1200, 3000)
    # An empty page at this size compresses to ~17 kB; this report's plots measured ~190 kB.
    assert len(png) > 60_000


# ---- real output in a real browser: `backtest --html` on ../shared/data, `report --html` on a paper run -----

LINES_PER_PLOT = {"portfolio-value": 2, "drawdown": 2, "hedge-ratio": 1, "correlation-beta": 2, "funding-fees": 2}
WINDOW = (1200, 3400)  # the summary table (capture figures included) above five figures
FIGURE_X = 130  # inside every figure's left padding at this width (main: 1000 px centred, 24 px padding)
BLUE, ORANGE = (0x1F, 0x5F, 0xBF), (0xC2, 0x57, 0x1A)  # the hedged (first) line of every plot; the dashed third
HEDGEBOT = Path(sys.executable).parent / "hedgebot"


def hedgebot(*argv: str) -> str:
    done = subprocess.run([str(HEDGEBOT), *argv], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def browser() -> str:
    """Chromium, looked for before the runs below are made for it (skipped where it is absent)."""
    return chromium()


@pytest.fixture(scope="module")
def backtest_page(browser: str, tmp_path_factory: pytest.TempPathFactory, prices_1h: Path, funding_8h: Path) -> Path:
    """`hedgebot backtest --html` over May 2022 (LUNA's month) of the real data, config/backtest.toml's basket."""
    folder = tmp_path_factory.mktemp("backtest")
    template = (REPO / "config" / "backtest.toml").read_text()
    config = folder / "backtest.toml"
    config.write_text(template.replace('state_dir = "var"', f'state_dir = "{folder}"', 1))
    page = folder / "backtest.html"
    period = ["--start", "2022-05-01", "--end", "2022-06-01"]
    hedgebot("backtest", "--config", str(config), "--prices", str(prices_1h), "--funding", str(funding_8h), *period,
             "--html", str(page))  # fmt: skip
    return page


@pytest.fixture(scope="module")
def report_page(browser: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`hedgebot run` (5 days, paper, synthetic market), then `hedgebot report --html` on its journal."""
    folder = tmp_path_factory.mktemp("paper")
    config = folder / "paper.toml"
    config.write_text(f'[bot]\nstate_dir = "{folder}"\nspan = "5d"\n[hedge]\nwindow = "2d"\nmin_samples = 24\n')
    hedgebot("run", "--config", str(config))
    page = folder / "report.html"
    hedgebot("report", "--journal", str(folder / "journal.sqlite"), "--html", str(page))
    return page


def decode_png(png: bytes) -> npt.NDArray[np.uint8]:
    """The RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are)."""
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert (depth, colour in (2, 6), interlace) == (8, True, 0)
        elif kind == b"IDAT":
            idat += data
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * bpp + 1)
    pixels = np.zeros((height, width * bpp), dtype=np.uint8)
    previous = np.zeros(width * bpp, dtype=np.int64)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: a running sum along the row, per channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 255
        elif kind == 2:  # Up
            row = (line + previous) & 255
        else:  # Average and Paeth depend on the byte just decoded to their left
            row = np.array(_unfilter(kind, line.tolist(), previous.tolist(), bpp), dtype=np.int64)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, bpp)[:, :, :3]


def _unfilter(kind: int, line: list[int], up: list[int], bpp: int) -> list[int]:
    out = [0] * len(line)
    for i, value in enumerate(line):
        left = out[i - bpp] if i >= bpp else 0
        above, corner = up[i], (up[i - bpp] if i >= bpp else 0)
        if kind == 3:
            predicted = (left + above) >> 1
        else:
            estimate = left + above - corner
            distances = (abs(estimate - left), abs(estimate - above), abs(estimate - corner))
            predicted = (
                left if distances[0] <= min(distances[1:]) else above if distances[1] <= distances[2] else corner
            )
        out[i] = (value + predicted) & 255
    return out


def figure_bands(pixels: npt.NDArray[np.uint8]) -> list[tuple[int, int]]:
    """The rows of each figure: the tall runs of white in the figures' left padding (the summary table's rows
    are white too, but short)."""
    white = np.all(pixels[:, FIGURE_X] == 255, axis=1)
    runs, start = [], None
    for y, is_white in enumerate([*white.tolist(), False]):
        if is_white and start is None:
            start = y
        elif not is_white and start is not None:
            if y - start > 250:
                runs.append((start, y))
            start = None
    return runs


def painted(pixels: npt.NDArray[np.uint8], colour: tuple[int, int, int]) -> int:
    """How many pixels are (nearly) this colour."""
    distance = np.abs(pixels.astype(np.int64) - np.array(colour)).sum(axis=2)
    return int((distance < 40).sum())


def check_the_browser_shows_every_plot(tmp_path: Path, page: Path, points: int) -> None:
    found = figures(run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout)
    assert {plot: len(lines) for plot, lines in found.plots.items()} == LINES_PER_PLOT
    assert all(count >= min(points, MAX_POINTS) * 0.9 for lines in found.plots.values() for count in lines)
    assert all(found.canvases[plot] >= 1 for plot in PLOTS), found.canvases

    shot = tmp_path / "page.png"
    run_chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    pixels = decode_png(shot.read_bytes())
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    bands = figure_bands(pixels)
    assert len(bands) == len(PLOTS), bands  # five figures, one under the other, all inside the window
    for plot, (top, bottom) in zip(PLOTS, bands, strict=True):
        band = pixels[top:bottom]
        # a legend swatch alone is ~60 blue pixels; a line drawn across the plot is hundreds more
        assert painted(band, BLUE) > 400, f"{plot}: its hedged line is not painted"
        if plot in ("correlation-beta", "funding-fees"):
            assert painted(band, ORANGE) > 150, f"{plot}: its dashed second line is not painted"


def test_chromium_shows_every_plot_of_a_real_backtest_on_the_shared_data(tmp_path: Path, backtest_page: Path) -> None:
    page = backtest_page.read_text()
    assert "2022-05-01 00:00 → 2022-05-31 23:00 UTC, 744 points" in page  # hourly, every hour of May
    assert ">hedged.pnl<" in page
    check_the_browser_shows_every_plot(tmp_path, backtest_page, points=744)


def test_chromium_shows_every_plot_of_the_report_on_a_real_paper_runs_journal(
    tmp_path: Path, report_page: Path
) -> None:
    page = report_page.read_text()
    assert "2024-01-01 00:00 → 2024-01-05 23:59 UTC, 121 points" in page  # hourly, and the closing valuation
    assert ">attribution.fees<" in page
    assert ">hedge_pnl.realised<" in page
    check_the_browser_shows_every_plot(tmp_path, report_page, points=120)
