"""A dated contract without prices of its own is priced from its underlying plus a basis that converges at expiry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, Symbol
from bot.execution.dated_contracts import (
    MS_PER_YEAR,
    dated_price,
    derive_dated_prices,
    implied_basis_annual,
    perpetual_of,
)

EXPIRY = 1_743_148_800_000  # 2025-03-28 08:00 UTC
MARCH = Symbol("BTC/USDT:USDT-250328")


def test_a_quarter_before_expiry_a_five_percent_basis_adds_a_quarter_of_five_percent() -> None:
    assert dated_price(60_000.0, 0.05, EXPIRY - MS_PER_YEAR // 4, EXPIRY) == pytest.approx(60_750.0)


def test_at_and_after_expiry_the_dated_price_is_the_underlying() -> None:
    assert dated_price(60_000.0, 0.05, EXPIRY, EXPIRY) == 60_000.0
    assert dated_price(60_000.0, 0.05, EXPIRY + MS_PER_DAY, EXPIRY) == 60_000.0


@given(
    underlying=st.floats(1.0, 1e6),
    basis=st.floats(-0.5, 0.5),
    earlier_days=st.integers(0, 400),
    later_days=st.integers(0, 400),
)
def test_the_premium_never_grows_as_expiry_comes_closer(
    underlying: float, basis: float, earlier_days: int, later_days: int
) -> None:
    far, near = max(earlier_days, later_days), min(earlier_days, later_days)
    premium_far = abs(dated_price(underlying, basis, EXPIRY - far * MS_PER_DAY, EXPIRY) - underlying)
    premium_near = abs(dated_price(underlying, basis, EXPIRY - near * MS_PER_DAY, EXPIRY) - underlying)
    assert premium_near <= premium_far + 1e-9 * underlying


def test_the_implied_basis_reads_back_the_basis_that_priced_the_contract() -> None:
    now = EXPIRY - 45 * MS_PER_DAY
    price = dated_price(60_000.0, 0.08, now, EXPIRY)
    assert implied_basis_annual(price, 60_000.0, now, EXPIRY) == pytest.approx(0.08)
    assert implied_basis_annual(price, 60_000.0, EXPIRY, EXPIRY) is None


def test_a_dated_contract_is_priced_from_its_perpetual_else_its_spot_and_observed_prices_win() -> None:
    now = EXPIRY - MS_PER_YEAR // 4
    june = Symbol("ETH/USDT:USDT-250627")
    sol = Symbol("SOL/USDT:USDT-250328")
    prices = {
        Symbol("BTC/USDT:USDT"): 60_000.0,
        Symbol("BTC/USDT"): 59_000.0,
        Symbol("ETH/USDT"): 3_000.0,
        june: 3_333.0,
    }
    derived = derive_dated_prices(prices, [(MARCH, EXPIRY), (june, EXPIRY), (sol, EXPIRY)], 0.05, now)
    assert derived == {MARCH: pytest.approx(60_750.0)}
    eth_march = Symbol("ETH/USDT:USDT-250328")
    assert derive_dated_prices(prices, [(eth_march, EXPIRY)], 0.05, now) == {eth_march: pytest.approx(3_037.5)}


def test_the_perpetual_of_a_dated_symbol_drops_its_date() -> None:
    assert perpetual_of(MARCH) == "BTC/USDT:USDT"
