"""Binance USDⓈ-M JSON payloads built from the simulator's state. Pure: values in, dicts out.

Field names and string-formatted numbers follow Binance's answers, limited to what a client reads
(see /work/shared/EXCHANGE-NOTES.md, "Payload fields ccxt reads").
"""

from __future__ import annotations

from typing import Any

from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.market import MarketState
from bot.exchange_sim.records import SimOrder, SimTrade

Json = dict[str, Any]  # a JSON object as Binance sends it
MAX_QTY_STEPS = 1_000_000  # LOT_SIZE maxQty = this many lot steps (1000 BTC, as Binance's BTCUSDT)
MAX_PRICE = 10_000_000


def money(value: float) -> str:
    return f"{value:.8f}"


def px(contract: Contract, value: float) -> str:
    return f"{value:.{contract.price_decimals}f}"


def avg_px(contract: Contract, value: float) -> str:
    """An average fill price: finer than the tick, as Binance reports it."""
    return f"{value:.{contract.price_decimals + 5}f}"


def qty(contract: Contract, value: float) -> str:
    return f"{value:.{contract.qty_decimals}f}"


def _step(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


# ---- market data ---------------------------------------------------------------------------------


def symbol_info(catalog: Catalog, contract: Contract, now_ms: int) -> Json:
    ins = contract.instrument
    max_qty = _step(ins.lot_step * MAX_QTY_STEPS)
    return {
        "symbol": contract.id,
        "pair": contract.pair,
        "contractType": catalog.contract_type(contract, now_ms),
        "deliveryDate": contract.delivery_ms,
        "onboardDate": contract.onboard_ms,
        "status": "TRADING" if contract.delivery_ms > now_ms else "SETTLING",
        "baseAsset": ins.base,
        "quoteAsset": ins.quote,
        "marginAsset": ins.settle,
        "pricePrecision": contract.price_decimals,
        "quantityPrecision": contract.qty_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        # Binance's published defaults for its large contracts; the simulator's margin comes from the brackets
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _step(ins.tick_size),
                "maxPrice": str(MAX_PRICE),
                "tickSize": _step(ins.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _step(ins.min_qty or ins.lot_step),
                "maxQty": max_qty,
                "stepSize": _step(ins.lot_step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": _step(ins.min_qty or ins.lot_step),
                "maxQty": max_qty,
                "stepSize": _step(ins.lot_step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": _step(ins.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        # what the simulator implements (the conditional ones through the Algo Order API); ccxt refuses others
        "orderTypes": ["LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def exchange_info(catalog: Catalog, now_ms: int, server_time_ms: int) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": catalog.quote, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [symbol_info(catalog, c, now_ms) for c in catalog.all()],
    }


def premium_index(market: MarketState, contract: Contract) -> Json:
    mark = market.mark(contract) or 0.0
    index = market.index(contract) or mark
    funding = market.funding(contract)
    return {
        "symbol": contract.id,
        "markPrice": px(contract, mark),
        "indexPrice": px(contract, index),
        "estimatedSettlePrice": px(contract, index),
        "lastFundingRate": f"{funding.rate:.8f}" if funding else "",
        "interestRate": "0.00010000" if funding else "",
        "nextFundingTime": funding.next_ts if funding else 0,
        "time": market.now_ms,
    }


def ticker_24h(market: MarketState, contract: Contract) -> Json:
    now = market.now_ms
    day = market.candles(contract).window(now - 86_400_000, now)
    last = market.mark(contract) or 0.0
    open_, high, low = (day.open, day.high, day.low) if day else (last, last, last)
    change = last - open_
    return {
        "symbol": contract.id,
        "priceChange": px(contract, change),
        "priceChangePercent": f"{(change / open_ * 100) if open_ else 0.0:.3f}",
        "weightedAvgPrice": px(contract, (day.quote_volume / day.volume) if day and day.volume else last),
        "lastPrice": px(contract, last),
        "lastQty": "0",
        "openPrice": px(contract, open_),
        "highPrice": px(contract, high),
        "lowPrice": px(contract, low),
        "volume": qty(contract, day.volume if day else 0.0),
        "quoteVolume": money(day.quote_volume if day else 0.0),
        "openTime": day.open_ms if day else now,
        "closeTime": now,
        "count": day.trades if day else 0,
    }


def book_ticker(market: MarketState, contract: Contract, update_id: int) -> Json | None:
    top = market.top(contract)
    if top is None:
        return None
    now = market.now_ms
    return {
        "e": "bookTicker", "u": update_id, "E": now, "T": now, "s": contract.id,
        "b": px(contract, top.bid), "B": qty(contract, top.bid_size),
        "a": px(contract, top.ask), "A": qty(contract, top.ask_size),
    }  # fmt: skip


def mark_price_update(market: MarketState, contract: Contract) -> Json | None:
    if market.mark(contract) is None:
        return None
    index = premium_index(market, contract)
    return {
        "e": "markPriceUpdate", "E": market.now_ms, "s": contract.id, "p": index["markPrice"],
        "i": index["indexPrice"], "P": index["estimatedSettlePrice"], "r": index["lastFundingRate"],
        "T": index["nextFundingTime"],
    }  # fmt: skip


def mini_ticker(market: MarketState, contract: Contract) -> Json | None:
    if market.mark(contract) is None:
        return None
    day = ticker_24h(market, contract)
    return {
        "e": "24hrMiniTicker", "E": market.now_ms, "s": contract.id, "c": day["lastPrice"],
        "o": day["openPrice"], "h": day["highPrice"], "l": day["lowPrice"], "v": day["volume"],
        "q": day["quoteVolume"],
    }  # fmt: skip


def full_ticker(market: MarketState, contract: Contract) -> Json | None:
    if market.mark(contract) is None:
        return None
    day = ticker_24h(market, contract)
    return {
        "e": "24hrTicker", "E": market.now_ms, "s": contract.id, "p": day["priceChange"],
        "P": day["priceChangePercent"], "w": day["weightedAvgPrice"], "c": day["lastPrice"], "Q": "0",
        "o": day["openPrice"], "h": day["highPrice"], "l": day["lowPrice"], "v": day["volume"],
        "q": day["quoteVolume"], "O": day["openTime"], "C": day["closeTime"], "F": 0, "L": 0,
        "n": day["count"],
    }  # fmt: skip


# ---- orders and trades ---------------------------------------------------------------------------


def order(o: SimOrder) -> Json:
    c = o.contract
    return {
        "orderId": o.order_id,
        "symbol": c.id,
        "status": o.status,
        "clientOrderId": o.client_id,
        "price": px(c, o.price),
        "avgPrice": avg_px(c, o.avg_price),
        "origQty": qty(c, o.qty),
        "executedQty": qty(c, o.executed_qty),
        "cumQty": qty(c, o.executed_qty),
        "cumQuote": money(o.cum_quote),
        "timeInForce": o.time_in_force,
        "type": o.order_type,
        "origType": o.orig_type or o.order_type,
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": o.side.value.upper(),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": o.time_ms,
        "updateTime": o.update_ms or o.time_ms,
    }


def trade(t: SimTrade) -> Json:
    c = t.contract
    return {
        "id": t.trade_id,
        "orderId": t.order_id,
        "symbol": c.id,
        "side": t.side.value.upper(),
        "buyer": t.side.sign > 0,
        "maker": t.maker,
        "price": px(c, t.price),
        "qty": qty(c, t.qty),
        "quoteQty": money(t.quote_qty),
        "commission": money(t.commission),
        "commissionAsset": c.instrument.settle,
        "realizedPnl": money(t.realized_pnl),
        "positionSide": "BOTH",
        "time": t.time_ms,
    }


def order_trade_update(o: SimOrder, execution: str, fill: SimTrade | None, now_ms: int) -> Json:
    c = o.contract
    body: Json = {
        "s": c.id, "c": o.client_id, "S": o.side.value.upper(), "o": o.order_type, "f": o.time_in_force,
        "q": qty(c, o.qty), "p": px(c, o.price), "ap": avg_px(c, o.avg_price), "sp": "0", "x": execution,
        "X": o.status, "i": o.order_id, "l": qty(c, fill.qty if fill else 0.0), "z": qty(c, o.executed_qty),
        "L": px(c, fill.price if fill else 0.0), "n": money(fill.commission if fill else 0.0),
        "N": c.instrument.settle, "T": now_ms, "t": fill.trade_id if fill else 0, "b": "0", "a": "0",
        "m": fill.maker if fill else False, "R": o.reduce_only, "wt": "CONTRACT_PRICE",
        "ot": o.orig_type or o.order_type, "ps": "BOTH", "cp": False,
        "rp": money(fill.realized_pnl if fill else 0.0), "pP": False, "si": 0, "ss": 0, "V": "NONE",
        "pm": "NONE", "gtd": 0,
    }  # fmt: skip
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": body}
