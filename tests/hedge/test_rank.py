"""Rolling Spearman correlation is pandas' rank correlation of the samples in the window."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.rank import RollingSpearman, average_ranks

HOUR = MS_PER_HOUR
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")


@pytest.fixture(scope="module")
def returns_2021(prices_1h: Path) -> pd.DataFrame:
    """Hourly simple returns of BTC, ETH, SOL and DOGE in 2021; hours lost to outages are absent."""
    frame = pd.read_csv(prices_1h, usecols=["timestamp", "symbol", "close"])
    frame = frame[frame["symbol"].isin(SYMBOLS) & frame["timestamp"].str.startswith("2021")]
    frame = frame.assign(time=pd.to_datetime(frame["timestamp"]))
    closes = frame.pivot(index="time", columns="symbol", values="close")
    return closes[list(SYMBOLS)].asfreq("1h").pct_change(fill_method=None).dropna()


@pytest.mark.data
@pytest.mark.parametrize("window", ["14D", "30D"])
def test_spearman_over_windows_of_2021_returns_equals_pandas_rank_correlation_of_the_window(
    returns_2021: pd.DataFrame, window: str
) -> None:
    window_ms = int(pd.Timedelta(window).total_seconds() * 1_000)
    stats = RollingSpearman(len(SYMBOLS), window_ms)
    checks = 0
    for k, (time, row) in enumerate(zip(returns_2021.index, returns_2021.to_numpy(), strict=True)):
        stats.update(int(time.value // 1_000_000), row)
        if k % 997 == 996:  # a handful of windows through the year, across the outages
            start = time - pd.Timedelta(window)
            in_window = returns_2021.loc[(returns_2021.index > start) & (returns_2021.index <= time)]
            np.testing.assert_allclose(stats.corr(), in_window.corr(method="spearman").to_numpy(), rtol=1e-12)
            assert stats.count == len(in_window)
            checks += 1
    assert checks == 8


def test_ties_share_the_mean_of_the_ranks_they_span() -> None:
    ranks = average_ranks(np.array([[10.0, 3.0], [20.0, 3.0], [20.0, 3.0], [5.0, 1.0]]))
    assert ranks[:, 0].tolist() == [2.0, 3.5, 3.5, 1.0]
    assert ranks[:, 1].tolist() == [3.0, 3.0, 3.0, 1.0]


def test_no_samples_have_no_ranks() -> None:
    assert average_ranks(np.empty((0, 3))).shape == (0, 3)


def test_a_monotonic_but_nonlinear_relation_has_rank_correlation_one() -> None:
    stats = RollingSpearman(2, 100 * HOUR)
    for hour, x in enumerate(np.linspace(-2.0, 2.0, 40)):
        stats.update(hour * HOUR, np.array([x, math.exp(3 * x)]))
    assert stats.corr()[0, 1] == pytest.approx(1.0)


def test_a_constant_series_has_nan_rank_correlation_without_a_warning() -> None:
    stats = RollingSpearman(3, 100 * HOUR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for hour in range(10):
            stats.update(hour * HOUR, np.array([hour, 5.0, -hour]))
        corr = stats.corr()
    assert np.isnan(corr[1]).all()
    assert np.isnan(corr[:, 1]).all()
    assert corr[0, 2] == pytest.approx(-1.0)


def test_a_sample_exactly_one_window_old_no_longer_counts() -> None:
    stats = RollingSpearman(2, 3 * HOUR)
    for hour, x in enumerate([[9.0, -9.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]):
        stats.update(hour * HOUR, np.array(x))
    assert stats.count == 3
    assert stats.corr()[0, 1] == pytest.approx(1.0)  # the opposing first sample has left


def test_it_is_nan_until_ready_and_again_once_time_empties_the_window() -> None:
    stats = RollingSpearman(2, 3 * HOUR, min_periods=3)
    stats.update(0, np.array([1.0, 2.0]))
    stats.update(HOUR, np.array([2.0, 1.0]))
    assert not stats.ready
    assert np.isnan(stats.corr()).all()
    stats.update(2 * HOUR, np.array([3.0, 3.0]))
    assert stats.ready
    stats.advance(10 * HOUR)
    assert stats.count == 0
    assert np.isnan(stats.corr()).all()


def test_changing_a_returned_matrix_does_not_change_the_next_read() -> None:
    stats = RollingSpearman(2, 10 * HOUR)
    for hour, x in enumerate([[1.0, 2.0], [2.0, 3.0], [3.0, 1.0]]):
        stats.update(hour * HOUR, np.array(x))
    first = stats.corr()
    first[0, 1] = 42.0
    assert stats.corr()[0, 1] == pytest.approx(-0.5)


def test_a_non_finite_sample_is_refused() -> None:
    stats = RollingSpearman(2, 10 * HOUR)
    with pytest.raises(ValueError, match="non-finite"):
        stats.update(0, np.array([1.0, math.nan]))
    assert stats.count == 0


_GAP = st.one_of(st.sampled_from([0, 10 * HOUR]), st.integers(0, 4 * HOUR))
_VALUE = st.integers(-3, 3).map(float)  # a narrow range: ties and constant windows are the hard cases


@given(st.lists(st.tuples(_GAP, st.tuples(_VALUE, _VALUE, _VALUE)), min_size=1, max_size=40))
def test_with_ties_and_gaps_it_equals_pandas_spearman_on_the_samples_of_the_window(
    stream: list[tuple[int, tuple[float, float, float]]],
) -> None:
    stats = RollingSpearman(3, 10 * HOUR, min_periods=2)
    times: list[int] = []
    rows: list[tuple[float, float, float]] = []
    now = 0
    for gap, x in stream:
        now += gap
        stats.update(now, np.array(x))
        times.append(now)
        rows.append(x)
    window = pd.DataFrame([r for t, r in zip(times, rows, strict=True) if t > now - 10 * HOUR])
    assert stats.count == len(window)
    if len(window) < 2:
        assert np.isnan(stats.corr()).all()
    else:
        expected = window.corr(method="spearman").to_numpy()
        np.testing.assert_allclose(stats.corr(), expected, rtol=1e-12, atol=1e-12)


def test_its_window_reaches_a_month_of_hourly_samples() -> None:
    stats = RollingSpearman(1, 30 * MS_PER_DAY)
    for hour in range(1_000):
        stats.update(hour * HOUR, np.array([float(hour)]))
    assert stats.count == 720
