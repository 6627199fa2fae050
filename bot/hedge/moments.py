"""What every joint-moment estimator shares: the read API, input checks, and correlation and beta from a
covariance matrix.

Conventions (those of pandas): a statistic that is not defined is NaN, never an exception. A series that
is constant over the estimation window has variance exactly 0, so its correlations are NaN (0/0 has no
meaning) and betas against it are NaN; the caller decides what to do with "no estimate".
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class JointMoments(Protocol):
    """Mean, variance, covariance, correlation and beta of n series, updated one joint sample at a time."""

    @property
    def count(self) -> int: ...

    @property
    def ready(self) -> bool: ...

    def update(self, ts: int, x: FloatArray) -> None: ...

    def mean(self) -> FloatArray: ...

    def var(self) -> FloatArray: ...

    def cov(self) -> FloatArray: ...

    def corr(self) -> FloatArray: ...

    def beta(self, i: int, j: int) -> float: ...


def check_sizes(n: int, min_periods: int) -> None:
    if n < 1:
        raise ValueError(f"n={n}: an estimator needs at least one series")
    if min_periods < 1:
        raise ValueError(f"min_periods={min_periods}: must be at least 1")


def as_sample(x: npt.ArrayLike, n: int) -> FloatArray:
    """`x` as a float64 vector of n finite numbers; ValueError otherwise.

    The samplers never produce a non-finite return, so one here is a bug upstream: fail loudly rather than
    poison every later estimate with a NaN that running sums never forget.
    """
    row = np.array(x, dtype=np.float64)  # a copy: the caller may reuse its buffer for the next sample
    if row.shape != (n,):
        raise ValueError(f"sample has shape {row.shape}, expected ({n},)")
    if not np.isfinite(row).all():
        raise ValueError(f"sample {row.tolist()} has non-finite values; missing data is a gap, not a sample")
    return row


def correlation_from_covariance(cov: FloatArray) -> FloatArray:
    """Pearson correlation matrix; NaN rows and columns for series with zero (or undefined) variance."""
    std = np.sqrt(np.diag(cov))
    usable = std > 0  # False for 0 and NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        corr: FloatArray = cov / np.outer(std, std)
    corr[~usable, :] = np.nan
    corr[:, ~usable] = np.nan
    # Rounding can push |ρ| a hair past 1; the diagonal is 1 by definition.
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, np.where(usable, 1.0, np.nan))
    return corr


def beta_from_covariance(cov_ij: float, var_j: float) -> float:
    """Cov(i, j) / Var(j): the slope of series i regressed on series j; NaN when Var(j) is 0 or undefined."""
    if not var_j > 0:
        return float("nan")
    return cov_ij / var_j


def nan_vector(n: int) -> FloatArray:
    return np.full(n, np.nan)


def nan_matrix(n: int) -> FloatArray:
    return np.full((n, n), np.nan)
