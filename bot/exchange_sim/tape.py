"""The public trade tape of each contract: what /fapi/v1/trades, aggTrades and the trade streams report. Pure.

Binance's tape is every participant's trades. The simulator has one account, so the rest of the market is
represented by one print per price move of the contract (at the new price, a deterministic size, the taker
on the side of the move), and the account's own fills are printed as they happen. Trade ids count per
contract from 1, as Binance's do. Each print is its own aggregate trade (Binance aggregates the fills of one
taker order at one price; each print here is one). The tape keeps the latest `MAX_TRADES` prints.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_TRADES = 5_000


@dataclass(frozen=True, slots=True)
class PublicTrade:
    trade_id: int
    price: float
    qty: float
    quote_qty: float
    time_ms: int
    buyer_maker: bool  # Binance's `m`: the buyer was the maker, i.e. the taker sold


class TradeTape:
    def __init__(self) -> None:
        self._trades: deque[PublicTrade] = deque(maxlen=MAX_TRADES)
        self._unpublished: list[PublicTrade] = []
        self._next_id = 1

    def print(self, ts: int, price: float, qty: float, quote_qty: float, *, buyer_maker: bool) -> PublicTrade:
        trade = PublicTrade(self._next_id, price, qty, quote_qty, ts, buyer_maker)
        self._next_id += 1
        self._trades.append(trade)
        self._unpublished.append(trade)
        return trade

    @property
    def last(self) -> PublicTrade | None:
        return self._trades[-1] if self._trades else None

    def drain_unpublished(self) -> list[PublicTrade]:
        fresh, self._unpublished = self._unpublished, []
        return fresh

    def recent(self, limit: int) -> list[PublicTrade]:
        return list(self._trades)[-limit:] if limit > 0 else []

    def window(self, start_ms: int, end_ms: int) -> list[PublicTrade]:
        return [t for t in self._trades if start_ms <= t.time_ms <= end_ms]

    def select(self, from_id: int | None, start_ms: int | None, end_ms: int | None, limit: int) -> list[PublicTrade]:
        """aggTrades' selection: from an id onwards, or within [start, end] (oldest first), or the latest."""
        if from_id is not None:
            return [t for t in self._trades if t.trade_id >= from_id][:limit]
        if start_ms is not None or end_ms is not None:
            low, high = start_ms or 0, end_ms if end_ms is not None else 2**63
            return [t for t in self._trades if low <= t.time_ms <= high][:limit]
        return self.recent(limit)
