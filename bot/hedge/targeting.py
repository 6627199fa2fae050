"""From exposure to target notionals per instrument: segments first, then the policy. Pure.

- core holdings are not hedged (core/satellite: only the satellite is);
- holdings listed in `hedge.direct` are hedged 1:1 (× ratio) with their own perpetual (liquidity tier 1);
- everything else is hedged through the policy on the proxy instruments (BTC, ETH perps, ...);
- locked holdings (staked, vesting) are already counted in the exposure they belong to.
Notionals on the same instrument add up; the total short is capped at the hedged exposure unless
over-hedging is allowed.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.config import HedgeSection
from bot.domain import Symbol, perp_symbol, spot_symbol
from bot.hedge.exposure import Exposure
from bot.hedge.policies import (
    CovarianceView,
    PolicyResult,
    beta_policy,
    cap_to_exposure,
    fixed_policy,
    min_variance_policy,
)


def hedge_notionals(
    hedge: HedgeSection,
    quote: str,
    exposure: Exposure,
    ratio: float,
    view: CovarianceView | None,
    core: Collection[str] = (),
) -> PolicyResult | None:
    """Target notionals, or None when the policy needs estimates that are not ready yet."""
    hedged = {base: value for base, value in exposure.values.items() if base not in core}
    direct = {base: perp_symbol(base, quote) for base in hedge.direct if base in hedged}
    proxy_values = {base: value for base, value in hedged.items() if base not in direct}
    notionals: dict[Symbol, float] = {symbol: -hedged[base] * ratio for base, symbol in direct.items()}
    numbers: dict[str, float] = {
        "exposure": exposure.total,
        "hedged_exposure": sum(hedged.values()),
        "direct_exposure": sum(hedged[base] for base in direct),
        "ratio": ratio,
    }
    proxy_value = sum(proxy_values.values())
    if proxy_value > 0:
        weights = {spot_symbol(base, quote): value / proxy_value for base, value in proxy_values.items()}
        result = _proxy_policy(hedge, proxy_value, ratio, view, weights)
        if result is None:
            return None
        for symbol, notional in result.notionals.items():
            notionals[symbol] = notionals.get(symbol, 0.0) + notional
        numbers.update({f"proxy.{key}": value for key, value in result.numbers.items()})
    return cap_to_exposure(PolicyResult(notionals, numbers), sum(hedged.values()), hedge.allow_overhedge)


def _proxy_policy(
    hedge: HedgeSection, value: float, ratio: float, view: CovarianceView | None, weights: dict[Symbol, float]
) -> PolicyResult | None:
    proxy = Symbol(hedge.proxy_symbol)
    if hedge.policy == "fixed":
        return fixed_policy(value, proxy, ratio)
    if view is None:
        return None
    if hedge.policy == "beta":
        return beta_policy(value, proxy, ratio, view, weights)
    # min_variance, and tiered (min_variance with the tier's ratio folded into `ratio` by the caller)
    instruments = [Symbol(s) for s in (hedge.proxies or hedge.instruments)]
    return min_variance_policy(value, instruments, ratio, view, weights, hedge.ridge)
