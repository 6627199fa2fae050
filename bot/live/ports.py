"""The narrow ports the order desk and the reconciler talk through, instead of holding a daemon.

The daemon implements `EventPath`; a test can give either part a small recording one. Each part also gets the
journal, the venue and a logger directly: what it needs, nothing it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.core.engine import Action, Engine
from bot.domain import VenueEvent

HumanLine = Callable[[str], None]  # one line for the operator's terminal


class EventPath(Protocol):
    """Where what the venue says goes (journal first, then the engine), and where actions are carried out."""

    def running_engine(self) -> Engine:
        """The engine, once the daemon has started."""
        ...

    async def apply_venue_event(self, event: VenueEvent) -> None: ...

    async def execute(self, now: int, action: Action) -> None: ...

    async def drain(self) -> None:
        """Apply what the venue has reported since the last drain."""
        ...

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None: ...

    def say(self, line: str) -> None:
        """A line for the operator's terminal."""
        ...
