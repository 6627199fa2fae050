"""An order as the journal knows it: the value the core's reconciliation planning reads. Pure.

The SQLite journal (`bot.store.journal`) writes and reads these; the core imports only this value, never the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import OrderRequest, OrderStatus


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """An order as the journal knows it."""

    request: OrderRequest
    status: OrderStatus
    filled_qty: float
    avg_price: float
    exchange_id: str
    created_ts: int
    updated_ts: int
