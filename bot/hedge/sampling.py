"""From prices arriving one series at a time to one joint return vector per sampling step.

The engine hands over every price as it arrives (`on_price`) and, once per step boundary after all events
of that instant, asks for a sample (`sample`). A sample is the vector of returns of all series since the
previous successful sample, so every estimator sees the same instants for every series.

Robustness, because one bad number would poison every estimate that follows:
- a NaN, infinite, zero or negative price, a price for a series we do not follow, or a price older than the
  series' latest is rejected and counted in `rejected`; it never replaces a good price;
- a missing sample is not a zero return: when some series has not updated since the previous sample, or
  steps were skipped, there is no return for that step (counted in `gaps`) and the next return starts afresh
  from the following step, so no return ever spans more than one step;
- a series the caller holds (`hold`: its feed stopped, and the caller can do without it) does not hold up the
  others: its return is zero while it is held and at the first sample after it is released (so no return spans
  the outage), and the other series are sampled as before.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence

import numpy as np

from bot.domain import parse_duration_ms
from bot.hedge.moments import FloatArray, IntArray

__all__ = ["ReturnKind", "ReturnSampler", "parse_duration_ms"]  # parse_duration_ms lives in bot.domain

_NO_TICK_YET = np.iinfo(np.int64).min


class ReturnKind(enum.StrEnum):
    SIMPLE = "simple"  # p / p₀ − 1
    LOG = "log"  # ln(p / p₀)
    DIFF = "diff"  # p − p₀: dollar change, for hedges sized on price moves rather than returns


class ReturnSampler:
    """Latest prices per series → one joint return vector per sampling step."""

    __slots__ = (
        "_base",
        "_base_step",
        "_fresh",
        "_held",
        "_held_base",
        "_index",
        "_last_step",
        "_price",
        "_tick_ts",
        "gaps",
        "kind",
        "rejected",
        "samples",
        "series",
        "step_ms",
    )

    def __init__(self, series: Sequence[str], step_ms: int, kind: ReturnKind = ReturnKind.SIMPLE) -> None:
        if not series:
            raise ValueError("series is empty: name at least one series to sample")
        if len(set(series)) != len(series):
            raise ValueError(f"series {list(series)} names some series twice")
        if step_ms <= 0:
            raise ValueError(f"step_ms={step_ms}: the sampling step must be a positive duration")
        self.series = tuple(series)
        self.step_ms = step_ms
        self.kind = ReturnKind(kind)
        self.rejected = 0  # prices refused: not finite and positive, unknown series, or older than the latest
        self.gaps = 0  # breaks in the return series: a series missed a step, or whole steps were skipped
        self.samples = 0  # return vectors produced
        self._index = {name: i for i, name in enumerate(self.series)}
        n = len(self.series)
        self._price: FloatArray = np.full(n, np.nan)  # latest good price per series
        self._tick_ts: IntArray = np.full(n, _NO_TICK_YET, dtype=np.int64)
        self._fresh = np.zeros(n, dtype=bool)  # updated since the previous call to sample()
        self._held = np.zeros(n, dtype=bool)  # series sampled as unmoved: their feed stopped (`hold`)
        self._held_base = np.zeros(n, dtype=bool)  # held at the previous sample: its base is from before the outage
        self._base: FloatArray | None = None  # prices at the previous step, when it is a valid base
        self._base_step = 0
        self._last_step: int | None = None  # the step of the previous call to sample()

    def on_price(self, ts: int, series: str, price: float) -> bool:
        """Take a price; False (and counted in `rejected`) when it is unusable."""
        i = self._index.get(series)
        if i is None or not (math.isfinite(price) and price > 0) or ts < self._tick_ts[i]:
            self.rejected += 1
            return False
        self._price[i] = price
        self._tick_ts[i] = ts
        self._fresh[i] = True
        return True

    def hold(self, series: Iterable[str]) -> None:
        """Sample these series (and only these) as unmoved until the next call: the others do not wait for them."""
        self._held[:] = False
        for name in series:
            if name in self._index:
                self._held[self._index[name]] = True

    def sample(self, ts: int) -> FloatArray | None:
        """The returns since the previous sample, taken at `ts`; None when there is none for this step.

        None when: this is the first complete sample (no base yet); some series has not updated since the
        previous call (a gap; the base is dropped so the next return spans one step only); the previous
        sample is more than one step back (a gap); or `ts` is in the same step as the previous call (at
        most one sample per step: such a call changes nothing).
        """
        step = ts // self.step_ms
        if self._last_step is not None and step <= self._last_step:
            return None
        self._last_step = step
        complete = bool((self._fresh | self._held).all())
        self._fresh[:] = False
        unmoved, self._held_base = self._held | self._held_base, self._held.copy()
        if not complete:
            self._drop_base()
            return None
        base, base_step = self._base, self._base_step
        self._base, self._base_step = self._price.copy(), step
        if base is None:
            return None
        returns = self._returns(self._base, base)
        returns[unmoved] = 0.0
        if step - base_step > 1 or not np.isfinite(returns).all():
            self.gaps += 1  # steps were skipped, or prices so extreme that their ratio overflows
            return None
        self.samples += 1
        return returns

    def _drop_base(self) -> None:
        if self._base is not None:
            self.gaps += 1
            self._base = None

    def _returns(self, now: FloatArray, then: FloatArray) -> FloatArray:
        with np.errstate(over="ignore"):
            if self.kind is ReturnKind.DIFF:
                return now - then
            if self.kind is ReturnKind.LOG:
                return np.log(now / then)
            return now / then - 1.0
