"""Glue between the price stream and the policies: sample returns each step, keep windowed covariances.

Series are named by symbol: spot pairs of the holdings and the hedge instruments.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import Symbol
from bot.hedge.ewm import EwmStats
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

    def on_price(self, ts: int, symbol: Symbol, price: float) -> None:
        if symbol in self.index:
            self.sampler.on_price(ts, symbol, price)

    def due(self, now: int) -> bool:
        """True once per sampling step: at the first call at or after each step boundary."""
        boundary = now - now % self.step_ms
        if self._next_sample_ts is None or now >= self._next_sample_ts:
            self._next_sample_ts = boundary + self.step_ms
            return True
        return False

    def sample(self, now: int) -> bool:
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

    def view(self) -> CovarianceView:
        return CovarianceView(self.index, self.stats.cov(), self.stats.count)

    def fast_view(self) -> CovarianceView | None:
        if not self.fast.ready:
            return None
        return CovarianceView(self.index, self.fast.cov(), self.fast.count)

    @property
    def samples_per_year(self) -> float:
        return 365 * 86_400_000 / self.step_ms
