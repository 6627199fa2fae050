"""Binance spot REST handlers (`/api/v3/...`): market data of the spot pairs, and the account's balances. Pure.

Served: ping, time, exchangeInfo, ticker/24hr, ticker/price, ticker/bookTicker (by `symbol`, by `symbols` as a
JSON array, or all), klines, depth, and (signed) account. Which path needs which credential is `SPOT_ROUTES`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.exchange_sim import earn, errors, spot_payloads
from bot.exchange_sim.candles import INTERVALS_MS
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.orders import int_param
from bot.exchange_sim.spot import SpotMarket, SpotPair

Params = Mapping[str, str]
Answer = dict[str, Any] | list[Any]
_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)


@dataclass(frozen=True, slots=True)
class SpotView:
    """What the handlers read: the spot market, the spot wallet's balances, the request clock and the fee."""

    market: SpotMarket
    balances: Callable[[], dict[str, Decimal]]
    server_time_ms: int
    fee_bps: float


def _pair(view: SpotView, params: Params) -> SpotPair:
    symbol = params.get("symbol", "")
    if not symbol:
        raise errors.missing_parameter("symbol")
    pair = view.market.by_id(symbol)
    if pair is None:
        raise errors.invalid_symbol()
    return pair


def _one_or_many(view: SpotView, params: Params, row: Callable[[SpotPair], dict[str, Any] | None]) -> Answer:
    if params.get("symbol"):
        return row(_pair(view, params)) or {}
    listed = view.market.listed()
    if params.get("symbols"):
        try:
            wanted = json.loads(params["symbols"])
        except ValueError:
            raise errors.bad_parameter("symbols") from None
        if not isinstance(wanted, list):
            raise errors.bad_parameter("symbols")
        listed = [_pair(view, {"symbol": str(symbol)}) for symbol in wanted]
    return [r for pair in listed if view.market.price(pair) is not None and (r := row(pair)) is not None]


def ping(view: SpotView, params: Params) -> Answer:
    return {}


def server_time(view: SpotView, params: Params) -> Answer:
    return {"serverTime": view.server_time_ms}


def exchange_info(view: SpotView, params: Params) -> Answer:
    return spot_payloads.exchange_info(view.market, view.server_time_ms)


def ticker_24h(view: SpotView, params: Params) -> Answer:
    return _one_or_many(view, params, lambda pair: spot_payloads.ticker_24h(view.market, pair))


def ticker_price(view: SpotView, params: Params) -> Answer:
    def row(pair: SpotPair) -> dict[str, Any]:
        return {"symbol": pair.id, "price": pair.px(view.market.price(pair) or 0.0)}

    return _one_or_many(view, params, row)


def book_ticker(view: SpotView, params: Params) -> Answer:
    def row(pair: SpotPair) -> dict[str, Any] | None:
        event = spot_payloads.book_ticker(view.market, pair, view.market.update_id)
        if event is None:
            return None
        return {"symbol": pair.id, "bidPrice": event["b"], "bidQty": event["B"], "askPrice": event["a"],
                "askQty": event["A"]}  # fmt: skip

    return _one_or_many(view, params, row)


def klines(view: SpotView, params: Params) -> Answer:
    pair = _pair(view, params)
    interval = params.get("interval", "")
    if interval not in INTERVALS_MS:
        raise errors.bad_request(-1120, "Invalid interval.") if interval else errors.missing_parameter("interval")
    step = INTERVALS_MS[interval]
    limit = int_param(params, "limit", 500, 1000) or 500
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    candles = view.market.candles(pair).klines(step, start, end, limit)
    return [spot_payloads.kline_row(pair, k, step) for k in candles]


def depth(view: SpotView, params: Params) -> Answer:
    pair = _pair(view, params)
    limit = int_param(params, "limit", 100) or 100
    if limit not in _DEPTH_LIMITS:
        raise errors.bad_request(-1100, f"Illegal characters found in parameter 'limit'; legal: {_DEPTH_LIMITS}.")
    view.market.update_id += 1
    bids, asks = view.market.levels(pair)
    return {"lastUpdateId": view.market.update_id, "bids": [[p, q] for p, q in bids.items()][:limit],
            "asks": [[p, q] for p, q in asks.items()][:limit]}  # fmt: skip


def account(view: SpotView, params: Params) -> Answer:
    return spot_payloads.account(view.balances(), view.server_time_ms, view.fee_bps)


def funding_assets(ex: SimExchange, params: Params) -> Answer:
    """POST /sapi/v1/asset/get-funding-asset (signed, served with the futures API's sapi routes): the funding
    wallet's balances, one asset or all."""
    balances = ex.wallets.assets("FUNDING")
    wanted = params.get("asset", "").upper()
    return spot_payloads.funding_assets({a: v for a, v in balances.items() if not wanted or a == wanted})


def earn_flexible(ex: SimExchange, params: Params) -> Answer:
    """GET /sapi/v1/simple-earn/flexible/position (signed): the account's flexible Simple Earn positions."""
    return earn.flexible_rows(ex.earn, params)


def earn_locked(ex: SimExchange, params: Params) -> Answer:
    """GET /sapi/v1/simple-earn/locked/position (signed): the account's locked Simple Earn positions."""
    return earn.locked_rows(ex.earn, params)


Handler = Callable[[SpotView, Params], Answer]
SIGNED, PUBLIC = True, False
SPOT_ROUTES: dict[tuple[str, str], tuple[bool, Handler]] = {  # (method, path) -> (signed?, handler)
    ("GET", "/api/v3/ping"): (PUBLIC, ping),
    ("GET", "/api/v3/time"): (PUBLIC, server_time),
    ("GET", "/api/v3/exchangeInfo"): (PUBLIC, exchange_info),
    ("GET", "/api/v3/ticker/24hr"): (PUBLIC, ticker_24h),
    ("GET", "/api/v3/ticker/price"): (PUBLIC, ticker_price),
    ("GET", "/api/v3/ticker/bookTicker"): (PUBLIC, book_ticker),
    ("GET", "/api/v3/klines"): (PUBLIC, klines),
    ("GET", "/api/v3/uiKlines"): (PUBLIC, klines),
    ("GET", "/api/v3/depth"): (PUBLIC, depth),
    ("GET", "/api/v3/account"): (SIGNED, account),
}
