"""Hedge policies: from exposure and estimates to a signed target notional per hedge instrument.

Every policy returns quote notionals (negative = short) before lot rounding; `sizing.py` turns them into
contracts. All are scaled by `ratio`; `cap_to_exposure` then keeps every leg, long or short, within the exposure:
never net long, and at most 100 % of the exposure in gross size unless over-hedging is allowed.

- fixed:        notional = −V × ratio, on the proxy instrument.               (50,000 × 0.40 → 20,000 short)
- beta:         notional = −V × β × ratio on the proxy; β = Cov(r_p, r_x) / Var(r_x) over the window.
- min_variance: w = (Σ_xx + λ·diag Σ_xx)⁻¹ Σ_xp, the regression of portfolio returns on all instruments'
                returns; notional_i = −V × w_i × ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from bot.domain import Symbol

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@lru_cache(maxsize=256)
def _block(rows: tuple[int, ...], cols: tuple[int, ...]) -> tuple[IntArray, IntArray]:
    """`np.ix_(rows, cols)`, built once per pair of index lists: asked a few times every sampling step with the
    same lists, and `ix_` costs more than the indexing it serves. The arrays are read-only, shared."""
    row_index, col_index = np.ix_(rows, cols)
    for array in (row_index, col_index):
        array.flags.writeable = False
    return row_index, col_index


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Target notionals per instrument and the numbers behind them (for the decision record)."""

    notionals: dict[Symbol, float]
    numbers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CovarianceView:
    """Covariance of returns over the estimation window, for named series (holdings and instruments)."""

    index: Mapping[Symbol, int]
    cov: FloatArray
    samples: int
    # the same weights are asked about several times an instant (policy, triggers, valuation): each answered once
    _covs: dict[tuple[object, ...], FloatArray] = field(default_factory=dict, compare=False, repr=False)
    _vars: dict[tuple[object, ...], float] = field(default_factory=dict, compare=False, repr=False)

    def portfolio_covariances(self, weights: Mapping[Symbol, float], instruments: Sequence[Symbol]) -> FloatArray:
        """Cov(r_portfolio, r_instrument) for each instrument, with the portfolio's current value weights."""
        key = (tuple(weights.items()), tuple(instruments))
        known = self._covs.get(key)
        if known is None:
            rows = tuple(self.index[name] for name in weights)
            w = np.array(list(weights.values()))
            cols = tuple(self.index[name] for name in instruments)
            result: FloatArray = w @ self.cov[_block(rows, cols)]
            result.flags.writeable = False  # shared by every reader of this view
            self._covs[key] = known = result
        return known

    def portfolio_variance(self, weights: Mapping[Symbol, float]) -> float:
        key = tuple(weights.items())
        known = self._vars.get(key)
        if known is None:
            rows = tuple(self.index[name] for name in weights)
            w = np.array(list(weights.values()))
            self._vars[key] = known = float(w @ self.cov[_block(rows, rows)] @ w)
        return known


def portfolio_correlation(view: CovarianceView, weights: Mapping[Symbol, float], instrument: Symbol) -> float:
    covariance = float(view.portfolio_covariances(weights, [instrument])[0])
    variance_x = float(view.cov[view.index[instrument], view.index[instrument]])
    variance_p = view.portfolio_variance(weights)
    return covariance / (variance_x * variance_p) ** 0.5 if variance_x > 0 and variance_p > 0 else float("nan")


def portfolio_beta(view: CovarianceView, weights: Mapping[Symbol, float], instrument: Symbol) -> float:
    variance_x = float(view.cov[view.index[instrument], view.index[instrument]])
    covariance = float(view.portfolio_covariances(weights, [instrument])[0])
    return covariance / variance_x if variance_x > 0 else float("nan")


def fixed_policy(value: float, proxy: Symbol, ratio: float) -> PolicyResult:
    return PolicyResult({proxy: -value * ratio}, {"exposure": value, "ratio": ratio})


def beta_policy(
    value: float, proxy: Symbol, ratio: float, estimates: CovarianceView, weights: Mapping[Symbol, float]
) -> PolicyResult:
    beta = portfolio_beta(estimates, weights, proxy)
    beta = beta if beta == beta else 0.0  # NaN (a flat proxy): no hedge rather than a guess
    numbers = {"exposure": value, "ratio": ratio, "beta": beta, "samples": float(estimates.samples)}
    return PolicyResult({proxy: -value * beta * ratio}, numbers)


def min_variance_policy(
    value: float,
    instruments: Sequence[Symbol],
    ratio: float,
    estimates: CovarianceView,
    weights: Mapping[Symbol, float],
    ridge: float = 0.0,
) -> PolicyResult:
    cols = tuple(estimates.index[symbol] for symbol in instruments)
    sxx = estimates.cov[_block(cols, cols)]
    sxy = estimates.portfolio_covariances(weights, instruments)
    regularised = sxx + ridge * np.diag(np.diag(sxx))
    try:
        w = np.linalg.solve(regularised, sxy)
    except np.linalg.LinAlgError:  # singular: fall back to least squares, which picks the minimum-norm weights
        w = np.linalg.lstsq(regularised, sxy, rcond=None)[0]
    var_p = estimates.portfolio_variance(weights)
    explained = float(sxy @ w) / var_p if var_p > 0 else 0.0
    numbers: dict[str, float] = {
        "exposure": value,
        "ratio": ratio,
        "r2": explained,
        "samples": estimates.samples,
    }
    for symbol, weight in zip(instruments, w, strict=True):
        numbers[f"w[{symbol}]"] = float(weight)
    return PolicyResult({s: -value * float(wi) * ratio for s, wi in zip(instruments, w, strict=True)}, numbers)


def cap_to_exposure(result: PolicyResult, value: float, allow_overhedge: bool) -> PolicyResult:
    """Every leg, long or short, within the exposure: a hedge of a long spot book is net short by at most `value`.

    A hedge never goes net long (that adds to the exposure it should offset: a wrecked estimate, a bad price):
    when the legs' sum is long, the long legs are dropped. Then, unless over-hedging is allowed, all legs are
    scaled down together until their gross size (Σ |notional|) is at most the exposure.
    """
    notionals = {s: n if math.isfinite(n) else 0.0 for s, n in result.notionals.items()}
    numbers = dict(result.numbers)
    longs = [s for s, n in notionals.items() if n > 0]
    if longs and sum(notionals.values()) > 0:
        notionals = {s: 0.0 if n > 0 else n for s, n in notionals.items()}
        numbers["long_legs_dropped"] = float(len(longs))
    gross = sum(abs(n) for n in notionals.values())
    if not allow_overhedge and gross > value > 0:
        scale = value / gross
        notionals = {s: n * scale for s, n in notionals.items()}
        numbers["overhedge_cap_scale"] = scale
    elif not allow_overhedge and gross > 0 >= value:
        notionals = dict.fromkeys(notionals, 0.0)
        numbers["overhedge_cap_scale"] = 0.0
    if notionals == result.notionals:
        return result
    return PolicyResult(notionals, numbers)
