"""A time window of joint samples, oldest first, in a growable ring buffer.

The window at time t holds the samples with timestamps in (t − window_ms, t], as pandas' rolling('30D')
does. Samples only enter at the newest end and leave at the oldest, so both are O(1); the buffer doubles
when a window holds more samples than ever before (amortised O(1)) and never shrinks, so its memory is
bounded by the densest window seen, not by the length of the stream.
"""

from __future__ import annotations

import numpy as np

from bot.hedge.moments import FloatArray, IntArray

_INITIAL_CAPACITY = 64


class SampleWindow:
    """The samples of n series inside a sliding time window. Timestamps never go backwards."""

    __slots__ = ("_head", "_now", "_pushed", "_rows", "_size", "_ts", "n", "window_ms")

    def __init__(self, n: int, window_ms: int) -> None:
        if n < 1:
            raise ValueError(f"n={n}: a window needs at least one series")
        if window_ms <= 0:
            raise ValueError(f"window_ms={window_ms}: a window must be a positive duration")
        self.n = n
        self.window_ms = window_ms
        self._ts: IntArray = np.zeros(_INITIAL_CAPACITY, dtype=np.int64)
        self._rows: FloatArray = np.zeros((_INITIAL_CAPACITY, n))
        self._head = 0  # buffer index of the oldest sample held
        self._size = 0
        self._pushed = 0  # samples ever pushed: the sequence number the next sample will get
        self._now: int | None = None  # the latest time seen, by push or expire

    def __len__(self) -> int:
        return self._size

    @property
    def now(self) -> int | None:
        return self._now

    @property
    def first_seq(self) -> int:
        """Sequence number (0, 1, 2 … in push order) of the oldest sample held; next_seq when empty."""
        return self._pushed - self._size

    @property
    def next_seq(self) -> int:
        return self._pushed

    def expire(self, ts: int) -> FloatArray:
        """Move the window's end to `ts`; remove and return (oldest first) the samples that left it."""
        self._advance_clock(ts)
        cutoff = ts - self.window_ms
        capacity = len(self._ts)
        leaving = 0
        while leaving < self._size and self._ts[(self._head + leaving) % capacity] <= cutoff:
            leaving += 1
        if leaving == 0:
            return np.empty((0, self.n))
        if self._head + leaving <= capacity:  # the usual case: no wrap, a plain slice
            gone = self._rows[self._head : self._head + leaving].copy()
        else:
            gone = self._rows[(self._head + np.arange(leaving)) % capacity]
        self._head = (self._head + leaving) % capacity
        self._size -= leaving
        return gone

    def push(self, ts: int, row: FloatArray) -> None:
        """Append a sample at `ts` (call `expire(ts)` first so the window ends at `ts`)."""
        self._advance_clock(ts)
        if self._size == len(self._ts):
            self._grow()
        slot = (self._head + self._size) % len(self._ts)
        self._ts[slot] = ts
        self._rows[slot] = row
        self._size += 1
        self._pushed += 1

    def rows(self) -> FloatArray:
        """The samples held, oldest first, as a (len, n) array (a copy)."""
        return self._rows[self._order()]

    def times(self) -> IntArray:
        return self._ts[self._order()]

    def _order(self) -> IntArray:
        return (self._head + np.arange(self._size, dtype=np.int64)) % len(self._ts)

    def _advance_clock(self, ts: int) -> None:
        if self._now is not None and ts < self._now:
            raise ValueError(f"ts={ts} is before the window's latest time {self._now}; time never goes back")
        self._now = ts

    def _grow(self) -> None:
        order = self._order()
        capacity = 2 * len(self._ts)
        ts = np.zeros(capacity, dtype=np.int64)
        rows = np.zeros((capacity, self.n))
        ts[: self._size] = self._ts[order]
        rows[: self._size] = self._rows[order]
        self._ts, self._rows, self._head = ts, rows, 0
