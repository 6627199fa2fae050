"""What execution asks the shell to do or to record: the engine's actions that concern orders. Values only."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import ClientOrderId, OrderRequest, Symbol
from bot.execution.quality import ExecutionQuality
from bot.execution.roll_plan import RollState


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    request: OrderRequest
    parent_reason: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_id: ClientOrderId
    symbol: Symbol
    reason: str


@dataclass(frozen=True, slots=True)
class ClipHeld:
    """A due clip that the limits shrank or held back, and why."""

    ts: int
    symbol: Symbol
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParentClosed:
    """A parent ended (done, stopped or replaced) and none of its orders is open: its execution quality."""

    quality: ExecutionQuality


@dataclass(frozen=True, slots=True)
class RollChanged:
    """A roll started, moved a pair or finished: its state, to journal (a restart resumes from it)."""

    ts: int
    leg: Symbol
    state: RollState
    event: str  # started | pair | finished


ExecutionAction = PlaceOrder | CancelOrder | ClipHeld | ParentClosed | RollChanged
