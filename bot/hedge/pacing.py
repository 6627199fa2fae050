"""A cooldown and an hourly cap on rebalances, so that triggers cannot churn the book. Pure: times passed in."""

from __future__ import annotations

from collections import deque

from bot.domain import MS_PER_HOUR


class RebalancePacer:
    def __init__(self, cooldown_ms: int, max_per_hour: int) -> None:
        self.cooldown_ms = cooldown_ms
        self.max_per_hour = max_per_hour
        self._recent: deque[int] = deque()  # rebalances in the last hour
        self._last: int | None = None  # the last rebalance, however long ago (the cooldown may exceed an hour)

    def blocked_reason(self, now: int) -> str | None:
        """Why a rebalance may not happen now, or None when it may."""
        while self._recent and self._recent[0] <= now - MS_PER_HOUR:
            self._recent.popleft()
        if self._last is not None and now - self._last < self.cooldown_ms:
            wait = (self.cooldown_ms - (now - self._last)) / 1000
            return f"cooldown: last rebalance {(now - self._last) / 1000:.0f}s ago, {wait:.0f}s to go"
        if len(self._recent) >= self.max_per_hour:
            return f"hourly cap: {len(self._recent)} rebalances in the last hour (max {self.max_per_hour})"
        return None

    def record(self, now: int) -> None:
        self._recent.append(now)
        self._last = now
