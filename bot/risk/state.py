"""Trading state: active, reducing (only orders that reduce exposure or margin use), halted (only cancels).

Several sources can restrict trading at once (the operator, a stale feed, max loss, the collateral buffer,
reconciliation). Each places or lifts its own hold; the effective state is the most restrictive hold in
force, so one source lifting its hold never overrides another's. Pure: times are passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TradingState(enum.IntEnum):
    """Ordered by severity, so the effective state is the maximum."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2

    def __str__(self) -> str:
        return self.name.lower()

    def allows(self, *, reduces: bool) -> bool:
        """May an order go out? Reducing orders pass in REDUCING; nothing but cancels passes in HALTED."""
        return self is TradingState.ACTIVE or (self is TradingState.REDUCING and reduces)


@dataclass(frozen=True, slots=True)
class Hold:
    source: str
    state: TradingState
    reason: str
    since_ts: int


@dataclass(frozen=True, slots=True)
class StateChanged:
    ts: int
    old: TradingState
    new: TradingState
    reason: str


class Governor:
    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}

    @property
    def state(self) -> TradingState:
        return max((hold.state for hold in self._holds.values()), default=TradingState.ACTIVE)

    @property
    def holds(self) -> tuple[Hold, ...]:
        return tuple(sorted(self._holds.values(), key=lambda h: (-h.state, h.source)))

    @property
    def reason(self) -> str:
        worst = self.holds
        return worst[0].reason if worst else ""

    def hold(self, source: str, state: TradingState, reason: str, ts: int) -> StateChanged | None:
        """Place or replace `source`'s hold; returns the change of effective state, if any."""
        before = self.state
        existing = self._holds.get(source)
        since = existing.since_ts if existing and existing.state == state else ts
        self._holds[source] = Hold(source, state, reason, since)
        return self._changed(before, ts, f"{source}: {reason}")

    def release(self, source: str, ts: int, reason: str = "cleared") -> StateChanged | None:
        before = self.state
        if self._holds.pop(source, None) is None:
            return None
        return self._changed(before, ts, f"{source}: {reason}")

    def _changed(self, before: TradingState, ts: int, reason: str) -> StateChanged | None:
        after = self.state
        return StateChanged(ts, before, after, reason) if after != before else None
