"""Exponentially weighted moments decay in time, match pandas, and forget rounding as they forget samples."""

from __future__ import annotations

import math
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.ewm import EwmStats

HOUR = MS_PER_HOUR
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")
Floats = npt.NDArray[np.float64]


def _direct(times: Floats, rows: Floats, halflife_ms: float) -> tuple[Floats, Floats]:
    """Mean and unbiased covariance with weights 0.5^(age / half-life), straight from the definition."""
    weights = 0.5 ** ((times[-1] - times) / halflife_ms)
    total, total_sq = weights.sum(), (weights**2).sum()
    mean: Floats = weights @ rows / total
    deviations = rows - mean
    cov: Floats = (deviations.T * weights) @ deviations / total * total**2 / (total**2 - total_sq)
    return mean, cov


# ---- against pandas on real data -----------------------------------------------------------------


@pytest.fixture(scope="module")
def returns_2021(prices_1h: Path) -> pd.DataFrame:
    """Hourly simple returns of BTC, ETH, SOL and DOGE in 2021; hours lost to outages are absent."""
    frame = pd.read_csv(prices_1h, usecols=["timestamp", "symbol", "close"])
    frame = frame[frame["symbol"].isin(SYMBOLS) & frame["timestamp"].str.startswith("2021")]
    frame = frame.assign(time=pd.to_datetime(frame["timestamp"]))
    closes = frame.pivot(index="time", columns="symbol", values="close")
    return closes[list(SYMBOLS)].asfreq("1h").pct_change(fill_method=None).dropna()


def _ms(index: pd.Index) -> npt.NDArray[np.int64]:
    return pd.DatetimeIndex(index).as_unit("ms").asi8


@pytest.mark.data
def test_the_seven_day_halflife_mean_of_2021_returns_agrees_with_pandas_ewm_with_times(
    returns_2021: pd.DataFrame,
) -> None:
    ewm = returns_2021.ewm(halflife=pd.Timedelta("7D"), times=returns_2021.index.to_series())
    expected = ewm.mean().to_numpy()
    stats = EwmStats(len(SYMBOLS), 7 * MS_PER_DAY, min_periods=1)
    means = []
    for ts, row in zip(_ms(returns_2021.index), returns_2021.to_numpy(), strict=True):
        stats.update(int(ts), row)
        means.append(stats.mean())
    np.testing.assert_allclose(np.array(means), expected, rtol=1e-9)


def _longest_gap_free_run(frame: pd.DataFrame) -> pd.DataFrame:
    breaks = np.flatnonzero(np.diff(_ms(frame.index)) != HOUR) + 1
    bounds = [0, *breaks.tolist(), len(frame)]
    start, stop = max(pairwise(bounds), key=lambda span: span[1] - span[0])
    return frame.iloc[start:stop]


@pytest.mark.data
def test_without_gaps_a_seven_day_halflife_var_cov_and_corr_agree_with_pandas_counting_168_rows(
    returns_2021: pd.DataFrame,
) -> None:
    # pandas has var and cov only with a half-life in rows; on an unbroken hourly grid 7 days is 168 rows.
    run = _longest_gap_free_run(returns_2021)
    assert len(run) > 2_000
    ewm = run.ewm(halflife=168)
    n, count = len(SYMBOLS), len(run)
    stats = EwmStats(n, 7 * MS_PER_DAY, min_periods=1)
    means, variances, covs, corrs = [], [], [], []
    for ts, row in zip(_ms(run.index), run.to_numpy(), strict=True):
        stats.update(int(ts), row)
        means.append(stats.mean())
        variances.append(stats.var())
        covs.append(stats.cov())
        corrs.append(stats.corr())
    np.testing.assert_allclose(np.array(means), ewm.mean().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(np.array(variances), ewm.var().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(np.array(covs), ewm.cov().to_numpy().reshape(count, n, n), rtol=1e-9)
    np.testing.assert_allclose(np.array(corrs), ewm.corr().to_numpy().reshape(count, n, n), rtol=1e-9)


@pytest.mark.data
def test_across_the_outages_of_2021_the_covariance_weighs_each_return_by_its_age_in_time(
    returns_2021: pd.DataFrame,
) -> None:
    times, rows = _ms(returns_2021.index).astype(np.float64), returns_2021.to_numpy()
    stats = EwmStats(len(SYMBOLS), 7 * MS_PER_DAY)
    for k, (ts, row) in enumerate(zip(times, rows, strict=True)):
        stats.update(int(ts), row)
        if k % 500 == 499:
            mean, cov = _direct(times[: k + 1], rows[: k + 1], 7 * MS_PER_DAY)
            np.testing.assert_allclose(stats.mean(), mean, rtol=1e-9)
            np.testing.assert_allclose(stats.cov(), cov, rtol=1e-9)
            assert stats.beta(1, 0) == pytest.approx(cov[1, 0] / cov[0, 0], rel=1e-9)


# ---- behaviour -----------------------------------------------------------------------------------


def test_samples_at_one_instant_weigh_the_same_and_give_the_ordinary_mean_and_variance() -> None:
    stats = EwmStats(1, HOUR)
    for x in [1.0, 2.0, 4.0, 7.0]:
        stats.update(0, np.array([x]))
    assert stats.mean()[0] == pytest.approx(3.5)
    assert stats.var()[0] == pytest.approx(np.var([1.0, 2.0, 4.0, 7.0], ddof=1))
    assert stats.effective_samples == pytest.approx(4.0)


def test_a_sample_one_halflife_old_weighs_half_as_much_as_the_newest() -> None:
    stats = EwmStats(1, HOUR)
    stats.update(0, np.array([0.0]))
    stats.update(HOUR, np.array([3.0]))
    assert stats.mean()[0] == pytest.approx(2.0)  # (0.5 × 0 + 1 × 3) / 1.5


def test_after_a_quiet_spell_of_many_halflives_old_samples_weigh_nothing_and_variance_is_unknown() -> None:
    stats = EwmStats(2, HOUR)
    for hour in range(50):
        stats.update(hour * HOUR, np.array([float(hour % 3), float(hour % 5)]))
    stats.update(5_000 * HOUR, np.array([10.0, 20.0]))
    assert stats.mean().tolist() == [10.0, 20.0]
    assert stats.effective_samples == pytest.approx(1.0)
    assert np.isnan(stats.var()).all()
    assert stats.count == 51  # samples seen, as pandas counts them for min_periods
    stats.update(5_000 * HOUR, np.array([12.0, 18.0]))
    assert stats.var().tolist() == pytest.approx([2.0, 2.0])
    assert stats.corr()[0, 1] == pytest.approx(-1.0)


def test_a_constant_series_keeps_its_exact_mean_and_zero_variance_and_has_nan_correlation() -> None:
    stats = EwmStats(2, 24 * HOUR)
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for hour in range(2_000):
            stats.update(hour * HOUR, np.array([0.1, rng.normal()]))
        corr = stats.corr()
    assert stats.mean()[0] == 0.1
    assert stats.var()[0] == 0.0
    assert np.isnan(corr[0]).all()
    assert corr[1, 1] == 1.0
    assert math.isnan(stats.beta(1, 0))


def test_reads_are_nan_until_min_periods_samples_were_seen() -> None:
    stats = EwmStats(1, HOUR, min_periods=3)
    stats.update(0, np.array([1.0]))
    stats.update(HOUR, np.array([2.0]))
    assert not stats.ready
    assert np.isnan(stats.mean()).all()
    stats.update(2 * HOUR, np.array([4.0]))
    assert stats.ready
    assert not np.isnan(stats.var()).any()


def test_a_non_finite_sample_or_one_from_the_past_is_refused_and_changes_nothing() -> None:
    stats = EwmStats(1, HOUR, min_periods=1)
    stats.update(HOUR, np.array([1.0]))
    with pytest.raises(ValueError, match="non-finite"):
        stats.update(2 * HOUR, np.array([math.inf]))
    with pytest.raises(ValueError, match="time never goes back"):
        stats.update(0, np.array([2.0]))
    assert (stats.count, stats.mean().tolist()) == (1, [1.0])


@pytest.mark.parametrize(("n", "halflife_ms", "min_periods"), [(0, HOUR, 2), (2, 0, 2), (2, HOUR, 0)])
def test_an_estimator_that_could_never_estimate_is_refused(
    n: int,
    halflife_ms: int,
    min_periods: int,
) -> None:
    with pytest.raises(ValueError, match=r"n=|halflife_ms=|min_periods="):
        EwmStats(n, halflife_ms, min_periods)


# ---- invariants ----------------------------------------------------------------------------------

_GAP = st.one_of(st.sampled_from([0, HOUR, 60 * HOUR, 3_000 * HOUR]), st.integers(0, 3 * HOUR))
_VALUE = st.integers(-(10**6), 10**6).map(lambda v: v / 1_000)


@given(st.lists(st.tuples(_GAP, st.tuples(_VALUE, _VALUE)), min_size=1, max_size=60))
def test_every_read_equals_the_weighted_definition_whatever_the_gaps(
    stream: list[tuple[int, tuple[float, float]]],
) -> None:
    stats = EwmStats(2, HOUR, min_periods=1)
    times, rows, now = np.empty(0), np.empty((0, 2)), 0
    for gap, x in stream:
        now += gap
        stats.update(now, np.array(x))
        times, rows = np.append(times, float(now)), np.vstack([rows, x])
        weights = 0.5 ** ((now - times) / HOUR)
        np.testing.assert_allclose(stats.mean(), weights @ rows / weights.sum(), rtol=1e-9, atol=1e-9)
        if weights.sum() ** 2 / (weights**2).sum() >= 1.5:  # below, the unbiasing factor is all cancellation
            cov = _direct(times, rows, HOUR)[1]
            scale = max(1.0, float(np.abs(cov).max()))
            np.testing.assert_allclose(stats.cov(), cov, rtol=1e-9, atol=1e-9 * scale)


# ---- numerical stability -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_hundred_thousand_updates_of_prices_from_1e5_to_1e6_still_match_the_definition() -> None:
    rng = np.random.default_rng(20240101)
    updates = 100_000  # rounding error decays with the weights, so a longer stream proves no more
    walk = 1e5 + np.cumsum(rng.normal(0.0, 10.0, updates))
    level = np.repeat(np.linspace(1e5, 1e6, 20), updates // 20)
    steady = level * (1.0 + 1e-4 * rng.normal(size=updates))
    prices = np.column_stack([walk, steady, 3e4 + 0.5 * walk + rng.normal(0.0, 5.0, updates)])
    stats = EwmStats(3, 24 * HOUR)
    for hour in range(updates):
        stats.update(hour * HOUR, prices[hour])
    recent = 24 * 64  # older samples weigh under 0.5⁶⁴ ≈ 5e-20 of the newest: nothing in float64
    times = np.arange(updates - recent, updates, dtype=np.float64) * HOUR
    mean, cov = _direct(times, prices[-recent:], 24 * HOUR)
    np.testing.assert_allclose(stats.mean(), mean, rtol=1e-12)
    np.testing.assert_allclose(stats.cov(), cov, rtol=1e-9)
