"""From exposure to target notionals per instrument: segments first, then the policy. Pure.

- core holdings are not hedged (core/satellite: only the satellite is);
- holdings listed in `hedge.direct` are hedged 1:1 (× ratio) with their own perpetual (liquidity tier 1);
- everything else is hedged through the policy on the proxy instruments (BTC, ETH perps, ...);
- locked holdings (staked, vesting) are already counted in the exposure they belong to.
Notionals on the same instrument add up; the total short is capped at the hedged exposure unless
over-hedging is allowed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

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
    proxies: Sequence[Symbol] | None = None,
) -> PolicyResult | None:
    """Target notionals, or None when the policy needs estimates that are not ready yet.

    `proxies`, when given, replaces the configured proxy instruments of min_variance (proxy selection's choice).

    The ratio scales the policy's full hedge after that is capped at the exposure: ratio 0.5 is half of the
    capped full hedge. (Capping after scaling made 0.5 of a policy whose full hedge is 130 % of the exposure a
    65 % hedge.) A ratio above 1 is capped again unless over-hedging is allowed; `ratio_capped_at` says so.
    """
    full = _full_hedge(hedge, quote, exposure, view, core, proxies)
    if full is None:
        return None
    hedged_value = sum(value for base, value in exposure.values.items() if base not in core)
    numbers = {key: ratio if key in ("ratio", "proxy.ratio") else value for key, value in full.numbers.items()}
    scaled = PolicyResult({symbol: notional * ratio for symbol, notional in full.notionals.items()}, numbers)
    result = cap_to_exposure(scaled, hedged_value, hedge.allow_overhedge)
    if result is not scaled and ratio > 1:
        gross = sum(abs(n) for n in result.notionals.values())
        full_gross = sum(abs(n) for n in full.notionals.values())
        result.numbers["ratio_capped_at"] = gross / full_gross if full_gross else 0.0
    return result


def _full_hedge(
    hedge: HedgeSection,
    quote: str,
    exposure: Exposure,
    view: CovarianceView | None,
    core: Collection[str],
    proxies: Sequence[Symbol] | None = None,
) -> PolicyResult | None:
    """The policy at ratio 1, capped at the hedged exposure (unless over-hedging is allowed)."""
    ratio = 1.0
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
        result = _proxy_policy(hedge, proxy_value, ratio, view, weights, proxies)
        if result is None:
            return None
        for symbol, notional in result.notionals.items():
            notionals[symbol] = notionals.get(symbol, 0.0) + notional
        numbers.update({f"proxy.{key}": value for key, value in result.numbers.items()})
    return cap_to_exposure(PolicyResult(notionals, numbers), sum(hedged.values()), hedge.allow_overhedge)


def _proxy_policy(
    hedge: HedgeSection,
    value: float,
    ratio: float,
    view: CovarianceView | None,
    weights: dict[Symbol, float],
    proxies: Sequence[Symbol] | None = None,
) -> PolicyResult | None:
    proxy = Symbol(hedge.proxy_symbol)
    # protective_put and cppi scale their base hedge (`protect_base`) by their cover, folded into `ratio` by the caller
    policy = hedge.protect_base if hedge.policy in ("protective_put", "cppi") else hedge.policy
    if policy == "fixed":
        return fixed_policy(value, proxy, ratio)
    if view is None:
        return None
    if policy == "beta":
        return beta_policy(value, proxy, ratio, view, weights)
    # min_variance, and tiered (min_variance with the tier's ratio folded into `ratio` by the caller)
    instruments = list(proxies) if proxies else [Symbol(s) for s in (hedge.proxies or hedge.instruments)]
    return min_variance_policy(value, instruments, ratio, view, weights, hedge.ridge)
