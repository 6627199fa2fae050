"""A sweep: the grid's trials over one period, or walk-forward over rolling folds, on a runner (cluster.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.config import Config
from bot.research.cluster import Runner
from bot.research.space import Override
from bot.research.trials import TrialResult, TrialSpec
from bot.research.walk_forward import Fold, best


def run_grid(
    runner: Runner, base: Config, combinations: Sequence[tuple[Override, ...]], start: date, end: date
) -> list[TrialResult]:
    """Every combination backtested over [start, end), in the grid's order."""
    specs = [TrialSpec(index, combination, start, end) for index, combination in enumerate(combinations)]
    return runner.run(base, specs)


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    """One fold: the trial chosen on its training period, and that choice run on the period after."""

    fold: Fold
    chosen: TrialResult  # in sample
    scored: TrialResult  # out of sample: the same values on the next period


def run_walk_forward(
    runner: Runner,
    base: Config,
    combinations: Sequence[tuple[Override, ...]],
    folds: Sequence[Fold],
    objective: str,
) -> list[FoldOutcome]:
    """Every combination on every fold's training period (one batch, so all workers are busy), the best of each
    fold by `objective`, then each choice on its fold's scored period (a second batch)."""
    count = len(combinations)
    training = [
        TrialSpec(f * count + i, combination, fold.train_start, fold.train_end)
        for f, fold in enumerate(folds)
        for i, combination in enumerate(combinations)
    ]
    trained = runner.run(base, training)
    chosen = [best(trained[f * count : (f + 1) * count], objective) for f in range(len(folds))]
    scoring = [
        TrialSpec(len(training) + f, choice.overrides, fold.test_start, fold.test_end)
        for f, (fold, choice) in enumerate(zip(folds, chosen, strict=True))
    ]
    scored = runner.run(base, scoring)
    return [FoldOutcome(fold, c, s) for fold, c, s in zip(folds, chosen, scored, strict=True)]
