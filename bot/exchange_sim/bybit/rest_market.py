"""Bybit v5 public market REST over the simulator's core: instruments, tickers, klines, funding, order book.

Klines and funding history come from the Binance dialect's handlers (bot/exchange_sim/rest_market.py) with the
parameters translated, so both dialects answer from the same candles and the same funding settlements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.exchange_sim import rest_market as binance
from bot.exchange_sim.bybit import payloads
from bot.exchange_sim.bybit.errors import params_error
from bot.exchange_sim.bybit.ids import LINEAR, by_bybit_id, bybit_id
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.exchange import SimExchange

Params = Mapping[str, str]
Result = dict[str, Any]
# Bybit's kline intervals (minutes, D, W, M) → Binance's
_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h", "240": "4h",
              "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M"}  # fmt: skip


def contract_param(ex: SimExchange, params: Params, *, required: bool = True) -> Contract | None:
    symbol_id = params.get("symbol", "")
    if not symbol_id:
        if required:
            raise params_error("params error: symbol is required")
        return None
    contract = by_bybit_id(ex.catalog, symbol_id)
    if contract is None:
        raise params_error("params error: symbol invalid")
    return contract


def _linear(params: Params) -> bool:
    category = params.get("category", "")
    if not category:
        raise params_error("params error: category is required")
    return category == LINEAR


def _chosen(ex: SimExchange, params: Params) -> list[Contract]:
    one = contract_param(ex, params, required=False)
    return [one] if one is not None else ex.catalog.trading(ex.now_ms)


def instruments_info(ex: SimExchange, params: Params) -> Result:
    category = params.get("category", "")
    listed = _linear(params) and params.get("status", "Trading") == "Trading"
    rows = [payloads.instrument(ex, c) for c in _chosen(ex, params)] if listed else []
    return {"category": category, "list": rows, "nextPageCursor": ""}


def tickers(ex: SimExchange, params: Params) -> Result:
    rows = [payloads.ticker(ex, c) for c in _chosen(ex, params)] if _linear(params) else []
    return {"category": params["category"], "list": rows}


def _binance_window(params: Params, limit_max: int) -> dict[str, str]:
    """Bybit's start/end (or startTime/endTime) and limit as the Binance handlers' parameters."""
    window = {"startTime": params.get("start") or params.get("startTime", ""),
              "endTime": params.get("end") or params.get("endTime", "")}  # fmt: skip
    limit = params.get("limit", "")
    if limit:
        if not limit.isdigit() or not 1 <= int(limit) <= limit_max:
            raise params_error("params error: limit invalid")
        window["limit"] = limit
    return {k: v for k, v in window.items() if v}


def _candles(ex: SimExchange, params: Params, handler: Any, columns: int) -> Result:
    contract = contract_param(ex, params)
    assert contract is not None
    interval = _INTERVALS.get(params.get("interval", ""))
    if interval is None:
        raise params_error("params error: invalid interval")
    query = {"symbol": contract.id, "interval": interval, "limit": "200", **_binance_window(params, 1000)}
    rows = handler(ex, query)
    # Binance's row: open time, o, h, l, c, volume, close time, quote volume; Bybit's: newest first
    shaped = [[str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7]][:columns] for r in rows]
    return {"category": params.get("category", LINEAR), "symbol": bybit_id(contract), "list": shaped[::-1]}


def kline(ex: SimExchange, params: Params) -> Result:
    return _candles(ex, params, binance.klines, 7)


def price_kline(ex: SimExchange, params: Params) -> Result:
    """mark-price-kline and index-price-kline: the mark's candles stand for both, as in the Binance dialect."""
    return _candles(ex, params, binance.price_klines, 5)


def funding_history(ex: SimExchange, params: Params) -> Result:
    contract = contract_param(ex, params)
    assert contract is not None
    query = {"symbol": contract.id, "limit": "200", **_binance_window(params, 200)}
    answer = binance.funding_rate(ex, query)
    rows: list[dict[str, Any]] = answer if isinstance(answer, list) else [answer]
    shaped = [{"symbol": bybit_id(contract), "fundingRate": r["fundingRate"],
               "fundingRateTimestamp": str(r["fundingTime"])} for r in rows]  # fmt: skip
    return {"category": params.get("category", LINEAR), "list": shaped[::-1]}


def orderbook(ex: SimExchange, params: Params) -> Result:
    contract = contract_param(ex, params)
    assert contract is not None
    limit = int(params.get("limit") or 25)
    bids, asks = ex.public.levels(contract)
    return {
        "s": bybit_id(contract),
        "b": [[p, q] for p, q in bids.items()][:limit],
        "a": [[p, q] for p, q in asks.items()][:limit],
        "ts": ex.now_ms,
        "u": ex.public.stamp_depth(contract),
        "seq": ex.public.stamp_depth(contract),
        "cts": ex.now_ms,
    }
