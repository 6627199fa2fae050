"""Rolling (time-windowed) mean, variance, covariance, correlation and beta of n series.

The window at the latest update time t is (t − window_ms, t], like pandas' rolling('30D'); variances and
covariances have ddof=1, like pandas. Reads are NaN until `min_periods` samples are in the window.

Cost: each update adds one sample and removes those that left the window from running sums, O(n²) and
independent of the window length (amortised: each sample leaves once).

Numerical stability. Running sums with removal accumulate rounding error without bound and lose digits to
cancellation when the data sit far from zero (prices near 1e5, dollar changes). So the sums are of
deviations from a shift K, and every time as many updates as the window holds have happened since the last
time, they are recomputed from the window with K set to the window's mean. That costs O(m·n²) for m samples
once every ≥ m updates (amortised O(n²)), bounds the accumulated error to one window's worth of updates,
and keeps the deviations centred however far the series drift. The mean of returns is ~0 next to their
spread, so its sum gets two more guards: Kahan compensation between recomputations, and correctly rounded
sums (math.fsum) at them.

A series whose every value in the window is the same has variance exactly 0 (tracked by the length of its
current run of equal values, as pandas does), so its correlations are NaN rather than rounding noise.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from bot.hedge.moments import (
    FloatArray,
    IntArray,
    as_sample,
    beta_from_covariance,
    check_sizes,
    correlation_from_covariance,
    nan_matrix,
    nan_vector,
)
from bot.hedge.window import SampleWindow

# A tiny window would otherwise be recomputed at every update; a few dozen updates of drift is harmless.
_MIN_UPDATES_BETWEEN_REBUILDS = 64
# The sums carry rounding error in proportion to every square added to or removed from them since they were last
# recomputed. When the window's spread becomes tiny next to that churn (large samples left the window: a crash's
# returns giving way to calm; or the data moved far from the shift K), its digits are lost; past this ratio the
# sums are recomputed from the window, centred on its mean, at once.
_CANCELLATION_RATIO = 1e4


class RollingStats:
    """Time-windowed joint moments of n series: window (ts − window_ms, ts], like pandas rolling('30D')."""

    __slots__ = (
        "_carry",
        "_churn",
        "_cross",
        "_last",
        "_run_start",
        "_shift",
        "_since_rebuild",
        "_sum",
        "_window",
        "min_periods",
        "n",
    )

    def __init__(self, n: int, window_ms: int, min_periods: int = 2) -> None:
        check_sizes(n, min_periods)
        self.n = n
        self.min_periods = min_periods
        self._window = SampleWindow(n, window_ms)
        self._shift: FloatArray = np.zeros(n)  # K: the sums are of deviations from it
        self._sum: FloatArray = np.zeros(n)  # Σ (x − K)
        self._carry: FloatArray = np.zeros(n)  # Kahan compensation of _sum: the low bits it has lost
        self._cross: FloatArray = np.zeros((n, n))  # Σ (x − K)(x − K)ᵀ
        self._churn: FloatArray = np.zeros(n)  # Σ (x − K)² of every sample added or removed since the sums were made
        self._since_rebuild = 0
        self._last: FloatArray = nan_vector(n)  # the latest sample, to follow runs of equal values
        self._run_start: IntArray = np.zeros(n, dtype=np.int64)  # seq of the first sample of each run

    @property
    def window_ms(self) -> int:
        return self._window.window_ms

    @property
    def count(self) -> int:
        """Samples in the window."""
        return len(self._window)

    @property
    def ready(self) -> bool:
        return self.count >= self.min_periods

    def update(self, ts: int, x: npt.ArrayLike) -> None:
        """Add the joint sample `x` taken at `ts` (never earlier than the previous update)."""
        row = as_sample(x, self.n)
        gone = self._window.expire(ts)
        if self.count == 0:  # a fresh start: centre on the first sample (its deviation is 0), forget drift
            self._restart(row)
        elif len(gone) == 1:  # the steady state, one sample in and one out: fold both into one step
            self._replace(gone[0], row)
        else:
            self._remove(gone)
            self._add(row)
        self._window.push(ts, row)
        self._follow_runs(row)
        self._since_rebuild += 1
        if self._since_rebuild >= max(self.count, _MIN_UPDATES_BETWEEN_REBUILDS) or self._cancelling():
            self._rebuild()

    def advance(self, ts: int) -> None:
        """Move the window's end to `ts` without a sample: samples at or before ts − window_ms leave it."""
        self._remove(self._window.expire(ts))

    def mean(self) -> FloatArray:
        if not self.ready:
            return nan_vector(self.n)
        mean: FloatArray = self._shift + self._deviation_sum() / self.count
        constant = self._constant()
        mean[constant] = self._last[constant]  # exact, not K + Σ(x − K)/m
        return mean

    def var(self) -> FloatArray:
        if not self._has_spread():
            return nan_vector(self.n)
        m = self.count
        var: FloatArray = (np.diag(self._cross) - self._deviation_sum() ** 2 / m) / (m - 1)
        np.maximum(var, 0.0, out=var)
        var[self._constant()] = 0.0
        return var

    def rows(self) -> FloatArray:
        """The samples in the window, oldest first, as a (count, n) array (a copy): for proxy selection."""
        return self._window.rows()

    def cov(self) -> FloatArray:
        if not self._has_spread():
            return nan_matrix(self.n)
        m = self.count
        total = self._deviation_sum()
        cov: FloatArray = (self._cross - np.outer(total, total) / m) / (m - 1)
        diagonal = np.diag_indices(self.n)
        cov[diagonal] = np.maximum(cov[diagonal], 0.0)
        constant = self._constant()
        cov[constant, :] = 0.0
        cov[:, constant] = 0.0
        return cov

    def corr(self) -> FloatArray:
        return correlation_from_covariance(self.cov())

    def beta(self, i: int, j: int) -> float:
        """Cov(i, j) / Var(j) over the window: the hedge ratio of series i against series j."""
        cov = self.cov()
        return beta_from_covariance(float(cov[i, j]), float(cov[j, j]))

    def _has_spread(self) -> bool:
        return self.ready and self.count >= 2

    def _constant(self) -> npt.NDArray[np.bool_]:
        """Series whose current run of equal values covers the whole window."""
        return self._run_start <= self._window.first_seq

    def _restart(self, row: FloatArray) -> None:
        self._shift = row.copy()
        self._sum[:] = 0.0
        self._carry[:] = 0.0
        self._cross[:] = 0.0
        self._churn = np.zeros(self.n)
        self._since_rebuild = 0

    def _add(self, row: FloatArray) -> None:
        deviation = row - self._shift
        self._accumulate(deviation)
        self._cross += np.multiply.outer(deviation, deviation)
        self._churn += deviation**2

    def _replace(self, old_row: FloatArray, row: FloatArray) -> None:
        old = old_row - self._shift
        new = row - self._shift
        self._accumulate(new - old)
        self._cross += np.multiply.outer(new, new)
        self._cross -= np.multiply.outer(old, old)
        self._churn += new**2 + old**2

    def _remove(self, rows: FloatArray) -> None:
        if len(rows):
            deviations = rows - self._shift
            self._accumulate(-deviations.sum(axis=0))
            self._cross -= deviations.T @ deviations
            self._churn += (deviations**2).sum(axis=0)

    def _deviation_sum(self) -> FloatArray:
        """Σ(x − K) with the low bits Kahan's carry kept."""
        total: FloatArray = self._sum - self._carry
        return total

    def _accumulate(self, delta: FloatArray) -> None:
        """Σ(x − K) += delta with Kahan's compensation: the mean is often ~0, so its digits are precious."""
        corrected = delta - self._carry
        total = self._sum + corrected
        self._carry = (total - self._sum) - corrected
        self._sum = total

    def _follow_runs(self, row: FloatArray) -> None:
        seq = self._window.next_seq - 1
        self._run_start = np.where(row == self._last, self._run_start, seq)
        self._last = row

    def _cancelling(self) -> bool:
        """Whether some series' spread is lost in the rounding of the squares its sums went through since they were
        recomputed (constant series excepted: theirs is exactly 0)."""
        centred = np.diag(self._cross) - self._deviation_sum() ** 2 / max(self.count, 1)
        return bool(np.any((centred > 0) & (centred * _CANCELLATION_RATIO < self._churn) & ~self._constant()))

    def _rebuild(self) -> None:
        """Recompute the sums from the window, centred on its mean.

        The plain sums use fsum (correctly rounded): numpy adds down a column one row at a time, and
        Σ(x − K) is ~0 here, so the error of a naive sum would be most of what is left of it.
        """
        columns = self._window.rows().T
        self._shift = np.array([math.fsum(column) for column in columns]) / len(self._window)
        deviations = columns.T - self._shift
        self._sum = np.array([math.fsum(column) for column in deviations.T])
        self._carry = np.zeros(self.n)
        self._cross = deviations.T @ deviations
        self._churn = np.diag(self._cross).copy()
        self._since_rebuild = 0
