"""What a held stale proxy still hedges: the proxies that carry the hedge net it out. Pure.

With proxy selection, a proxy whose feed stops is dropped from the chosen set and its position is held (no order on
a stale price). That position still moves with the basket, so the proxies chosen in its place must not hedge the
whole basket again on top of it. The held position is a fixed leg of the hedge: the minimum-variance adjustment of
the other legs for it is o = −Σ_rr⁻¹ · Σ_h c_h · H_h, where Σ_rr is the covariance of the legs carrying the hedge
(the current window), H_h the held notional and c_h the held instrument's covariances with those legs.

c_h is taken from the window as it was when the proxy went stale (`frozen_covariances`): while a feed is stopped
its returns are sampled as unmoved, so the current window's covariances with it shrink towards zero as the outage
goes on, and the remaining legs would creep back to a full hedge. A held position with no frozen covariances (it
went stale before the estimates were ready) is taken to move like the basket.

The adjustment only ever shrinks a leg towards zero (never grows it, never flips it): a held position can make the
rest of the hedge smaller, never larger, so an estimate gone wrong cannot over-hedge the book through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bot.domain import Symbol
from bot.hedge.policies import CovarianceView, PolicyResult


def frozen_covariances(view: CovarianceView, symbol: Symbol) -> dict[Symbol, float]:
    """The symbol's covariance with every series of the window, kept while its feed is stopped."""
    row = view.cov[view.index[symbol]]
    return {name: float(row[i]) for name, i in view.index.items()}


def net_of_held(
    result: PolicyResult,
    held: Mapping[Symbol, float],
    frozen: Mapping[Symbol, Mapping[Symbol, float]],
    view: CovarianceView | None,
    weights: Mapping[Symbol, float],
    ridge: float = 0.0,
) -> PolicyResult:
    """`result`'s legs adjusted for the held positions (`held`: notional per held symbol, short < 0). `weights`: the
    basket's value weights, the stand-in for a held position without frozen covariances."""
    held = {s: n for s, n in held.items() if n}
    legs = [s for s, n in result.notionals.items() if n and s not in held]
    if view is None or not held or not legs:
        return result
    offset = _offset(legs, held, frozen, view, weights, ridge)
    notionals = dict(result.notionals)
    for symbol, change in zip(legs, offset, strict=True):
        notionals[symbol] = _shrunk(notionals[symbol], float(change))
    numbers = {
        **result.numbers,
        "held_proxy_notional": sum(held.values()),
        "held_proxy_offset": sum(notionals[s] - result.notionals[s] for s in legs),
    }
    return PolicyResult(notionals, numbers)


def _shrunk(wanted: float, change: float) -> float:
    """`wanted` + `change`, kept between 0 and `wanted`: never grown, never flipped."""
    new = wanted + change
    if new * wanted <= 0:
        return 0.0
    return wanted if abs(new) > abs(wanted) else new


def _offset(
    legs: Sequence[Symbol],
    held: Mapping[Symbol, float],
    frozen: Mapping[Symbol, Mapping[Symbol, float]],
    view: CovarianceView,
    weights: Mapping[Symbol, float],
    ridge: float,
) -> np.ndarray:
    cols = [view.index[s] for s in legs]
    sxx = view.cov[np.ix_(cols, cols)]
    sxx = sxx + ridge * np.diag(np.diag(sxx))
    basket = view.portfolio_covariances(weights, legs) if weights else np.zeros(len(legs))
    exposure = np.zeros(len(legs))
    for symbol, notional in held.items():
        row = frozen.get(symbol)
        covariances = basket if row is None else np.array([row.get(s, 0.0) for s in legs])
        exposure += notional * covariances
    try:
        solved: np.ndarray = -np.linalg.solve(sxx, exposure)
    except np.linalg.LinAlgError:  # singular: the minimum-norm least-squares answer
        solved = -np.linalg.lstsq(sxx, exposure, rcond=None)[0]
    return solved
