"""The Venue protocol: what the engine needs from anything it trades with (paper, ccxt, simulator)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    Instrument,
    MarketEvent,
    OrderRequest,
    OrderUpdate,
    Symbol,
    TradeId,
    VenueEvent,
)

# A venue's stream, (re)connecting, re-reads the fills of this long before the last one it saw (from now, on its
# first connection): a fill in the gap before it was live is never missed. Reconciliation reads at least as far
# back, so every fill a re-sync hands over is one the journal already holds (or one newer than the survey).
RESYNC_FILLS_LOOKBACK_MS = 60_000


class Venue(Protocol):
    """An account at an exchange (or a simulation of one).

    Requests raise the kinds in `bot.execution.venue_errors`. Asynchronous happenings (fills, order updates, funding,
    account snapshots) are collected by the venue and handed over by `drain()`, in the order they happened.
    """

    name: str

    async def start(self) -> None:
        """Connect, authenticate, set leverage and margin mode; raise Fatal if that is impossible."""

    async def close(self) -> None: ...

    async def load_instruments(self, symbols: Iterable[Symbol]) -> dict[Symbol, Instrument]:
        """Market definitions (steps, minimums, contract size) for the symbols we trade."""

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        """Send an order with its client order id; a timeout raises UnknownOutcome."""

    async def cancel_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate: ...

    async def fetch_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        """The venue's view of one order, by client order id; OrderNotFound if it never arrived."""

    async def fetch_open_orders(self) -> list[OrderUpdate]: ...

    async def fetch_fills(self, since_ms: int) -> list[Fill]:
        """Our executions since `since_ms` (for reconciliation after downtime)."""

    async def fetch_account(self) -> AccountSnapshot:
        """Balances, margin and positions of the hedge account."""

    def on_market(self, event: MarketEvent) -> None:
        """Market data the venue needs to see (the paper venue marks and matches on it; live ignores it)."""

    def drain(self) -> list[VenueEvent]:
        """Everything that happened since the last call: fills, order updates, funding, account snapshots."""


def fill_key(fill: Fill) -> TradeId:
    """The key that makes a fill unique across restarts (venue trade ids are unique per symbol)."""
    return TradeId(f"{fill.symbol}|{fill.trade_id}")
