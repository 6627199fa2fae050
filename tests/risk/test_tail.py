"""The live book's VaR and ES from the engine's rolling returns: hedged and unhedged, scaled to one day."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.domain import Symbol
from bot.risk.tail import book_tail_risk, historical

SPOT, PERP = Symbol("ETH/USDT"), Symbol("ETH/USDT:USDT")
INDEX = {SPOT: 0, PERP: 1}


def _returns(n: int = 500) -> np.ndarray:
    r = np.random.default_rng(5).normal(0, 0.01, n)
    return np.column_stack([r, r])  # the perpetual moves with the spot


def test_a_full_hedge_on_the_holdings_own_perpetual_leaves_no_value_at_risk() -> None:
    report = book_tail_risk(_returns(), INDEX, {SPOT: 10_000.0}, {PERP: -10_000.0}, samples_per_day=1)
    assert report is not None
    assert report.unhedged.var > 0
    assert report.hedged.var == pytest.approx(0.0, abs=1e-9)
    assert report.hedged_filtered.es == pytest.approx(0.0, abs=1e-9)


def test_hourly_samples_are_scaled_to_one_day_by_the_square_root_of_24() -> None:
    returns = _returns()
    hourly = book_tail_risk(returns, INDEX, {SPOT: 10_000.0}, {}, samples_per_day=24)
    assert hourly is not None
    per_sample = historical(returns[:, 0] * 10_000.0, 0.99)
    assert hourly.unhedged.var == pytest.approx(per_sample.var * math.sqrt(24))
    assert hourly.unhedged.es == pytest.approx(per_sample.es * math.sqrt(24))


def test_a_book_with_a_series_the_window_does_not_hold_has_no_figures() -> None:
    assert book_tail_risk(_returns(), INDEX, {Symbol("SOL/USDT"): 1.0}, {}, samples_per_day=24) is None
    assert book_tail_risk(_returns(0), INDEX, {SPOT: 1.0}, {}, samples_per_day=24) is None
