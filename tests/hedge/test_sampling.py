"""The return sampler turns prices into one joint return per step, and never invents or trusts a number."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND
from bot.hedge.sampling import ReturnKind, ReturnSampler, parse_duration_ms

HOUR = MS_PER_HOUR
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")


def _sampler(kind: ReturnKind = ReturnKind.SIMPLE) -> ReturnSampler:
    return ReturnSampler(("BTC", "ETH"), HOUR, kind)


def _step(sampler: ReturnSampler, hour: int, prices: dict[str, float]) -> np.ndarray | None:
    for name, price in prices.items():
        sampler.on_price(hour * HOUR, name, price)
    return sampler.sample(hour * HOUR)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14d", 14 * MS_PER_DAY),
        ("30d", 30 * MS_PER_DAY),
        ("6h", 6 * HOUR),
        ("15m", 15 * MS_PER_MINUTE),
        ("30s", 30 * MS_PER_SECOND),
    ],
)
def test_durations_in_days_hours_minutes_and_seconds_are_milliseconds(text: str, expected: int) -> None:
    assert parse_duration_ms(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "thirty days", "-1h", "1y"])
def test_a_duration_that_cannot_be_read_is_an_error_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_duration_ms(text)


def test_the_first_complete_sample_is_only_a_base_and_the_second_is_a_return() -> None:
    sampler = _sampler()
    assert _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0}) is None
    returns = _step(sampler, 1, {"BTC": 110.0, "ETH": 45.0})
    assert returns is not None
    np.testing.assert_allclose(returns, [0.10, -0.10])
    assert (sampler.samples, sampler.gaps) == (1, 0)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ReturnKind.SIMPLE, [0.25, -0.5]),
        (ReturnKind.LOG, [math.log(1.25), math.log(0.5)]),
        (ReturnKind.DIFF, [25.0, -25.0]),
    ],
)
def test_returns_are_simple_log_or_dollar_changes(kind: ReturnKind, expected: list[float]) -> None:
    sampler = _sampler(kind)
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    returns = _step(sampler, 1, {"BTC": 125.0, "ETH": 25.0})
    assert returns is not None
    np.testing.assert_allclose(returns, expected)


def test_the_latest_price_within_a_step_is_the_one_sampled() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    sampler.on_price(HOUR - 1_000, "BTC", 999.0)
    returns = _step(sampler, 1, {"BTC": 120.0, "ETH": 50.0})
    assert returns is not None
    np.testing.assert_allclose(returns, [0.2, 0.0])


def test_a_missing_hour_is_not_a_zero_return() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    assert _step(sampler, 1, {"BTC": 101.0}) is None  # ETH did not trade: no return at all, not 0 % for ETH
    assert sampler.gaps == 1
    # ETH's price an hour ago is unknown, so this step is only a base:
    assert _step(sampler, 2, {"BTC": 102.0, "ETH": 60.0}) is None
    returns = _step(sampler, 3, {"BTC": 204.0, "ETH": 66.0})
    assert returns is not None
    np.testing.assert_allclose(returns, [1.0, 0.1])  # one step only: 102 → 204, 60 → 66
    assert (sampler.samples, sampler.gaps) == (1, 1)


def test_a_skipped_step_is_a_gap_and_no_return_spans_it() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    assert _step(sampler, 3, {"BTC": 200.0, "ETH": 50.0}) is None
    assert sampler.gaps == 1
    returns = _step(sampler, 4, {"BTC": 220.0, "ETH": 55.0})
    assert returns is not None
    np.testing.assert_allclose(returns, [0.1, 0.1])


def test_a_sample_off_the_boundary_counts_by_the_step_it_falls_in() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    sampler.on_price(2 * HOUR - 1, "BTC", 110.0)
    sampler.on_price(2 * HOUR - 1, "ETH", 55.0)
    assert sampler.sample(2 * HOUR - 1) is not None  # 01:59:59.999 is in the step after 00:00
    assert sampler.gaps == 0


def test_a_second_call_within_the_same_step_changes_nothing() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    sampler.on_price(HOUR, "BTC", 110.0)
    sampler.on_price(HOUR, "ETH", 55.0)
    assert sampler.sample(HOUR) is not None
    assert sampler.sample(HOUR + 30 * MS_PER_MINUTE) is None
    assert (sampler.samples, sampler.gaps) == (1, 0)
    assert _step(sampler, 2, {"BTC": 121.0, "ETH": 60.5}) is not None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -0.0, -100.0])
def test_a_bad_tick_is_rejected_counted_and_never_used(bad: float) -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    sampler.on_price(HOUR, "ETH", 55.0)
    sampler.on_price(HOUR, "BTC", 110.0)
    assert sampler.on_price(HOUR, "BTC", bad) is False
    assert sampler.rejected == 1
    returns = sampler.sample(HOUR)
    assert returns is not None
    np.testing.assert_allclose(returns, [0.1, 0.1])


def test_a_bad_tick_alone_does_not_count_as_an_update() -> None:
    sampler = _sampler()
    _step(sampler, 0, {"BTC": 100.0, "ETH": 50.0})
    assert _step(sampler, 1, {"BTC": math.nan, "ETH": 55.0}) is None
    assert (sampler.rejected, sampler.gaps) == (1, 1)


def test_a_price_for_a_series_not_followed_is_rejected_and_counted() -> None:
    sampler = _sampler()
    assert sampler.on_price(0, "DOGE", 0.1) is False
    assert sampler.rejected == 1


def test_a_price_older_than_the_series_latest_is_rejected() -> None:
    sampler = _sampler()
    assert sampler.on_price(2_000, "BTC", 100.0)
    assert sampler.on_price(1_000, "BTC", 90.0) is False
    assert sampler.on_price(2_000, "BTC", 101.0)  # the same instant again is fine: it is newer news
    assert sampler.rejected == 1


@pytest.mark.parametrize(
    ("series", "step_ms", "message"),
    [((), HOUR, "empty"), (("BTC", "BTC"), HOUR, "twice"), (("BTC",), 0, "step_ms=0")],
)
def test_a_sampler_that_could_never_work_is_refused(
    series: tuple[str, ...],
    step_ms: int,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        ReturnSampler(series, step_ms)


_TICK = st.one_of(
    st.floats(min_value=1e-3, max_value=1e6),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0]),
)
_STEP = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), _TICK), max_size=6)


@given(st.lists(_STEP, min_size=1, max_size=40))
def test_a_return_exists_exactly_when_every_series_had_a_good_price_in_this_step_and_the_last(
    steps: list[list[tuple[str, float]]],
) -> None:
    sampler = ReturnSampler(("A", "B", "C"), HOUR)
    previous: dict[str, float] = {}
    bad_ticks = 0
    for hour, ticks in enumerate(steps):
        current: dict[str, float] = {}
        for name, price in ticks:
            sampler.on_price(hour * HOUR, name, price)
            if math.isfinite(price) and price > 0:
                current[name] = price
            else:
                bad_ticks += 1
        returns = sampler.sample(hour * HOUR)
        if len(current) == 3 and len(previous) == 3:
            assert returns is not None
            expected = [current[name] / previous[name] - 1.0 for name in ("A", "B", "C")]
            np.testing.assert_allclose(returns, expected, rtol=1e-12)
        else:
            assert returns is None
        previous = current
    assert sampler.rejected == bad_ticks


# ---- real data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def closes_2021(prices_1h: Path) -> pd.DataFrame:
    """Hourly closes of BTC, ETH, SOL and DOGE in 2021, one row per hour present in the file."""
    frame = pd.read_csv(prices_1h, usecols=["timestamp", "symbol", "close"])
    frame = frame[frame["symbol"].isin(SYMBOLS) & frame["timestamp"].str.startswith("2021")]
    ts = pd.to_datetime(frame["timestamp"]).dt.as_unit("ms").astype("int64")
    return frame.assign(ts=ts).pivot(index="ts", columns="symbol", values="close")[list(SYMBOLS)]


@pytest.mark.data
def test_hourly_returns_of_2021_equal_pandas_pct_change_with_the_outage_hours_left_out(
    closes_2021: pd.DataFrame,
) -> None:
    sampler = ReturnSampler(SYMBOLS, HOUR)
    grid = range(int(closes_2021.index[0]), int(closes_2021.index[-1]) + HOUR, HOUR)
    closes = dict(zip(closes_2021.index, closes_2021.to_numpy(), strict=True))
    times, rows = [], []
    for ts in grid:  # the engine's clock ticks every hour, outage or not
        for symbol, price in zip(SYMBOLS, closes.get(ts, ()), strict=False):
            sampler.on_price(ts, symbol, float(price))
        returns = sampler.sample(ts)
        if returns is not None:
            times.append(ts)
            rows.append(returns)
    expected = closes_2021.reindex(list(grid)).pct_change(fill_method=None).dropna()
    assert times == list(expected.index)
    np.testing.assert_allclose(np.array(rows), expected.to_numpy(), rtol=1e-12)
    # 2021 has 6 outages (13 hours): each costs its own hours' returns and the hour after.
    assert (sampler.gaps, sampler.samples, sampler.rejected) == (6, len(closes_2021) - 1 - 6, 0)
