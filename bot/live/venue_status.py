"""Hedge legs on several venues (`[venues]`): exposure, collateral and buffer per venue, for `ctl status`. Shell.

Each venue liquidates on its own account, so each has its own buffer: the adverse move of its legs' prices that
its equity survives (bot.risk.collateral, the same book the ladder reads), from its own latest snapshot revalued
at the marks now.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bot.domain import AccountSnapshot
from bot.live.venue_watch import VenueWatch
from bot.money import book_notional
from bot.risk.collateral import book_of
from bot.risk.marking import marked_account
from bot.venues.venue_set import VenueSet

if TYPE_CHECKING:  # read only
    from bot.core.engine import Engine


def venues_status(
    engine: Engine, venues: VenueSet, watch: VenueWatch | None, account: AccountSnapshot | None = None
) -> dict[str, Any]:
    """Per venue id: up or down (and why), its legs, positions, hedge notional, equity and buffer."""
    held = watch.held if watch is not None else {}
    held = {**{v: f"prices stale ({why})" for v, why in engine.venues_stale.items()}, **held}  # same hold, shown down
    now_parts = _now_parts(venues, account)
    out: dict[str, Any] = {}
    for venue_id, member in venues.members.items():
        positions = {s: q for s, q in engine.positions.items() if q and venues.routes.venue_of(s) == venue_id}
        snapshot = now_parts.get(venue_id) or venues.snapshots.get(venue_id)
        equity = buffer = None
        if snapshot is not None:
            marked = marked_account(snapshot, engine.prices, engine.instruments, engine.now)
            equity = round(marked.equity, 2)
            found = book_of(marked, engine.prices, engine.instruments).buffer(marked.equity)
            buffer = None if found is None or not math.isfinite(found) else round(found, 4)
        out[venue_id] = {
            "exchange": member.name,
            "state": "down" if venue_id in held else "up",
            "reason": held.get(venue_id, ""),
            "legs": list(venues.routes.legs_on(venue_id)),
            "positions": positions,
            "notional": round(book_notional(positions, engine.instruments, engine.prices).net, 2),
            "equity": equity,
            "account_ts": None if snapshot is None else snapshot.ts,
            "buffer": buffer,
        }
    return out


def _now_parts(venues: VenueSet, account: AccountSnapshot | None) -> dict[str, AccountSnapshot]:
    """Paper members' accounts as they stand now (the daemon passes the merged `account_now` then)."""
    if account is None:
        return {}
    reader = {i: getattr(v, "account_now", None) for i, v in venues.members.items()}
    return {i: read() for i, read in reader.items() if callable(read)}
