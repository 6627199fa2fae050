"""The order lifecycle: an explicit transition table, fills deduplicated by trade id. Pure.

new → submitted → accepted → partially filled → filled / cancelled / rejected / expired.
Any status may also be reported directly after `submitted` (a market order is often filled in its first
answer). Repeating the current status is allowed (idempotent reports); anything else not in the table is
an `IllegalTransition`, which the caller logs and does not apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from bot.domain import ClientOrderId, Fill, OrderRequest, OrderStatus, OrderUpdate, TradeId

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.CANCELLED, S.REJECTED}),  # cancelled: abandoned before it was sent
    S.SUBMITTED: frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


class IllegalTransition(ValueError):
    """A status report that the lifecycle does not allow (e.g. filled → accepted)."""


def check_transition(old: OrderStatus, new: OrderStatus) -> None:
    if new != old and new not in TRANSITIONS[old]:
        raise IllegalTransition(f"order status cannot go from {old} to {new}")


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    request: OrderRequest
    status: OrderStatus = OrderStatus.NEW
    reported_qty: float = 0.0  # cumulative filled quantity the venue last reported on the order
    fills_qty: float = 0.0  # sum of the distinct fills seen
    trade_ids: frozenset[TradeId] = field(default_factory=frozenset)

    @property
    def filled_qty(self) -> float:
        """Venues report both a cumulative quantity and the fills; either may arrive first."""
        return max(self.reported_qty, self.fills_qty)

    @property
    def remaining(self) -> float:
        """Signed contracts still to fill while the order can fill; zero once it is final."""
        if self.status.is_final:
            return 0.0
        return self.request.side.sign * max(self.request.qty - self.filled_qty, 0.0)


class OrderTracker:
    """Our orders by client id, moved only along the transition table."""

    def __init__(self) -> None:
        self._orders: dict[ClientOrderId, TrackedOrder] = {}

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._orders

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter(self._orders.values())

    def get(self, client_id: ClientOrderId) -> TrackedOrder | None:
        return self._orders.get(client_id)

    def add(self, request: OrderRequest) -> TrackedOrder:
        if request.client_id in self._orders:
            raise IllegalTransition(f"client order id {request.client_id} is already in use")
        order = TrackedOrder(request)
        self._orders[request.client_id] = order
        return order

    def adopt(self, request: OrderRequest, update: OrderUpdate) -> TrackedOrder:
        """Track an order reconciliation found at the venue, at the status the venue reports.

        After a restart the tracker is empty and the order may be anywhere in its life already, so a new entry
        starts at the venue's status. Adopting an order already tracked is an ordinary update along the table
        (so adopting twice changes nothing); it raises IllegalTransition like `update`.
        """
        if update.client_id != request.client_id or update.symbol != request.symbol:
            raise ValueError(f"update for {update.client_id} on {update.symbol} is not about {request.client_id}")
        existing = self._orders.get(request.client_id)
        if existing is not None:
            updated = self.update(update)
            assert updated is not None  # the order is tracked
            return updated
        order = TrackedOrder(request, status=update.status, reported_qty=update.filled_qty)
        self._orders[request.client_id] = order
        return order

    def open_orders(self) -> list[TrackedOrder]:
        return [order for order in self._orders.values() if order.status.is_open]

    def update(self, update: OrderUpdate) -> TrackedOrder | None:
        """Apply a status report; None for an order we do not know. Raises IllegalTransition."""
        order = self._orders.get(update.client_id)
        if order is None:
            return None
        check_transition(order.status, update.status)
        order = replace(order, status=update.status, reported_qty=max(order.reported_qty, update.filled_qty))
        self._orders[update.client_id] = order
        return order

    def fill(self, fill: Fill) -> bool:
        """Count a fill once per trade id; False for a duplicate or an order we do not know."""
        order = self._orders.get(fill.client_id)
        if order is None or fill.trade_id in order.trade_ids:
            return False
        self._orders[fill.client_id] = replace(
            order, fills_qty=order.fills_qty + fill.qty, trade_ids=order.trade_ids | {fill.trade_id}
        )
        return True

    def forget_final(self) -> None:
        """Drop final orders (their history is in the journal) so the tracker stays small."""
        self._orders = {cid: order for cid, order in self._orders.items() if order.status.is_open}
