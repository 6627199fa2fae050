"""Protective policies cover more as the basket falls toward its floor and less as it rallies away from it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from bot.config import HedgeSection
from bot.hedge.protective import (
    Protection,
    ProtectionSettings,
    TrailingPeak,
    cppi_cover,
    protection_settings,
    put_delta,
)

values = st.floats(min_value=1.0, max_value=1e9, allow_nan=False)
vols = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)
years = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)
floors = st.floats(min_value=0.05, max_value=1.0, allow_nan=False)
multipliers = st.floats(min_value=1.0, max_value=50.0, allow_nan=False)


@given(values, values, vols, years)
def test_put_delta_is_a_cover_between_zero_and_one(value: float, strike: float, vol: float, t: float) -> None:
    assert 0.0 <= put_delta(value, strike, vol, t) <= 1.0


@given(values, st.floats(min_value=1.0001, max_value=3.0), values, vols, years)
def test_put_delta_never_rises_when_the_basket_rises(
    value: float, up: float, strike: float, vol: float, t: float
) -> None:
    assert put_delta(value * up, strike, vol, t) <= put_delta(value, strike, vol, t)


def test_put_delta_matches_black_scholes_at_the_money_and_takes_the_payoff_slope_without_time() -> None:
    # at the money, zero rates: d1 = σ√T / 2, so N(−d1) = N(−0.1) for σ = 0.8, T = 1/16
    assert math.isclose(put_delta(100.0, 100.0, 0.8, 1 / 16), 0.460172, abs_tol=1e-6)
    assert put_delta(80.0, 100.0, 0.8, 0.0) == 1.0
    assert put_delta(120.0, 100.0, 0.0, 0.1) == 0.0
    assert put_delta(0.0, 100.0, 0.8, 0.1) == 1.0


@given(values, floors, multipliers)
def test_cppi_cover_is_between_zero_and_one(value: float, floor: float, multiplier: float) -> None:
    assert 0.0 <= cppi_cover(value, value * floor, multiplier) <= 1.0


@given(values, st.floats(min_value=0.0, max_value=0.99), st.floats(min_value=0.001, max_value=0.5), multipliers)
def test_cppi_cover_rises_as_the_cushion_shrinks(value: float, floor: float, shrink: float, multiplier: float) -> None:
    wide = cppi_cover(value, value * floor, multiplier)
    narrow = cppi_cover(value, value * min(floor + shrink, 1.0), multiplier)
    assert narrow >= wide


def test_cppi_covers_fully_at_the_floor_and_keeps_multiplier_times_the_cushion_above_it() -> None:
    assert cppi_cover(85.0, 85.0, 4.0) == 1.0
    assert cppi_cover(80.0, 85.0, 4.0) == 1.0
    assert math.isclose(cppi_cover(100.0, 85.0, 4.0), 0.4)  # keeps 4 × 15 = 60 of 100 exposed


def test_the_trailing_peak_forgets_values_older_than_its_window_and_moves_with_transfers() -> None:
    peak = TrailingPeak(window_ms=10)
    assert peak.update(0, 100.0) == 100.0
    assert peak.update(5, 90.0) == 100.0
    assert peak.update(10, 80.0) == 90.0  # the 100 at 0 is out of the window (0, 10]
    peak.transfer(-40.0)  # holdings worth 40 went out: the peak falls with them
    assert peak.update(11, 40.0) == 50.0
    since_start = TrailingPeak(window_ms=0)
    for ts, value in enumerate([100.0, 50.0, 70.0]):
        top = since_start.update(ts, value)
    assert top == 100.0


def test_a_protective_put_covers_more_after_a_crash_than_at_the_peak() -> None:
    put = Protection(ProtectionSettings("protective_put", 0.85, None, 30 / 365, 4.0, 0))
    at_peak = put.update(0, 100_000.0, None, 0.8)
    crashed = put.update(1, 80_000.0, None, 0.8)
    assert at_peak is not None
    assert crashed is not None
    assert at_peak.floor == crashed.floor == 85_000.0
    assert crashed.cushion == -5_000.0
    assert at_peak.cover < 0.5 < crashed.cover


def test_cppi_counts_the_hedge_accounts_gain_in_its_cushion() -> None:
    cppi = Protection(ProtectionSettings("cppi", 0.85, None, 30 / 365, 4.0, 0))
    cppi.update(0, 100_000.0, 1_000_000.0, None)  # the first equity is the baseline: hedge P&L 0
    state = cppi.update(1, 90_000.0, 1_005_000.0, None)  # spot −10,000, hedge +5,000
    assert state is not None
    assert state.value == 95_000.0
    assert state.floor == 85_000.0
    assert math.isclose(cppi.cover, 1 - 4 * 10_000 / 95_000)


def test_a_set_floor_value_overrides_the_fraction_of_the_peak() -> None:
    settings = protection_settings(HedgeSection(policy="cppi", floor_value=50_000.0, multiplier=2.0))
    assert settings is not None
    state = Protection(settings).update(0, 100_000.0, None, None)
    assert state is not None
    assert state.floor == 50_000.0
    assert state.cover == 0.0


def test_other_policies_have_no_protection_and_full_cover() -> None:
    assert protection_settings(HedgeSection(policy="min_variance")) is None
    protection = Protection(None)
    assert protection.update(0, 100.0, None, 0.5) is None
    assert protection.cover == 1.0
    assert protection.status() is None
