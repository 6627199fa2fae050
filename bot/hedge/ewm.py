"""Exponentially weighted mean, variance, covariance, correlation and beta of n series, decaying in time.

A sample taken Δt before the latest one weighs 0.5^(Δt / halflife): pandas' ewm(halflife=Timedelta,
times=..., adjust=True). Variances and covariances are the weighted ones made unbiased with reliability
weights, pandas' bias=False: × (Σw)² / ((Σw)² − Σw²). pandas itself computes var and cov only with a
half-life counted in rows; this is the same estimator with the decay measured in time, so a skipped
sampling step (a gap) weighs as the time that passed, not as nothing.

Cost: O(n²) per update. Stability: the weighted Welford recurrence (pandas' own) updates the mean and the
covariance from deviations, never from raw sums, and past rounding error decays with the weights, so the
estimate does not drift over millions of updates or lose digits to large offsets. A series that has only
ever shown one value keeps its mean exactly and its variance exactly 0, as pandas does.

After a quiet spell of many half-lives the old samples weigh almost nothing: the effective sample size
(`effective_samples`, Kish's (Σw)²/Σw²) falls towards 1, the variances rest on little more than one sample
(NaN once it is exactly one), and `count` (samples ever seen, as pandas counts them) does not show it. A
caller that needs a trustworthy estimate gates on `effective_samples`, not on `ready`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.hedge.moments import (
    FloatArray,
    as_sample,
    beta_from_covariance,
    check_sizes,
    correlation_from_covariance,
    nan_matrix,
    nan_vector,
)


class EwmStats:
    """Time-decayed joint moments of n series with half-life `halflife_ms`."""

    __slots__ = (
        "_count",
        "_cov",
        "_last_ts",
        "_mean",
        "_sum_w",
        "_sum_w2",
        "halflife_ms",
        "min_periods",
        "n",
    )

    def __init__(self, n: int, halflife_ms: int, min_periods: int = 2) -> None:
        check_sizes(n, min_periods)
        if halflife_ms <= 0:
            raise ValueError(f"halflife_ms={halflife_ms}: a half-life must be a positive duration")
        self.n = n
        self.halflife_ms = halflife_ms
        self.min_periods = min_periods
        self._count = 0
        self._last_ts: int | None = None
        self._sum_w = 0.0  # Σ w, weights as of the latest update (the newest sample weighs 1)
        self._sum_w2 = 0.0  # Σ w²
        self._mean: FloatArray = nan_vector(n)
        self._cov: FloatArray = np.zeros((n, n))  # weighted (biased) covariance, Σ w (x − μ)(x − μ)ᵀ / Σ w

    @property
    def count(self) -> int:
        """Samples ever added (pandas' min_periods counts these)."""
        return self._count

    @property
    def ready(self) -> bool:
        return self._count >= self.min_periods

    @property
    def effective_samples(self) -> float:
        """Kish's effective sample size (Σw)²/Σw²: how many equally weighted samples the estimate is worth."""
        return self._sum_w**2 / self._sum_w2 if self._sum_w2 > 0 else 0.0

    def update(self, ts: int, x: npt.ArrayLike) -> None:
        """Add the joint sample `x` taken at `ts` (never earlier than the previous update)."""
        row = as_sample(x, self.n)
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(f"ts={ts} is before the latest update {self._last_ts}; time never goes back")
        self._count += 1
        if self._last_ts is None:
            self._start(ts, row)
            return
        decay = 0.5 ** ((ts - self._last_ts) / self.halflife_ms)
        self._last_ts = ts
        old_weight = self._sum_w * decay
        self._sum_w2 = self._sum_w2 * decay * decay + 1.0
        self._sum_w = old_weight + 1.0
        old_mean = self._mean
        # A value equal to the mean leaves it untouched, so a constant series keeps it exactly (pandas does).
        new_mean = np.where(row == old_mean, old_mean, (old_weight * old_mean + row) / self._sum_w)
        shift = old_mean - new_mean
        surprise = row - new_mean
        carried = old_weight * (self._cov + np.outer(shift, shift))
        self._cov = (carried + np.outer(surprise, surprise)) / self._sum_w
        self._mean = new_mean

    def mean(self) -> FloatArray:
        return self._mean.copy() if self.ready else nan_vector(self.n)

    def var(self) -> FloatArray:
        return np.diag(self.cov()).copy()

    def cov(self) -> FloatArray:
        unbias = self._unbias()
        if unbias is None:
            return nan_matrix(self.n)
        cov: FloatArray = self._cov * unbias
        return cov

    def corr(self) -> FloatArray:
        return correlation_from_covariance(self.cov())

    def beta(self, i: int, j: int) -> float:
        """Cov(i, j) / Var(j): the hedge ratio of series i against series j."""
        cov = self.cov()
        return beta_from_covariance(float(cov[i, j]), float(cov[j, j]))

    def _start(self, ts: int, row: FloatArray) -> None:
        self._last_ts = ts
        self._sum_w = 1.0
        self._sum_w2 = 1.0
        self._mean = row
        self._cov = np.zeros((self.n, self.n))

    def _unbias(self) -> float | None:
        """(Σw)² / ((Σw)² − Σw²), or None while that is undefined (not ready, or one effective sample)."""
        if not self.ready:
            return None
        squared = self._sum_w**2
        spare = squared - self._sum_w2
        return squared / spare if spare > 0 else None
