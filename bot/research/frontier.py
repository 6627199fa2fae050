"""The frontier of a sweep: the trials no other trial beats on variance reduction, cost and trades at once. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # results only: the trial runner is imported by whoever runs trials
    from bot.research.trials import TrialResult


def dominates(a: TrialResult, b: TrialResult) -> bool:
    """`a` reduces variance at least as much as `b`, for no more cost and no more trades, and is better on one."""
    at_least = a.variance_reduction >= b.variance_reduction and a.cost <= b.cost and a.trades <= b.trades
    better = a.variance_reduction > b.variance_reduction or a.cost < b.cost or a.trades < b.trades
    return at_least and better


def frontier(results: Sequence[TrialResult]) -> list[TrialResult]:
    """The undominated trials, by cost (then trades): the choices worth weighing against each other."""
    kept = [r for r in results if not any(dominates(other, r) for other in results if other is not r)]
    return sorted(kept, key=lambda r: (r.cost, r.trades, r.index))
