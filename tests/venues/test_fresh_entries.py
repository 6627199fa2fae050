"""Which entries of ccxt's websocket caches are unread: ccxt updates an order it already holds in place."""

from __future__ import annotations

from typing import Any

from ccxt.async_support.base.ws.cache import ArrayCacheBySymbolById

from bot.venues.ccxt_client import FreshEntries


def _order(status: str, filled: float) -> dict[str, Any]:
    return {"id": "7", "symbol": "ETH/USDT:USDT", "status": status, "filled": filled, "clientOrderId": "hb-1"}


def _fresh(reader: FreshEntries, cache: ArrayCacheBySymbolById) -> list[dict[str, Any]]:
    return [entry for _, entry in reader.fresh("orders", ((None, order) for order in cache))]


def test_an_order_updated_in_place_by_ccxt_after_it_was_read_is_read_again() -> None:
    cache, reader = ArrayCacheBySymbolById(), FreshEntries()
    cache.append(_order("open", 0.0))
    assert [o["status"] for o in _fresh(reader, cache)] == ["open"]
    cache.append(_order("closed", 3.997))  # ccxt updates the entry it holds: the same object, a new status
    assert [o["status"] for o in _fresh(reader, cache)] == ["closed"]


def test_an_entry_read_and_unchanged_is_not_read_again() -> None:
    cache, reader = ArrayCacheBySymbolById(), FreshEntries()
    cache.append(_order("open", 0.0))
    _fresh(reader, cache)
    assert _fresh(reader, cache) == []
