"""The simulator's records of orders and trades, as Binance keeps them (mutable order, immutable trade)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Side
from bot.exchange_sim.catalog import Contract

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


@dataclass(slots=True)
class SimOrder:
    order_id: int
    client_id: str
    contract: Contract
    side: Side
    order_type: str  # LIMIT | MARKET
    time_in_force: str  # GTC | IOC | FOK | GTX
    qty: float
    price: float  # 0 for market orders, as Binance reports them
    reduce_only: bool
    time_ms: int
    status: str = "NEW"  # NEW | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
    executed_qty: float = 0.0
    cum_quote: float = 0.0
    cum_base: float = 0.0  # Σ contracts × face / price: an inverse order's cost in the coin (COIN-M's cumBase)
    update_ms: int = 0
    orig_type: str = ""  # "LIQUIDATION" for the exchange's auto-close orders; else order_type

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> float:
        """The fills' average price: quantity-weighted for linear contracts; for inverse ones Binance's harmonic
        mean, contracts / Σ(contracts_i / price_i), the price at which the position's coin value is what it cost."""
        if not self.executed_qty:
            return 0.0
        size = self.executed_qty * self.contract.instrument.contract_size
        if self.contract.instrument.inverse:
            return size / self.cum_base
        return self.cum_quote / size

    @property
    def remaining(self) -> float:
        return max(0.0, round(self.qty - self.executed_qty, 12))

    def record_fill(self, qty: float, price: float, ts: int) -> None:
        self.executed_qty = round(self.executed_qty + qty, 12)
        self.cum_quote += qty * price * self.contract.instrument.contract_size
        self.cum_base += qty * self.contract.instrument.contract_size / price
        self.update_ms = ts
        self.status = "FILLED" if self.remaining <= 0 else "PARTIALLY_FILLED"


@dataclass(frozen=True, slots=True)
class SimTrade:
    trade_id: int
    order_id: int
    client_id: str
    contract: Contract
    side: Side
    price: float
    qty: float
    commission: float  # paid, positive
    realized_pnl: float
    maker: bool
    time_ms: int

    @property
    def quote_qty(self) -> float:
        return self.qty * self.price * self.contract.instrument.contract_size
