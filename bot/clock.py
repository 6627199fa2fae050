"""Time: the wall clock (live, realtime paper) and the event-time clock (replay, fast paper).

Nothing else in hedgebot reads time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def observe(self, event_ts: int) -> None:
        """Tell the clock that an event stamped `event_ts` has been seen."""


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def observe(self, event_ts: int) -> None:
        """The wall clock does not follow events."""


class EventClock:
    """Event time: now is the latest event's timestamp, never going backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def observe(self, event_ts: int) -> None:
        self._now = max(self._now, event_ts)
