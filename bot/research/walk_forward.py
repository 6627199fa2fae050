"""Walk-forward: choose on one period, score the choice on the next, roll on; a choice is judged out of sample.

Folds cover [start, end): the first trains on [start, start + train) and is scored on the `test` days after it;
each next fold starts `test` days later, so the scored periods follow each other without overlap. Pure: dates
and results in, folds and choices out (the sweep runs the trials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.config import ConfigError

if TYPE_CHECKING:  # the trial runner (and the backtest behind it) is imported by whoever runs trials
    from bot.research.trials import TrialResult

# the figures a sweep may choose by, and whether more is better
OBJECTIVES = {
    "variance_reduction": True,
    "drawdown_reduction": True,
    "capture_spread": True,
    "pnl": True,
    "cost": False,
    "trades": False,
}


@dataclass(frozen=True, slots=True)
class Fold:
    train_start: date
    train_end: date  # = test_start; ends are exclusive
    test_end: date

    @property
    def test_start(self) -> date:
        return self.train_end


def folds(start: date, end: date, train_days: int, test_days: int) -> list[Fold]:
    """Every fold whose scored period ends by `end`; ConfigError when not even one fits."""
    if train_days <= 0 or test_days <= 0:
        raise ConfigError(f"walk-forward: --train and --test must be positive (got {train_days}d, {test_days}d)")
    made: list[Fold] = []
    cursor = start
    while cursor + timedelta(days=train_days + test_days) <= end:
        train_end = cursor + timedelta(days=train_days)
        made.append(Fold(cursor, train_end, train_end + timedelta(days=test_days)))
        cursor += timedelta(days=test_days)
    if not made:
        raise ConfigError(
            f"walk-forward: {start} → {end} is shorter than one fold ({train_days}d to choose + {test_days}d to score)"
        )
    return made


def choose(scores: Sequence[float]) -> int:
    """The position of the highest score; a tie goes to the one listed first (the grid's order)."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def best(results: Sequence[TrialResult], objective: str) -> TrialResult:
    """The result with the best objective (the highest, or the lowest for a cost), ties to the first listed."""
    sign = 1.0 if OBJECTIVES[objective] else -1.0
    return results[choose([sign * result.metric(objective) for result in results])]
