"""Capture says how much of the rises and of the falls a hedged value kept, and how often it broke its floor."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.report.capture import capture, capture_json, capture_text, floor_breaches
from bot.report.daily import mark_of, period, report_text, summary
from bot.report.performance import ValueRecorder
from bot.store.journal import Valuation

UNHEDGED = [100.0, 110.0, 99.0, 120.0, 90.0]


def test_a_static_hedge_at_ratio_h_keeps_one_minus_h_of_both_the_rises_and_the_falls() -> None:
    hedged = [100.0 + 0.6 * (u - 100.0) for u in UNHEDGED]  # ratio 0.4
    c = capture(UNHEDGED, hedged)
    assert math.isclose(c.upside, 0.6)
    assert math.isclose(c.downside, 0.6)
    assert math.isclose(c.spread, 0.0, abs_tol=1e-12)


def test_a_hedge_that_covers_only_the_falls_has_a_positive_spread() -> None:
    hedged = [100.0]
    for before, after in itertools.pairwise(UNHEDGED):
        change = after - before
        hedged.append(hedged[-1] + (change if change > 0 else 0.2 * change))
    c = capture(UNHEDGED, hedged)
    assert math.isclose(c.upside, 1.0)
    assert math.isclose(c.downside, 0.2)
    assert math.isclose(c.spread, 0.8)


def test_each_fall_through_the_floor_counts_once_with_the_deepest_as_a_share_of_the_floor() -> None:
    values = [100.0, 90.0, 80.0, 84.0, 90.0, 70.0, 100.0]  # floor 85 % of the peak: 85
    breaches, worst = floor_breaches(values, 0.85)
    assert breaches == 2
    assert math.isclose(worst, 15.0 / 85.0)
    assert floor_breaches(values, 0.5) == (0, 0.0)
    breaches, worst = floor_breaches(values, 0.85, floor_value=75.0)
    assert breaches == 1
    assert math.isclose(worst, 5.0 / 75.0)


@given(st.lists(st.floats(min_value=1.0, max_value=1e6, allow_nan=False), min_size=2, max_size=50))
def test_an_unhedged_series_captures_all_of_both_and_never_breaches_more_than_it_falls(values: list[float]) -> None:
    c = capture(values, values)
    assert c.upside in (0.0, pytest.approx(1.0))
    assert c.downside in (0.0, pytest.approx(1.0))
    assert c.breaches <= sum(1 for a, b in itertools.pairwise(values) if b < a)
    assert 0.0 <= c.worst_breach < 1.0


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 unhedged values against 2 hedged"):
        capture([1.0, 2.0, 3.0], [1.0, 2.0])


def test_the_run_summary_measures_capture_on_every_hourly_record_not_only_daily_closes() -> None:
    recorder = ValueRecorder(floor=0.9)
    hour = 3_600_000
    spots = [100.0, 120.0, 100.0, 110.0]  # all inside one day: daily closes see only the last
    for i, (spot, hedge_pnl) in enumerate(zip(spots, [0.0, 0.0, 0.0, -5.0], strict=True)):
        recorder.record(i * hour, spot, hedge_pnl)
    c = recorder.effectiveness().capture
    assert c.upside == pytest.approx((20.0 + 5.0) / (20.0 + 10.0))  # the rise to 110 was half hedged
    assert c.downside == pytest.approx(1.0)
    assert c.floor == 0.9
    block = capture_json(c)
    assert set(block) == {
        "upside_capture",
        "downside_capture",
        "capture_spread",
        "floor",
        "floor_breaches",
        "worst_floor_breach",
    }
    assert capture_text(c).startswith("upside 83.3%, downside 100.0%, spread -16.7 pts; floor 90% of peak:")


def test_hedgebot_report_shows_capture_on_the_journals_hourly_valuations() -> None:
    start = 1_704_067_200_000
    hour = 3_600_000
    spots = [100_000.0, 110_000.0, 80_000.0, 90_000.0]
    pnls = [0.0, 0.0, 15_000.0, 15_000.0]  # the fall was half hedged, the rises not at all
    marks = [
        mark_of(Valuation(start + i * hour, s, 10_000 + p, 10_000, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), None)
        for i, (s, p) in enumerate(zip(spots, pnls, strict=True))
    ]
    chosen = period(marks)
    assert chosen is not None
    effectiveness = summary(chosen)["effectiveness"]
    assert effectiveness["upside_capture"] == pytest.approx(1.0)
    assert effectiveness["downside_capture"] == pytest.approx(0.5)
    assert effectiveness["capture_spread"] == pytest.approx(0.5)
    assert effectiveness["floor_breaches"] == 0  # hedged: 110,000 → 95,000 stays above 85 % of the peak
    assert "capture: upside 100.0%, downside 50.0%, spread +50.0 pts" in report_text(chosen)
