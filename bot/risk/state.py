"""Trading state: active, reducing (only orders that reduce exposure or margin use), halted (only cancels).

One kind of order passes every state: a protective cut, a reduce-only order whose purpose is to keep the hedge
account from being liquidated (the collateral buffer's cut). `halted` stops everything that adds risk and every
ordinary reduction, never a protective cut: a hold placed for any other reason (a kill switch, a failed
reconciliation, a max-loss breach) must not turn a margin call into a liquidation.

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

    def allows(self, *, reduces: bool, protective: bool = False, roll_pair: bool = False) -> bool:
        """May an order go out? Reducing orders pass in REDUCING; in HALTED only cancels and protective cuts (a
        reduction whose purpose is to avoid liquidation) pass. No state forbids a protective cut. Both legs of a
        roll pair pass in REDUCING: the far leg adds what the near leg takes away, so the pair adds no exposure,
        and a roll held back would let the near contract expire with the hedge in it."""
        if reduces and protective:
            return True
        if roll_pair and self is TradingState.REDUCING:
            return True
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
        if source not in self._holds:  # nothing to lift (asked at every account evaluation): no state to compute
            return None
        before = self.state
        del self._holds[source]
        return self._changed(before, ts, f"{source}: {reason}")

    def _changed(self, before: TradingState, ts: int, reason: str) -> StateChanged | None:
        after = self.state
        return StateChanged(ts, before, after, reason) if after != before else None
