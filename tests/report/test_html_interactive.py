"""The HTML report's plots in a real browser: values under the cursor, marks named when hovered, drag to zoom."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bot.report.charts import Mark
from bot.report.html import ReportData, render_html
from bot.testing.browser import Browser, Page, find_chromium

HOUR = 3_600_000
START = 1_700_000_000_000
POINTS = 240
MARKED = START + 120 * HOUR  # the middle of the plot


@pytest.fixture(autouse=True)
def _chromium() -> None:
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed here (CI installs it: apt-get install chromium)")


def report(tmp_path: Path) -> Path:
    ts = [START + i * HOUR for i in range(POINTS)]
    data = ReportData(
        timestamps_ms=ts,
        unhedged_value=[50_000 + 5_000 * math.sin(i / 30) for i in range(POINTS)],
        hedged_value=[50_000.0 + i for i in range(POINTS)],
        marks=[Mark(MARKED, "halted: kill switch")],
    )
    path = tmp_path / "report.html"
    path.write_text(render_html(data), encoding="utf-8")
    return path


async def _mouse(page: Page, kind: str, x: float, y: float) -> None:
    await page.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


async def _plot_area(page: Page, plot: str) -> dict[str, float]:
    return await page.box(f"figure[data-plot='{plot}'] .u-over")


def _legend(plot: str) -> str:
    return f"[...document.querySelectorAll(\"figure[data-plot='{plot}'] .u-legend .u-value\")].map(e => e.textContent)"


@pytest.mark.asyncio
async def test_hovering_a_plot_shows_the_time_and_values_under_the_cursor_and_names_a_mark_there(
    tmp_path: Path,
) -> None:
    async with Browser.launch(tmp_path / "profile") as browser:
        page = await browser.page()
        await page.goto(report(tmp_path).as_uri())
        await page.wait_for("document.querySelectorAll('figure[data-drawn]').length === 2", "the plots")
        area = await _plot_area(page, "portfolio-value")
        await _mouse(page, "mouseMoved", area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
        shown = f"(() => {{ const v = {_legend('portfolio-value')}; return v[1] !== '–' && v; }})()"
        values = await page.wait_for(shown, "the values under the cursor")
        time, hedged, _unhedged = values
        assert time.startswith("2023-11-1")  # UTC time of the point under the cursor
        assert hedged.startswith("50,1")  # the hedged value there: 50,000 + about 120
        marks = await page.eval("document.querySelector(\"figure[data-plot='portfolio-value'] .marks\").textContent")
        assert marks == "halted: kill switch"


@pytest.mark.asyncio
async def test_dragging_across_a_plot_zooms_its_time_axis_and_a_double_click_zooms_back_out(tmp_path: Path) -> None:
    async with Browser.launch(tmp_path / "profile") as browser:
        page = await browser.page()
        await page.goto(report(tmp_path).as_uri())
        await page.wait_for("document.querySelectorAll('figure[data-drawn]').length === 2", "the plots")
        scale = (
            "(() => { const x = document.querySelector(\"figure[data-plot='drawdown']\").chart.scales.x;"
            " return [x.min, x.max]; })()"
        )
        whole = await page.eval(scale)
        area = await _plot_area(page, "drawdown")
        y = area["y"] + area["height"] / 2
        await _mouse(page, "mouseMoved", area["x"] + area["width"] * 0.25, y)
        await _mouse(page, "mousePressed", area["x"] + area["width"] * 0.25, y)
        await _mouse(page, "mouseMoved", area["x"] + area["width"] * 0.5, y)
        await _mouse(page, "mouseReleased", area["x"] + area["width"] * 0.5, y)
        narrower = f"(() => {{ const s = {scale}; return s[1] - s[0] < {whole[1] - whole[0]} && s; }})()"
        zoomed = await page.wait_for(narrower, "the zoom")
        assert whole[0] < zoomed[0] < zoomed[1] < whole[1]
        assert zoomed[1] - zoomed[0] == pytest.approx((whole[1] - whole[0]) / 4, rel=0.1)
