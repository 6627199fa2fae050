"""Walk-forward folds, the choice on a training period, the frontier, the example grid: no backtest runs here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.research.frontier import frontier
from bot.research.space import check_grid, load_grid
from bot.research.trials import TrialResult
from bot.research.walk_forward import best, choose, folds


def result(index: int, reduction: float, fees: float, trades: int) -> TrialResult:
    day = date(2021, 1, 1)
    return TrialResult(
        index, (("hedge.window", f"{index}d"),), day, day, reduction, 0.0, 0.0, 0.0, fees, 0.0, 0.0, trades
    )


def test_folds_roll_by_the_scored_period_so_scored_periods_follow_each_other_without_overlap() -> None:
    made = folds(date(2021, 1, 1), date(2022, 1, 1), train_days=180, test_days=90)
    assert [(f.train_start, f.test_start, f.test_end) for f in made] == [
        (date(2021, 1, 1), date(2021, 6, 30), date(2021, 9, 28)),
        (date(2021, 4, 1), date(2021, 9, 28), date(2021, 12, 27)),
    ]


def test_a_period_shorter_than_one_fold_is_a_config_error_naming_both_lengths() -> None:
    with pytest.raises(ConfigError, match="365d to choose"):
        folds(date(2021, 1, 1), date(2021, 6, 1), train_days=365, test_days=90)


def test_the_best_trial_maximises_a_reduction_minimises_a_cost_and_breaks_ties_by_grid_order() -> None:
    results = [result(0, 0.5, 100.0, 10), result(1, 0.6, 300.0, 30), result(2, 0.6, 50.0, 5)]
    assert best(results, "variance_reduction").index == 1
    assert best(results, "cost").index == 2
    assert best(results, "trades").index == 2


def test_the_frontier_keeps_only_trials_no_other_beats_on_reduction_cost_and_trades_at_once() -> None:
    cheap = result(0, 0.40, 100.0, 10)
    strong = result(1, 0.60, 400.0, 40)
    dominated = result(2, 0.39, 150.0, 12)  # cheap reduces more, for less cost and fewer trades
    frequent_but_cheap = result(3, 0.50, 90.0, 80)  # cheapest of all: not dominated though it trades most
    assert [r.index for r in frontier([cheap, strong, dominated, frequent_but_cheap])] == [3, 0, 1]


def test_choose_takes_the_highest_score_and_on_a_tie_the_one_listed_first() -> None:
    assert choose([0.1, 0.3, 0.3, 0.2]) == 1


def test_the_example_grid_is_valid_for_the_backtest_config_it_is_documented_with() -> None:
    repo = Path(__file__).resolve().parents[2]
    trials = check_grid(
        load_config(repo / "config" / "backtest.toml"), load_grid(repo / "config" / "sweeps" / "example.toml")
    )
    assert len(trials) == 18
