"""Carry-aware choice between a perpetual and a dated future on the same asset. Pure.

A short hedge on a perpetual earns the funding rate (shorts receive positive funding); a short on a dated
future earns the basis (future above spot) as it converges to zero at expiry. Both are annualised and
compared; the hedge switches only when the other contract is better by more than `threshold` (per year),
so the choice does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import MS_PER_DAY

DAYS_PER_YEAR = 365.0


def annualised_funding(rate_per_settlement: float, interval_hours: float) -> float:
    """Expected funding per year for a short, from the current per-settlement rate."""
    return rate_per_settlement * (24.0 / interval_hours) * DAYS_PER_YEAR


def annualised_basis(future_price: float, spot_price: float, now_ms: int, expiry_ms: int) -> float:
    """What a short on the future earns per year as its premium over spot converges to zero at expiry."""
    days = max((expiry_ms - now_ms) / MS_PER_DAY, 1.0)
    return (future_price / spot_price - 1.0) * DAYS_PER_YEAR / days


@dataclass(frozen=True, slots=True)
class CarryChoice:
    use_dated: bool
    funding_yield: float
    basis_yield: float
    reason: str


def choose_contract(funding_yield: float, basis_yield: float, currently_dated: bool, threshold: float) -> CarryChoice:
    """Stay with the current contract unless the other one yields more than `threshold` per year better."""
    advantage = basis_yield - funding_yield
    switch = advantage < -threshold if currently_dated else advantage > threshold
    use_dated = currently_dated != switch
    reason = (
        f"short carry: perpetual funding {funding_yield:.2%}/y vs dated basis {basis_yield:.2%}/y, "
        f"threshold {threshold:.2%}: {'dated' if use_dated else 'perpetual'}"
    )
    return CarryChoice(use_dated, funding_yield, basis_yield, reason)
