"""Bybit's names for the simulator's contracts, categories and enumerations. Pure.

Bybit v5 names a USDT perpetual like Binance (BTCUSDT) and a USDT-settled dated contract BTCUSDT-27MAR26; the
category of both is `linear`. Order sides, types, statuses and times in force are capitalised words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import Side
from bot.exchange_sim.catalog import Catalog, Contract

LINEAR = "linear"
CATEGORIES = frozenset({"linear", "inverse", "spot", "option"})
SIDE_OF = {"Buy": Side.BUY, "Sell": Side.SELL}
SIDE_NAME = {Side.BUY: "Buy", Side.SELL: "Sell"}
# the core's (Binance's) order statuses, as Bybit spells them
STATUS = {
    "NEW": "New",
    "PARTIALLY_FILLED": "PartiallyFilled",
    "FILLED": "Filled",
    "CANCELED": "Cancelled",
    "EXPIRED": "Cancelled",  # an IOC/market remainder: Bybit cancels it
}
TIME_IN_FORCE = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}
TIME_IN_FORCE_OF = {v: k for k, v in TIME_IN_FORCE.items()}


def bybit_id(contract: Contract) -> str:
    """BTCUSDT for a perpetual, BTCUSDT-27MAR26 for a dated contract."""
    if contract.is_perpetual:
        return contract.id
    day = datetime.fromtimestamp(contract.delivery_ms / 1000, tz=UTC)
    return f"{contract.pair}-{day:%d%b%y}".upper()


def contract_type(contract: Contract) -> str:
    return "LinearPerpetual" if contract.is_perpetual else "LinearFutures"


def by_bybit_id(catalog: Catalog, symbol_id: str) -> Contract | None:
    wanted = symbol_id.upper()
    return next((c for c in catalog.all() if bybit_id(c) == wanted), None)
