"""What hedgebot prints for people: one short line per hedge action, and the run summary."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import OrderRequest, OrderUpdate
from bot.execution.ids import decision_label


def utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def order_line(ts_ms: int, request: OrderRequest, update: OrderUpdate, reason: str) -> str:
    outcome = f"filled {update.filled_qty:g} @ {update.avg_price:,.6g}" if update.filled_qty else update.status.value
    if update.reason:
        outcome += f" ({update.reason})"
    return (
        f"{utc(ts_ms)}  {request.side.value.upper():4} {request.qty:g} {request.symbol}  {outcome}"
        f"  [clip {request.clip_no} of {decision_label(request.decision_id)}; {reason}]"
    )
