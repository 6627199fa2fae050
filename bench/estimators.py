"""Estimator benchmark: how fast the incremental estimators update, whatever their window, and their memory.

What it measures, for 20 series and one joint sample per hour of event time (synthetic returns from a seeded
normal generator: the cost of an update does not depend on the values):

- RollingStats (mean, var, cov, corr, beta) at a 30-day and at a 7-day window: updates per second, and the
  ratio between the two. A 30-day window holds 720 samples, a 7-day one 168; if an update cost grew with
  the window the ratio would be near 0.23. Within 20 % of 1 is the evidence that it is O(1) in the window.
- EwmStats with a 7-day half-life, for comparison.
- RollingSpearman: updates per second (O(1)), and the cost of one on-demand corr() at 30 and at 7 days
  (that one grows with the window, m·log m, by design).
- ReturnSampler: steps per second, each step being 20 prices and one sample.
- Peak memory (tracemalloc) of each estimator over a stream several windows long: its state and the
  temporaries of an update, not the input.

The machine may be shared, so the two windows run in interleaved rounds on warm estimators and each figure
is the median of its rounds. Figures are printed, never asserted.

Run: .venv/bin/python bench/estimators.py [--updates N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.hedge.ewm import EwmStats
from bot.hedge.moments import JointMoments
from bot.hedge.rank import RollingSpearman
from bot.hedge.rolling import RollingStats
from bot.hedge.sampling import ReturnSampler

SERIES = 20
BLOCK = 10_000  # distinct samples, reused in turn: the input stays small next to what is measured
Rows = npt.NDArray[np.float64]


class Feed:
    """An estimator fed hourly samples from where it left off, so rounds continue one warm stream."""

    def __init__(self, name: str, estimator: JointMoments | RollingSpearman, rows: Rows) -> None:
        self.name = name
        self.estimator = estimator
        self.rows = rows
        self.hour = 0
        self.rates: list[float] = []

    def run(self, updates: int) -> None:
        update, rows, hour = self.estimator.update, self.rows, self.hour
        started = time.perf_counter()
        for k in range(hour, hour + updates):
            update(k * MS_PER_HOUR, rows[k % BLOCK])
        self.rates.append(updates / (time.perf_counter() - started))
        self.hour = hour + updates

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


def _interleaved(feeds: list[Feed], updates: int, rounds: int) -> None:
    warm = min(updates, 2_000)
    for feed in feeds:
        feed.run(warm)  # fill the windows first: a steady state is what is being measured
        feed.rates.clear()
    for _ in range(rounds):
        for feed in feeds:
            feed.run(updates // rounds)


def _corr_seconds(window_days: int, rows: Rows, calls: int = 200) -> float:
    """Median seconds of one RollingSpearman.corr() on a full window (an update between calls)."""
    spearman = RollingSpearman(SERIES, window_days * MS_PER_DAY)
    hour = 0
    for hour in range(window_days * 24 + 10):
        spearman.update(hour * MS_PER_HOUR, rows[hour % BLOCK])
    times = []
    for k in range(calls):
        spearman.update((hour + k + 1) * MS_PER_HOUR, rows[(hour + k) % BLOCK])
        started = time.perf_counter()
        spearman.corr()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _sampler_steps_per_second(rows: Rows, steps: int) -> float:
    names = [f"S{i}" for i in range(SERIES)]
    sampler = ReturnSampler(names, MS_PER_HOUR)
    prices = 100.0 * np.exp(np.cumsum(rows, axis=0))  # a random walk from the returns
    started = time.perf_counter()
    for k in range(steps):
        ts = k * MS_PER_HOUR
        for name, price in zip(names, prices[k % len(prices)].tolist(), strict=True):
            sampler.on_price(ts, name, price)
        sampler.sample(ts)
    return steps / (time.perf_counter() - started)


def _peak_kib(make: Callable[[], JointMoments | RollingSpearman], rows: Rows, updates: int) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    estimator = make()
    for k in range(updates):
        estimator.update(k * MS_PER_HOUR, rows[k % BLOCK])
    if isinstance(estimator, RollingSpearman):
        estimator.corr()
    else:
        estimator.cov()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=200_000, help="timed updates per estimator")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds the updates are split into")
    args = parser.parse_args()
    rows = np.random.default_rng(42).normal(0.0, 0.01, size=(BLOCK, SERIES))

    print(f"{SERIES} series, hourly samples, {args.updates:,} timed updates each in {args.rounds} rounds")
    rolling_30 = Feed("RollingStats 30d", RollingStats(SERIES, 30 * MS_PER_DAY), rows)
    rolling_7 = Feed("RollingStats 7d", RollingStats(SERIES, 7 * MS_PER_DAY), rows)
    ewm = Feed("EwmStats halflife 7d", EwmStats(SERIES, 7 * MS_PER_DAY), rows)
    spearman = Feed("RollingSpearman 30d (update)", RollingSpearman(SERIES, 30 * MS_PER_DAY), rows)
    _interleaved([rolling_30, rolling_7, ewm, spearman], args.updates, args.rounds)
    for feed in (rolling_30, rolling_7, ewm, spearman):
        spread = f"rounds {min(feed.rates):,.0f}–{max(feed.rates):,.0f}"
        print(f"  {feed.name:<30} {feed.rate:>10,.0f} updates/s   ({spread})")
    ratio = rolling_30.rate / rolling_7.rate
    verdict = "within" if abs(ratio - 1.0) <= 0.20 else "OUTSIDE"
    print(f"  ratio 30d / 7d window: {ratio:.3f} ({verdict} the 20 % that O(1) per update allows)")

    for days in (30, 7):
        print(
            f"  RollingSpearman.corr() at {days:>2}d ({days * 24} samples): {_corr_seconds(days, rows) * 1e6:,.0f} µs"
        )
    print(f"  ReturnSampler: {_sampler_steps_per_second(rows, 50_000):,.0f} steps/s (20 prices + 1 sample each)")

    stream = 30 * 24 * 7  # seven 30-day windows
    print(f"peak memory (tracemalloc) over {stream:,} updates:")
    makers: dict[str, Callable[[], JointMoments | RollingSpearman]] = {
        "RollingStats 30d": lambda: RollingStats(SERIES, 30 * MS_PER_DAY),
        "RollingStats 7d": lambda: RollingStats(SERIES, 7 * MS_PER_DAY),
        "EwmStats halflife 7d": lambda: EwmStats(SERIES, 7 * MS_PER_DAY),
        "RollingSpearman 30d": lambda: RollingSpearman(SERIES, 30 * MS_PER_DAY),
    }
    for name, make in makers.items():
        print(f"  {name:<30} {_peak_kib(make, rows, stream):>8,.0f} KiB")


if __name__ == "__main__":
    main()
