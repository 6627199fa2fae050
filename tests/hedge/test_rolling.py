"""Rolling moments over a time window match pandas and a direct computation, and stay exact for ever."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.rolling import RollingStats

HOUR = MS_PER_HOUR
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")
Floats = npt.NDArray[np.float64]


def _fed(window_ms: int, samples: list[tuple[int, list[float]]], min_periods: int = 2) -> RollingStats:
    stats = RollingStats(len(samples[0][1]), window_ms, min_periods)
    for ts, x in samples:
        stats.update(ts, np.array(x))
    return stats


# ---- against pandas on real data -----------------------------------------------------------------


@pytest.fixture(scope="module")
def returns_2021(prices_1h: Path) -> pd.DataFrame:
    """Hourly simple returns of BTC, ETH, SOL and DOGE in 2021; hours lost to outages are absent."""
    frame = pd.read_csv(prices_1h, usecols=["timestamp", "symbol", "close"])
    frame = frame[frame["symbol"].isin(SYMBOLS) & frame["timestamp"].str.startswith("2021")]
    frame = frame.assign(time=pd.to_datetime(frame["timestamp"]))
    closes = frame.pivot(index="time", columns="symbol", values="close")
    hourly = closes[list(SYMBOLS)].asfreq("1h")
    return hourly.pct_change(fill_method=None).dropna()


def _ms(index: pd.Index) -> list[int]:
    return [int(ts) for ts in pd.DatetimeIndex(index).as_unit("ms").asi8]


@pytest.mark.data
def test_thirty_day_rolling_mean_var_cov_and_corr_of_2021_returns_agree_with_pandas(
    returns_2021: pd.DataFrame,
) -> None:
    rolling = returns_2021.rolling("30D", min_periods=2)
    n, count = len(SYMBOLS), len(returns_2021)
    expected_cov = rolling.cov().to_numpy().reshape(count, n, n)
    expected_corr = rolling.corr().to_numpy().reshape(count, n, n)
    expected_mean, expected_var = rolling.mean().to_numpy(), rolling.var().to_numpy()
    stats = RollingStats(n, 30 * MS_PER_DAY, min_periods=2)
    means, variances, covs, corrs = [], [], [], []
    for ts, row in zip(_ms(returns_2021.index), returns_2021.to_numpy(), strict=True):
        stats.update(ts, row)
        means.append(stats.mean())
        variances.append(stats.var())
        covs.append(stats.cov())
        corrs.append(stats.corr())
    np.testing.assert_allclose(np.array(means), expected_mean, rtol=1e-9)
    np.testing.assert_allclose(np.array(variances), expected_var, rtol=1e-9)
    np.testing.assert_allclose(np.array(covs), expected_cov, rtol=1e-9)
    np.testing.assert_allclose(np.array(corrs), expected_corr, rtol=1e-9)
    assert stats.count == (returns_2021.index > returns_2021.index[-1] - pd.Timedelta("30D")).sum()


@pytest.mark.data
def test_beta_of_eth_to_btc_is_the_slope_of_the_regression_over_the_window(
    returns_2021: pd.DataFrame,
) -> None:
    stats = RollingStats(len(SYMBOLS), 30 * MS_PER_DAY)
    for ts, row in zip(_ms(returns_2021.index), returns_2021.to_numpy(), strict=True):
        stats.update(ts, row)
    window = returns_2021.loc[returns_2021.index > returns_2021.index[-1] - pd.Timedelta("30D")]
    slope = np.polyfit(window["BTCUSDT"], window["ETHUSDT"], 1)[0]
    assert stats.beta(1, 0) == pytest.approx(slope, rel=1e-9)


# ---- window edges --------------------------------------------------------------------------------


def test_a_sample_exactly_one_window_old_is_out_of_the_window() -> None:
    stats = _fed(10 * HOUR, [(0, [100.0]), (HOUR, [1.0]), (10 * HOUR, [3.0])])
    assert stats.count == 2  # (0h, 10h]: the sample at 0h has left, as in pandas' rolling('10h')
    assert stats.mean()[0] == pytest.approx(2.0)


def test_a_gap_longer_than_the_window_leaves_only_the_new_sample() -> None:
    stats = _fed(10 * HOUR, [(0, [1.0, 2.0]), (HOUR, [2.0, 1.0]), (30 * HOUR, [5.0, 7.0])], min_periods=1)
    assert stats.count == 1
    assert stats.mean().tolist() == [5.0, 7.0]
    assert np.isnan(stats.var()).all()


def test_advancing_time_past_the_window_empties_it_and_reads_say_no_estimate() -> None:
    stats = _fed(10 * HOUR, [(0, [1.0]), (HOUR, [2.0]), (2 * HOUR, [4.0])])
    stats.advance(11 * HOUR)
    assert (stats.count, stats.ready) == (1, False)
    stats.advance(12 * HOUR)
    assert stats.count == 0
    assert np.isnan(stats.mean()).all()
    assert np.isnan(stats.cov()).all()
    stats.update(13 * HOUR, np.array([10.0]))
    stats.update(14 * HOUR, np.array([20.0]))
    assert stats.mean()[0] == pytest.approx(15.0)
    assert stats.var()[0] == pytest.approx(50.0)


def test_a_single_sample_has_a_mean_but_no_variance() -> None:
    stats = _fed(10 * HOUR, [(0, [3.0, 4.0])], min_periods=1)
    assert stats.mean().tolist() == [3.0, 4.0]
    assert np.isnan(stats.var()).all()
    assert np.isnan(stats.corr()).all()
    assert math.isnan(stats.beta(0, 1))


def test_reads_are_nan_until_min_periods_samples_are_in_the_window() -> None:
    stats = RollingStats(2, 10 * HOUR, min_periods=3)
    for hour, x in enumerate([[1.0, 2.0], [2.0, 1.0]]):
        stats.update(hour * HOUR, np.array(x))
        assert not stats.ready
        assert np.isnan(stats.mean()).all()
    stats.update(2 * HOUR, np.array([3.0, 5.0]))
    assert stats.ready
    assert stats.mean().tolist() == pytest.approx([2.0, 8 / 3])


def test_a_constant_series_has_zero_variance_and_nan_correlation_without_a_warning() -> None:
    stats = RollingStats(3, 1_000 * HOUR)
    rng = np.random.default_rng(7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for hour in range(200):
            a = rng.normal()
            stats.update(hour * HOUR, np.array([a, 0.1, 2 * a + rng.normal()]))
        var, corr = stats.var(), stats.corr()
    assert var[1] == 0.0
    assert stats.mean()[1] == 0.1
    assert np.isnan(corr[1]).all()
    assert np.isnan(corr[:, 1]).all()
    assert 0.5 < corr[0, 2] < 1.0
    assert math.isnan(stats.beta(0, 1))


def test_a_series_that_stops_moving_has_zero_variance_once_its_moves_leave_the_window() -> None:
    stats = RollingStats(1, 10 * HOUR)
    for hour, x in enumerate([1.0, 5.0, 2.0] + [0.7] * 12):
        stats.update(hour * HOUR, np.array([x]))
    assert stats.var()[0] == 0.0


def test_a_non_finite_sample_is_refused_and_leaves_the_estimate_as_it_was() -> None:
    stats = _fed(10 * HOUR, [(0, [1.0]), (HOUR, [2.0])])
    with pytest.raises(ValueError, match="non-finite"):
        stats.update(2 * HOUR, np.array([math.nan]))
    assert stats.count == 2
    assert stats.mean()[0] == pytest.approx(1.5)


def test_a_sample_from_the_past_is_refused() -> None:
    stats = _fed(10 * HOUR, [(5 * HOUR, [1.0])])
    with pytest.raises(ValueError, match="time never goes back"):
        stats.update(4 * HOUR, np.array([2.0]))
    assert stats.count == 1


@pytest.mark.parametrize(("n", "window_ms", "min_periods"), [(0, HOUR, 2), (2, 0, 2), (2, HOUR, 0)])
def test_an_estimator_that_could_never_estimate_is_refused(n: int, window_ms: int, min_periods: int) -> None:
    with pytest.raises(ValueError, match=r"n=|window_ms=|min_periods="):
        RollingStats(n, window_ms, min_periods)


# ---- invariants ------------------------------------------------------------------------------------

WINDOW = 10 * HOUR
_EDGES = st.sampled_from([0, HOUR, WINDOW - 1, WINDOW, WINDOW + 1, 3 * WINDOW])
_GAP = st.one_of(_EDGES, st.integers(0, 2 * WINDOW))
_COARSE = st.integers(-3, 3).map(float)  # ties and constant windows are common
_FINE = st.integers(-(10**6), 10**6).map(lambda v: v / 1_000)


def _direct(times: Floats, rows: Floats, now: int) -> Floats:
    window: Floats = rows[(times > now - WINDOW) & (times <= now)]
    return window


@given(st.lists(st.tuples(_GAP, st.tuples(_COARSE, _FINE, _FINE)), min_size=1, max_size=60))
@example(  # large samples leave, tiny ones stay: the sums around the old shift have lost the spread's digits
    [(0, (0.0, -4.679, 0.0)), (0, (0.0, 0.0, 0.0)), (WINDOW - 1, (0.0, 0.0, 0.0)), (HOUR, (0.0, -0.001, 0.001))]
)
@example([(0, (0.0, 22.627, 0.0)), (WINDOW - 1, (0.0, 0.001, 0.0)), (HOUR, (0.0, 0.0, 0.001))])
@example([(0, (0.0, 0.0, 0.001)), (0, (0.0, 0.0, 93.147)), (HOUR, (0.0, 0.001, 0.0)), (WINDOW - 1, (0.0, 0.0, 0.001))])
@example([(0, (0.0, 32.0, 0.0)), (HOUR, (0.0, 0.001, 0.0)), (WINDOW - 1, (0.0, 0.001, 0.0)), (0, (0.0, 0.0, 0.001))])
def test_every_read_equals_a_direct_computation_on_the_samples_of_the_window(
    stream: list[tuple[int, tuple[float, float, float]]],
) -> None:
    stats = RollingStats(3, WINDOW)
    times, rows, now = np.empty(0), np.empty((0, 3)), 0
    for gap, x in stream:
        now += gap
        stats.update(now, np.array(x))
        times, rows = np.append(times, now), np.vstack([rows, x])
        window = _direct(times, rows, now)
        assert stats.count == len(window)
        if len(window) < 2:
            assert np.isnan(stats.cov()).all()
            continue
        np.testing.assert_allclose(stats.mean(), window.mean(axis=0), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(stats.cov(), np.cov(window.T, ddof=1), rtol=1e-9, atol=1e-6)
        constant = np.ptp(window, axis=0) == 0
        assert (stats.var()[constant] == 0.0).all()
        corr = stats.corr()
        assert np.isnan(corr[constant]).all()
        moving = ~constant
        if moving.sum() >= 2:
            expected = np.corrcoef(window[:, moving].T)
            np.testing.assert_allclose(corr[np.ix_(moving, moving)], expected, rtol=1e-9, atol=1e-9)


# ---- numerical stability -------------------------------------------------------------------------


@pytest.mark.slow
def test_two_hundred_thousand_updates_of_prices_from_1e5_to_1e6_still_match_a_direct_computation() -> None:
    rng = np.random.default_rng(20240101)
    updates = 200_000
    walk = 1e5 + np.cumsum(rng.normal(0.0, 10.0, updates))
    # A tiny spread on a large level that moves between windows: the bait for cancellation and for a stale
    # centre, which running sums without re-centring fail by orders of magnitude.
    level = np.repeat(np.linspace(1e5, 1e6, 20), updates // 20)
    steady = level * (1.0 + 1e-4 * rng.normal(size=updates))
    tied = 3e4 + 0.5 * walk + rng.normal(0.0, 5.0, updates)
    prices = np.column_stack([walk, steady, tied])
    stats = RollingStats(3, 30 * MS_PER_DAY)
    for hour in range(updates):
        stats.update(hour * HOUR, prices[hour])
    window = prices[-720:]
    assert stats.count == 720
    np.testing.assert_allclose(stats.mean(), window.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.var(), window.var(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(stats.cov(), np.cov(window.T, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(stats.corr(), np.corrcoef(window.T), rtol=1e-9)
