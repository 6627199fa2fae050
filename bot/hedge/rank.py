"""Rolling Spearman rank correlation of n series over a time window (t − window_ms, t].

Spearman's ρ is Pearson's correlation of the ranks (ties get their average rank), as pandas'
DataFrame.corr(method='spearman') computes it. Every new sample can change the rank of every other one,
so no exact rank correlation is O(1) per update. The split chosen:

- update: O(n) amortised and independent of the window length (the sample enters a ring buffer, the
  samples that left the window drop out of it);
- corr(): computed on demand in O(n·m·log m + m·n²) for m samples in the window (30 days of hourly
  samples for 20 series: a sort of 720 values per series and one 720×20 matrix product), and cached until
  the next update, so reading it once per sampling step costs that once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.hedge.moments import FloatArray, as_sample, check_sizes, correlation_from_covariance, nan_matrix
from bot.hedge.window import SampleWindow


class RollingSpearman:
    """Spearman rank correlation matrix of n series over the samples in (ts − window_ms, ts]."""

    __slots__ = ("_cached", "_window", "min_periods", "n")

    def __init__(self, n: int, window_ms: int, min_periods: int = 2) -> None:
        check_sizes(n, min_periods)
        self.n = n
        self.min_periods = min_periods
        self._window = SampleWindow(n, window_ms)
        self._cached: FloatArray | None = None

    @property
    def window_ms(self) -> int:
        return self._window.window_ms

    @property
    def count(self) -> int:
        return len(self._window)

    @property
    def ready(self) -> bool:
        return self.count >= self.min_periods

    def update(self, ts: int, x: npt.ArrayLike) -> None:
        """Add the joint sample `x` taken at `ts` (never earlier than the previous update)."""
        row = as_sample(x, self.n)
        self.advance(ts)
        self._window.push(ts, row)
        self._cached = None

    def advance(self, ts: int) -> None:
        """Move the window's end to `ts` without a sample: samples at or before ts − window_ms leave it."""
        if len(self._window.expire(ts)):
            self._cached = None

    def corr(self) -> FloatArray:
        """The rank correlation matrix; NaN until ready, and NaN rows for a series constant in the window."""
        if self._cached is None:
            self._cached = self._compute()
        return self._cached.copy()

    def _compute(self) -> FloatArray:
        if not self.ready or self.count < 2:
            return nan_matrix(self.n)
        ranks = average_ranks(self._window.rows())
        deviations = ranks - ranks.mean(axis=0)
        return correlation_from_covariance(deviations.T @ deviations)


def average_ranks(rows: FloatArray) -> FloatArray:
    """Rank each column from 1 (smallest) to m; tied values all get the mean of the ranks they span."""
    m = len(rows)
    if m == 0:
        return np.empty_like(rows)
    order = np.argsort(rows, axis=0)  # any sort will do: tied values end up with the same rank
    ordered = np.take_along_axis(rows, order, axis=0)
    position = np.arange(m)[:, None]
    differs = ordered[1:] != ordered[:-1]  # between sorted neighbours: a new group of equal values begins
    starts = np.vstack([np.ones((1, rows.shape[1]), dtype=bool), differs])
    ends = np.vstack([differs, np.ones((1, rows.shape[1]), dtype=bool)])
    # For each sorted position, the first and last position of its group of ties (0-based).
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends, position, m)[::-1], axis=0)[::-1]
    ranks = np.empty_like(rows)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=0)
    return ranks
