"""Prices of dated futures where the data has none: the underlying plus a basis that converges at expiry. Pure.

F = S × (1 + b × τ): S the perpetual's price (else the spot's), b the annualised basis, τ the years to
expiry (365-day years, as the exchange simulator uses). At and after expiry F = S. The inverse,
`implied_basis_annual`, reads b back from an observed pair of prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain import MS_PER_DAY, Symbol, underlying_spot

MS_PER_YEAR = 365 * MS_PER_DAY


def years_to_expiry(now_ms: int, expiry_ms: int) -> float:
    return max(expiry_ms - now_ms, 0) / MS_PER_YEAR


def dated_price(underlying: float, basis_annual: float, now_ms: int, expiry_ms: int) -> float:
    """The dated contract's price: the underlying's, plus a basis shrinking linearly to zero at expiry."""
    return underlying * (1.0 + basis_annual * years_to_expiry(now_ms, expiry_ms))


def implied_basis_annual(future_price: float, underlying: float, now_ms: int, expiry_ms: int) -> float | None:
    """The annualised basis the two prices imply; None at or after expiry (no time left to annualise over)."""
    tau = years_to_expiry(now_ms, expiry_ms)
    if tau <= 0 or underlying <= 0:
        return None
    return (future_price / underlying - 1.0) / tau


def perpetual_of(dated: Symbol) -> Symbol:
    """'BTC/USDT:USDT-250328' → 'BTC/USDT:USDT': the perpetual on the same pair and settlement."""
    return Symbol(dated.rsplit("-", 1)[0]) if "-" in dated else dated


def derive_dated_prices(
    prices: Mapping[Symbol, float],
    dated: Iterable[tuple[Symbol, int]],
    basis_annual: float,
    now_ms: int,
) -> dict[Symbol, float]:
    """Prices for the (symbol, expiry) contracts that have none of their own, from perpetual else spot.

    A contract with its own price in `prices` is left out (observed prices win); one whose underlying is
    not priced either is left out too (no price is better than a made-up one).
    """
    derived: dict[Symbol, float] = {}
    for symbol, expiry_ms in dated:
        if symbol in prices:
            continue
        underlying = prices.get(perpetual_of(symbol), prices.get(underlying_spot(symbol)))
        if underlying is not None:
            derived[symbol] = dated_price(underlying, basis_annual, now_ms, expiry_ms)
    return derived
