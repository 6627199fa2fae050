"""Execution quality per parent: arrival price, average fill, slippage in bps, fees, duration. Pure.

A record opens when a parent starts (its arrival price is the mark then), takes each of the parent's fills
once, and closes when the parent ends (done, stopped, or replaced by a new target). The engine keeps one
`QualityLedger`; fills are routed to their parent by (decision id, symbol), which the order request carries,
so a fill of a replaced parent still counts against the parent that sent it. Close a parent's record once
it has ended and none of its orders is open any more; a fill for a closed record is reported as unrouted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain import DecisionId, Fill, Side, Symbol, TradeId
from bot.money import fee_in_quote, slippage_bps


@dataclass(frozen=True, slots=True)
class ExecutionQuality:
    decision_id: DecisionId
    symbol: Symbol
    side: Side  # the direction of the parent's change
    arrival_price: float  # the mark when the parent started
    start_ts: int
    planned_qty: float  # contracts (signed) the parent set out to trade
    filled_qty: float = 0.0  # signed
    filled_value: float = 0.0  # Σ |qty| × price: the average fill is filled_value / |filled_qty|
    fees: float = 0.0  # quote currency, positive = paid
    fills: int = 0
    last_fill_ts: int | None = None
    end_ts: int | None = None
    outcome: str = ""  # done | stopped | replaced | ...
    trade_ids: frozenset[TradeId] = frozenset()

    @property
    def average_price(self) -> float | None:
        return self.filled_value / abs(self.filled_qty) if self.filled_qty else None

    @property
    def slippage_bps(self) -> float | None:
        """Average fill against the arrival price, positive when it cost; None before any fill."""
        average = self.average_price
        if average is None or self.arrival_price <= 0:
            return None
        return slippage_bps(self.side, self.arrival_price, average)

    @property
    def duration_ms(self) -> int | None:
        """From the start to the close (or to the last fill while still open)."""
        end = self.end_ts if self.end_ts is not None else self.last_fill_ts
        return None if end is None else end - self.start_ts

    @property
    def fill_ratio(self) -> float:
        return abs(self.filled_qty) / abs(self.planned_qty) if self.planned_qty else 0.0

    def with_fill(self, fill: Fill, quote: str) -> ExecutionQuality:
        """Count `fill` (once per trade id)."""
        if fill.trade_id in self.trade_ids:
            return self
        return replace(
            self,
            filled_qty=self.filled_qty + fill.signed_qty,
            filled_value=self.filled_value + fill.qty * fill.price,
            fees=self.fees + fee_in_quote(fill, quote),
            fills=self.fills + 1,
            last_fill_ts=fill.ts if self.last_fill_ts is None else max(self.last_fill_ts, fill.ts),
            trade_ids=self.trade_ids | {fill.trade_id},
        )

    def closed(self, now: int, outcome: str) -> ExecutionQuality:
        return replace(self, end_ts=now, outcome=outcome)

    def as_record(self) -> dict[str, float | int | str | None]:
        """Plain values for the journal and reports."""
        return {
            "decision_id": self.decision_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "arrival_price": self.arrival_price,
            "average_price": self.average_price,
            "planned_qty": self.planned_qty,
            "filled_qty": self.filled_qty,
            "slippage_bps": self.slippage_bps,
            "fees": self.fees,
            "fills": self.fills,
            "start_ts": self.start_ts,
            "end_ts": self.end_ts,
            "duration_ms": self.duration_ms,
            "outcome": self.outcome,
        }


def open_quality(
    decision_id: DecisionId, symbol: Symbol, arrival_price: float, position: float, target_qty: float, now: int
) -> ExecutionQuality:
    planned = target_qty - position
    return ExecutionQuality(decision_id, symbol, Side.of(planned), arrival_price, now, planned)


class QualityLedger:
    """Open execution-quality records by (decision id, symbol); closing one hands it back for the journal."""

    def __init__(self, quote: str) -> None:
        self.quote = quote
        self._open: dict[tuple[DecisionId, Symbol], ExecutionQuality] = {}

    def open(self, record: ExecutionQuality) -> None:
        self._open[(record.decision_id, record.symbol)] = record

    def get(self, decision_id: DecisionId, symbol: Symbol) -> ExecutionQuality | None:
        return self._open.get((decision_id, symbol))

    def fill(self, decision_id: DecisionId, fill: Fill) -> ExecutionQuality | None:
        """Count a fill of the parent `decision_id` sent; None when that parent's record is not open."""
        key = (decision_id, fill.symbol)
        record = self._open.get(key)
        if record is None:
            return None
        record = record.with_fill(fill, self.quote)
        self._open[key] = record
        return record

    def close(self, decision_id: DecisionId, symbol: Symbol, now: int, outcome: str) -> ExecutionQuality | None:
        record = self._open.pop((decision_id, symbol), None)
        return None if record is None else record.closed(now, outcome)
