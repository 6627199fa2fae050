"""The rebalance band fires on real drift, and never on dust."""

from __future__ import annotations

from bot.domain import Symbol
from bot.hedge.triggers import drift_outside_band

BTC = Symbol("BTC/USDT:USDT")


def test_a_first_hedge_from_nothing_fires_the_band() -> None:
    fired = drift_outside_band({BTC: -20_000.0}, {}, band=0.1, min_notional=100.0)
    assert fired is not None
    assert fired.name == "rebalance_band"
    assert fired.numbers["drift"] == 20_000.0


def test_drift_inside_the_relative_band_does_not_fire() -> None:
    assert drift_outside_band({BTC: -20_000.0}, {BTC: -18_500.0}, band=0.1, min_notional=100.0) is None


def test_drift_outside_the_band_but_below_the_absolute_floor_is_dust_and_does_not_fire() -> None:
    assert drift_outside_band({BTC: -500.0}, {BTC: -400.0}, band=0.1, min_notional=150.0) is None


def test_the_decision_reason_names_the_instrument_that_drifted_most() -> None:
    eth = Symbol("ETH/USDT:USDT")
    fired = drift_outside_band({BTC: -10_000.0, eth: -5_000.0}, {BTC: -8_000.0, eth: 0.0}, 0.1, 100.0)
    assert fired is not None
    assert eth in fired.reason
