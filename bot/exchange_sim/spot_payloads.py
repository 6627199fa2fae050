"""Binance spot (`/api/v3`) JSON payloads built from the simulator's spot market and wallets. Pure.

Field names and string-formatted numbers follow Binance's spot API, limited to what a client reads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.exchange_sim.candles import Candle
from bot.exchange_sim.spot import SpotMarket, SpotPair

Json = dict[str, Any]
_DAY_MS = 86_400_000


def _step(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


def symbol_info(pair: SpotPair) -> Json:
    ins = pair.instrument
    return {
        "symbol": pair.id, "status": "TRADING", "baseAsset": pair.base, "baseAssetPrecision": 8,
        "quoteAsset": pair.quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": False,
        "ocoAllowed": False, "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False,
        "cancelReplaceAllowed": False, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": _step(ins.tick_size), "maxPrice": "1000000.00000000",
             "tickSize": _step(ins.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": _step(ins.min_qty), "maxQty": "9000000.00000000",
             "stepSize": _step(ins.lot_step)},
            {"filterType": "NOTIONAL", "minNotional": _step(ins.min_notional), "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }  # fmt: skip


def exchange_info(spot: SpotMarket, server_time_ms: int) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(pair) for pair in spot.listed()],
    }


def _day(spot: SpotMarket, pair: SpotPair) -> tuple[float, Candle | None]:
    now = spot.now_ms
    return spot.price(pair) or 0.0, spot.candles(pair).window(now - _DAY_MS, now)


def ticker_24h(spot: SpotMarket, pair: SpotPair) -> Json:
    last, day = _day(spot, pair)
    open_, high, low = (day.open, day.high, day.low) if day else (last, last, last)
    top = spot.top(pair)
    px, qty = pair.px, pair.qty
    return {
        "symbol": pair.id, "priceChange": px(last - open_),
        "priceChangePercent": f"{((last - open_) / open_ * 100) if open_ else 0.0:.3f}",
        "weightedAvgPrice": px(last), "prevClosePrice": px(open_), "lastPrice": px(last), "lastQty": "0",
        "bidPrice": px(top.bid if top else 0.0), "bidQty": qty(top.bid_size if top else 0.0),
        "askPrice": px(top.ask if top else 0.0), "askQty": qty(top.ask_size if top else 0.0),
        "openPrice": px(open_), "highPrice": px(high), "lowPrice": px(low), "volume": qty(day.volume if day else 0),
        "quoteVolume": f"{day.quote_volume if day else 0.0:.8f}", "openTime": day.open_ms if day else spot.now_ms,
        "closeTime": spot.now_ms, "firstId": -1, "lastId": -1, "count": day.trades if day else 0,
    }  # fmt: skip


def book_ticker(spot: SpotMarket, pair: SpotPair, update_id: int) -> Json | None:
    """The REST row and the stream event alike (Binance's spot bookTicker event has no event type)."""
    top = spot.top(pair)
    if top is None:
        return None
    return {"u": update_id, "s": pair.id, "b": pair.px(top.bid), "B": pair.qty(top.bid_size),
            "a": pair.px(top.ask), "A": pair.qty(top.ask_size)}  # fmt: skip


def mini_ticker(spot: SpotMarket, pair: SpotPair) -> Json | None:
    if spot.price(pair) is None:
        return None
    day = ticker_24h(spot, pair)
    return {"e": "24hrMiniTicker", "E": spot.now_ms, "s": pair.id, "c": day["lastPrice"], "o": day["openPrice"],
            "h": day["highPrice"], "l": day["lowPrice"], "v": day["volume"], "q": day["quoteVolume"]}  # fmt: skip


def full_ticker(spot: SpotMarket, pair: SpotPair) -> Json | None:
    if spot.price(pair) is None:
        return None
    d = ticker_24h(spot, pair)
    return {
        "e": "24hrTicker", "E": spot.now_ms, "s": pair.id, "p": d["priceChange"], "P": d["priceChangePercent"],
        "w": d["weightedAvgPrice"], "x": d["prevClosePrice"], "c": d["lastPrice"], "Q": "0", "b": d["bidPrice"],
        "B": d["bidQty"], "a": d["askPrice"], "A": d["askQty"], "o": d["openPrice"], "h": d["highPrice"],
        "l": d["lowPrice"], "v": d["volume"], "q": d["quoteVolume"], "O": d["openTime"], "C": d["closeTime"],
        "F": -1, "L": -1, "n": d["count"],
    }  # fmt: skip


def kline_row(pair: SpotPair, k: Candle, step_ms: int) -> list[Any]:
    px = pair.px
    return [k.open_ms, px(k.open), px(k.high), px(k.low), px(k.close), pair.qty(k.volume), k.open_ms + step_ms - 1,
            f"{k.quote_volume:.8f}", k.trades, "0", "0", "0"]  # fmt: skip


def kline_event(pair: SpotPair, k: Candle, interval: str, step_ms: int, now_ms: int) -> Json:
    row = kline_row(pair, k, step_ms)
    body = {"t": row[0], "T": row[6], "s": pair.id, "i": interval, "f": -1, "L": -1, "o": row[1], "c": row[4],
            "h": row[2], "l": row[3], "v": row[5], "n": row[8], "x": False, "q": row[7], "V": "0", "Q": "0",
            "B": "0"}  # fmt: skip
    return {"e": "kline", "E": now_ms, "s": pair.id, "k": body}


def _amount(value: Decimal) -> str:
    return f"{value:.8f}"


def account(balances: dict[str, Decimal], now_ms: int, fee_bps: float) -> Json:
    """GET /api/v3/account: the spot ('MAIN') wallet's balances, nothing locked (the spot API places no orders)."""
    fee = f"{fee_bps / 10_000:.8f}"
    return {
        "makerCommission": int(fee_bps), "takerCommission": int(fee_bps), "buyerCommission": 0,
        "sellerCommission": 0, "commissionRates": {"maker": fee, "taker": fee, "buyer": "0.00000000",
                                                   "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now_ms, "accountType": "SPOT",
        "balances": [{"asset": a, "free": _amount(v), "locked": "0.00000000"} for a, v in sorted(balances.items())],
        "permissions": ["SPOT"], "uid": 1,
    }  # fmt: skip


def account_position(changed: dict[str, Decimal], now_ms: int) -> Json:
    """The spot user stream's `outboundAccountPosition`: the balances that changed."""
    rows = [{"a": a, "f": _amount(v), "l": "0.00000000"} for a, v in sorted(changed.items())]
    return {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms, "B": rows}


def balance_events(changed: dict[str, Decimal], before: dict[str, Decimal], now_ms: int) -> list[Json]:
    """What the spot user stream says of balances changed from outside (deposit, withdrawal, transfer): a
    `balanceUpdate` (the delta) per asset, then one `outboundAccountPosition` with the new balances. In that
    order: ccxt adds a delta to the balance it holds, and the position that follows sets it exactly."""
    updates = [{"e": "balanceUpdate", "E": now_ms, "a": a, "d": _amount(v - before.get(a, Decimal(0))), "T": now_ms}
               for a, v in sorted(changed.items())]  # fmt: skip
    return [*updates, account_position(changed, now_ms)]


def funding_assets(balances: dict[str, Decimal]) -> list[Json]:
    """POST /sapi/v1/asset/get-funding-asset: the funding wallet's balances, nothing frozen or withdrawing."""
    zero = _amount(Decimal(0))
    return [{"asset": a, "free": _amount(v), "locked": zero, "freeze": zero, "withdrawing": zero,
             "btcValuation": "0"} for a, v in sorted(balances.items())]  # fmt: skip
