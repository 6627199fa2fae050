"""Glue between the price stream and the policies: sample returns each step, keep windowed covariances.

Series are named by symbol: spot pairs of the holdings and the hedge instruments.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import Symbol
from bot.hedge.ewm import EwmStats
from bot.hedge.moments import FloatArray
from bot.hedge.policies import CovarianceView
from bot.hedge.rolling import RollingStats
from bot.hedge.sampling import ReturnKind, ReturnSampler


class CovarianceEstimator:
    def __init__(
        self, series: Sequence[Symbol], step_ms: int, window_ms: int, min_samples: int, fast_halflife_ms: int
    ) -> None:
        self.series = tuple(series)
        self.step_ms = step_ms
        self.index = {name: i for i, name in enumerate(self.series)}
        self.sampler = ReturnSampler(self.series, step_ms, ReturnKind.SIMPLE)
        self.stats = RollingStats(len(self.series), window_ms, min_periods=min_samples)
        self.fast = EwmStats(len(self.series), fast_halflife_ms, min_periods=min_samples)  # regime: reacts sooner
        self._next_sample_ts: int | None = None
        self._views: dict[str, CovarianceView | None] = {}  # the estimates change only per sample: kept until then

    def on_price(self, ts: int, symbol: Symbol, price: float) -> None:
        if symbol in self.index:
            self.sampler.on_price(ts, symbol, price)

    def due(self, now: int) -> bool:
        """True once per sampling step: at the first call at or after each step boundary."""
        if not self.is_due(now):
            return False
        self._next_sample_ts = now - now % self.step_ms + self.step_ms
        return True

    def is_due(self, now: int) -> bool:
        """Whether `due(now)` would be True (the step `now` falls in is not sampled yet), taking nothing."""
        return self._next_sample_ts is None or now >= self._next_sample_ts

    def sample(self, now: int) -> bool:
        self._views.clear()
        self.stats.advance(now)  # an outage longer than the window empties it rather than freezing old estimates
        returns = self.sampler.sample(now)
        if returns is None:
            return False
        self.stats.update(now, returns)
        self.fast.update(now, returns)
        return True

    @property
    def ready(self) -> bool:
        return bool(self.stats.ready)

    def returns(self) -> FloatArray:
        """The sampled returns in the window, oldest first, one column per series (`index`)."""
        return self.stats.rows()

    def view(self) -> CovarianceView:
        """The window's covariances, computed once per sample however many readers ask (read-only)."""
        if "window" not in self._views:
            self._views["window"] = CovarianceView(self.index, read_only(self.stats.cov()), self.stats.count)
        view = self._views["window"]
        assert view is not None
        return view

    def fast_view(self) -> CovarianceView | None:
        if "fast" not in self._views:
            ready = self.fast.ready
            fast = CovarianceView(self.index, read_only(self.fast.cov()), self.fast.count) if ready else None
            self._views["fast"] = fast
        return self._views["fast"]

    @property
    def samples_per_year(self) -> float:
        return 365 * 86_400_000 / self.step_ms


def read_only(matrix: FloatArray) -> FloatArray:
    """A shared estimate no reader may change in place (numpy raises if one tries)."""
    matrix.flags.writeable = False
    return matrix
