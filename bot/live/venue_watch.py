"""A venue that is down holds only its own legs (`[venues]`): the watch the daemon runs on every tick. Shell.

A member of the venue set is down while its REST fails (a read, a create or its reconciliation: `VenueSet.down`,
lifted by a reconciliation of it that succeeds) or its user stream has been down longer than the grace a
reconnect takes (fills there are not heard). Its legs are then held (positions kept, no order sent there, the
other legs take over: bot.hedge.venue_holds) and a `venue_down` alert names it; the other venues trade on. When it
is back, its legs trade again and an alert says so.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.engine import Engine, RiskNotice
from bot.domain import Symbol, utc_time
from bot.venues.venue_set import VenueSet

Alert = Callable[[str, str, str, str], None]  # kind, key, message, severity


class VenueWatch:
    def __init__(self, venues: VenueSet, grace_ms: int) -> None:
        self.venues = venues
        self.grace_ms = grace_ms
        self.held: dict[str, str] = {}  # venue id -> why its legs are held

    def down(self, now: int) -> dict[str, str]:
        """The venues that are down now, with why."""
        found = {venue_id: why for venue_id, (_since, why) in self.venues.down.items()}
        for venue_id, member in self.venues.members.items():
            outage: Callable[[], tuple[int, str] | None] | None = getattr(member, "user_stream_down", None)
            gone = outage() if outage is not None else None
            if gone is not None and now - gone[0] >= self.grace_ms and venue_id not in found:
                found[venue_id] = f"user stream down since {utc_time(gone[0])} ({gone[1] or 'not connected'})"
        return found

    def check(self, engine: Engine, now: int, alert: Alert) -> list[RiskNotice]:
        """Hold the legs of the venues that went down, release those of the venues that came back; the notices
        to act on (journaled in the log, alerted)."""
        down = self.down(now)
        notices: list[RiskNotice] = []
        for venue_id, why in down.items():
            if venue_id not in self.held:
                legs = ", ".join(self.venues.routes.legs_on(venue_id)) or "none"
                message = f"venue {venue_id} down ({why}): its legs ({legs}) held, positions kept; the others trade on"
                notices.append(RiskNotice(now, "venue_down", venue_id, message))
        for venue_id in self.held.keys() - down.keys():
            alert("venue_down", f"{venue_id} back", f"venue {venue_id} is back: its legs trade again", "info")
        self.held = down
        engine.hold_venue_legs(
            {
                Symbol(leg): f"venue {venue_id} down: {why}"
                for venue_id, why in down.items()
                for leg in self.venues.routes.legs_on(venue_id)
            }
        )
        return notices

    def status(self) -> dict[str, str]:
        return dict(self.held)
