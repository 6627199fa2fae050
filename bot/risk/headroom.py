"""How much hedge the collateral buffer allows: the cap on what a decision may add. Pure.

A collateral cut (`bot.risk.collateral`) restores the buffer to the top-up step + hysteresis; the trading state
goes back to active, and a decider left alone would add the hedge straight back at its next decision, taking
the buffer under the reduce step again: cut, re-add, cut (issue 15). So a decision may not add hedge beyond
the size at which the account's buffer is still `target` (the buffer a cut restores): its targets are scaled
down to that share, the cap named in its reason and its numbers (`buffer_cap`).

The cap only holds back adding. A leg the decider shrinks keeps the decider's target, and a leg already held
above its capped size stays where it is: cutting is the ladder's work, with its own steps and alerts. Trading at
the mark leaves equity unchanged (fees aside), so the buffer of the wanted book is measured at today's equity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.domain import AccountSnapshot, HedgeTarget, Instrument, Position, Symbol, round_to_step
from bot.risk.collateral import book_of


@dataclass(frozen=True, slots=True)
class HedgeCap:
    """The decider's targets as the buffer allows them: `share` of what it wanted (0 ≤ share < 1)."""

    targets: dict[Symbol, HedgeTarget]
    share: float
    target: float  # the buffer kept (fraction of the prices)

    @property
    def reason(self) -> str:
        return (
            f"capped at {self.share:.0%} of the target by the collateral buffer"
            f" (more hedge would bring liquidation closer than {self.target:.0%})"
        )


def room(
    snapshot: AccountSnapshot,
    positions: tuple[Position, ...],
    marks: Mapping[Symbol, float],
    instruments: Mapping[Symbol, Instrument],
    target: float,
) -> float:
    """The largest share in [0, 1] of `positions` the account (its equity as in `snapshot`) holds with a buffer of
    at least `target`. 0 with unreadable equity: nothing is added on a figure we cannot read."""
    if math.isnan(snapshot.equity):
        return 0.0
    book = book_of(replace(snapshot, positions=positions), marks, instruments)
    return 1.0 - book.cut(snapshot.equity, target)


def cap_targets(
    snapshot: AccountSnapshot,
    targets: Mapping[Symbol, HedgeTarget],
    held: Mapping[Symbol, float],
    marks: Mapping[Symbol, float],
    instruments: Mapping[Symbol, Instrument],
    target: float,
) -> HedgeCap | None:
    """`targets` (contracts per hedge leg) capped so the buffer stays at `target` or above; None when they fit as
    they are. `snapshot.positions` are the account's positions outside the legs (a leftover contract, rare): they
    count in the buffer and scale with the share, so the cap errs on the side of less hedge."""
    wanted = tuple(Position(symbol, t.qty) for symbol, t in targets.items() if t.qty)
    share = room(snapshot, (*snapshot.positions, *wanted), marks, instruments, target)
    if share >= 1.0:
        return None
    capped = {
        symbol: _capped(t, held.get(symbol, 0.0), share, instruments[symbol], marks[symbol])
        for symbol, t in targets.items()
    }
    if all(capped[symbol].qty == t.qty for symbol, t in targets.items()):
        return None
    return HedgeCap(capped, share, target)


def _capped(wanted: HedgeTarget, held: float, share: float, instrument: Instrument, mark: float) -> HedgeTarget:
    if abs(wanted.qty) <= abs(held) and wanted.qty * held >= 0:  # the decider shrinks this leg: not our business
        return wanted
    qty = round_to_step(wanted.qty * share, instrument.lot_step)
    if qty * held > 0 and abs(held) > abs(qty):  # already held beyond the cap: stay, the ladder cuts if need be
        qty = held
    return HedgeTarget(wanted.symbol, qty, instrument.notional(qty, mark), wanted.residual)
