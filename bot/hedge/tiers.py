"""Volatility/correlation tiers: calm → small cover, stress → large cover, with hysteresis at the boundaries.

A tier is entered when the metric rises above its threshold, and left downwards only when the metric falls
below threshold × (1 − hysteresis), so a metric hovering at a boundary does not flap between tiers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tier:
    above: float  # the metric's threshold for this tier (the first tier's is usually 0)
    ratio: float  # the hedge ratio in this tier


@dataclass(frozen=True, slots=True)
class TierChange:
    old: int
    new: int
    metric: float


class TierSelector:
    def __init__(self, tiers: Sequence[Tier], hysteresis: float) -> None:
        if not tiers:
            raise ValueError("tiers: at least one tier is needed")
        thresholds = [tier.above for tier in tiers]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError(f"tiers: thresholds must rise strictly, got {thresholds}")
        if not 0 <= hysteresis < 1:
            raise ValueError(f"tiers: hysteresis must be in [0, 1), got {hysteresis}")
        self.tiers = tuple(tiers)
        self.hysteresis = hysteresis
        self.current = 0

    @property
    def ratio(self) -> float:
        return self.tiers[self.current].ratio

    def update(self, metric: float) -> TierChange | None:
        """Move to the tier the metric calls for; returns the change when the tier changed."""
        if not math.isfinite(metric):
            return None  # no estimate yet: keep the tier
        old = self.current
        while self.current + 1 < len(self.tiers) and metric > self.tiers[self.current + 1].above:
            self.current += 1
        while self.current > 0 and metric < self.tiers[self.current].above * (1 - self.hysteresis):
            self.current -= 1
        return TierChange(old, self.current, metric) if self.current != old else None
