"""The sweep's frontier page in a real browser: both charts drawn by the inlined uPlot under the page's CSP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.research.frontier_html import render_frontier
from bot.research.trials import TrialResult
from bot.testing.browser import Browser, find_chromium


def result(index: int, reduction: float, fees: float, trades: int) -> TrialResult:
    day = date(2021, 1, 1)
    return TrialResult(
        index, (("hedge.rebalance_band", 0.1 * index),), day, day, reduction, 0, 0, 0, fees, 0, 0, trades
    )


RESULTS = [result(0, 0.40, 100.0, 10), result(1, 0.60, 400.0, 40), result(2, 0.39, 150.0, 12)]  # 2 is dominated


def test_the_page_allows_only_its_own_inlined_scripts_and_styles_and_loads_nothing() -> None:
    html = render_frontier(RESULTS, title="sweep </script>")
    assert "default-src 'none'" in html
    assert "script-src 'sha256-" in html
    assert "<script src" not in html
    assert "<link" not in html
    assert "sweep &lt;/script&gt;" in html


@pytest.mark.asyncio
async def test_both_charts_are_drawn_in_a_browser_and_the_undominated_trials_are_in_bold(
    tmp_path: Path,
) -> None:
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed here (CI installs it: apt-get install chromium)")
    page_file = tmp_path / "sweep.html"
    page_file.write_text(render_frontier(RESULTS, title="sweep"), encoding="utf-8")
    async with Browser.launch(tmp_path / "profile") as browser:
        page = await browser.page()
        await page.goto(page_file.as_uri())
        await page.wait_for("document.querySelectorAll('figure .uplot canvas').length === 2", "the two charts")
        labels = await page.eval("[...document.querySelectorAll('.u-title')].map(e => e.textContent)")
        assert labels == ["variance reduction against cost (fees + slippage)", "variance reduction against trades"]
        bold = await page.eval("document.querySelectorAll('tr.frontier').length")
        assert bold == 2
