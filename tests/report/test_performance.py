"""Effectiveness is measured on every recorded value (the data's resolution) and drawdowns from the running peak."""

from __future__ import annotations

import pytest

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.report.performance import ValueRecorder, max_drawdown


def test_max_drawdown_is_measured_from_the_peak_not_from_the_start() -> None:
    assert max_drawdown([100, 150, 90, 120, 80, 200]) == 70


def test_a_perfect_hedge_removes_all_variance_and_all_drawdown() -> None:
    recorder = ValueRecorder()
    for day, spot in enumerate([100.0, 90.0, 120.0, 70.0, 110.0]):
        recorder.record(day * MS_PER_DAY, spot, 100.0 - spot)
    result = recorder.effectiveness()
    assert result.variance_reduction == pytest.approx(1.0)
    assert result.drawdown_reduction == pytest.approx(1.0)
    assert result.unhedged_pnl == pytest.approx(10.0)
    assert result.hedged_pnl == pytest.approx(0.0)


def test_a_fall_and_rebound_inside_one_day_is_a_drawdown_not_a_flat_day() -> None:
    recorder = ValueRecorder()
    recorder.record(0, 100.0, 0.0)
    recorder.record(5 * MS_PER_HOUR, 50.0, 10.0)  # the spot halves by 05:00, the hedge gains 10
    recorder.record(23 * MS_PER_HOUR, 100.0, 0.0)  # and the day closes where it opened
    result = recorder.effectiveness()
    assert result.unhedged_max_drawdown == pytest.approx(50.0)
    assert result.hedged_max_drawdown == pytest.approx(40.0)
    assert result.drawdown_reduction == pytest.approx(0.2)
    assert result.days == 1


def test_the_pnl_opens_before_the_first_trade_so_the_first_instants_costs_count() -> None:
    recorder = ValueRecorder()
    recorder.record(0, 100.0, -3.0)  # the first record comes after that instant's trades paid 3
    recorder.record(MS_PER_DAY, 110.0, -3.0)
    assert recorder.series() == ([100.0, 100.0, 110.0], [100.0, 97.0, 107.0])
    assert recorder.effectiveness().hedged_pnl == pytest.approx(7.0)
