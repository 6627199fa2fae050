"""The REST endpoints of the simulator: route table, authentication level, and the handlers. Pure handlers.

Each handler takes the request's params and returns the JSON answer (or raises `BinanceError`); the HTTP
plumbing (faults, signing, serialising, publishing) lives in `server.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import Side
from bot.exchange_sim import errors, payloads
from bot.exchange_sim.candles import INTERVALS_MS
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.orders import contract_of, int_param

Params = Mapping[str, str]
Answer = dict[str, Any] | list[Any]


class Security(enum.Enum):
    NONE = "none"
    API_KEY = "api_key"  # the key header only (listenKey endpoints)
    SIGNED = "signed"


@dataclass(frozen=True, slots=True)
class Route:
    security: Security
    handler: Callable[[SimExchange, Params], Answer]


def _ticker_24h(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    if one is not None:
        return payloads.ticker_24h(ex.market, one)
    return [payloads.ticker_24h(ex.market, c) for c in ex.catalog.trading(ex.now_ms) if ex.market.mark(c)]


def _ticker_price(ex: SimExchange, params: Params) -> Answer:
    def row(c: Any) -> dict[str, Any]:
        return {"symbol": c.id, "price": payloads.px(c, ex.market.mark(c) or 0.0), "time": ex.now_ms}

    one = contract_of(params, ex.catalog, required=False)
    return row(one) if one is not None else [row(c) for c in ex.catalog.trading(ex.now_ms) if ex.market.mark(c)]


def _book_ticker(ex: SimExchange, params: Params) -> Answer:
    def row(c: Any) -> dict[str, Any]:
        event = payloads.book_ticker(ex.market, c, 0) or {}
        return {
            "symbol": c.id,
            "bidPrice": event.get("b"),
            "bidQty": event.get("B"),
            "askPrice": event.get("a"),
            "askQty": event.get("A"),
            "time": ex.now_ms,
        }

    one = contract_of(params, ex.catalog, required=False)
    return row(one) if one is not None else [row(c) for c in ex.catalog.trading(ex.now_ms) if ex.market.top(c)]


def _premium_index(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    if one is not None:
        return payloads.premium_index(ex.market, one)
    return [payloads.premium_index(ex.market, c) for c in ex.catalog.trading(ex.now_ms) if ex.market.mark(c)]


def _depth(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    limit = int_param(params, "limit", 20, 1000) or 20
    top = ex.market.top(contract)
    sides: dict[str, list[list[str]]] = {"bids": [], "asks": []}
    if top is not None:
        book = ex.book_model(contract)
        for name, side in (("bids", Side.SELL), ("asks", Side.BUY)):  # a taker selling walks the bids
            levels = book.walk(side, 1e12, top.bid, top.ask, top.bid_size, top.ask_size)[:limit]
            sides[name] = [[payloads.px(contract, p), payloads.qty(contract, q)] for q, p in levels]
    return {"lastUpdateId": ex.now_ms, "E": ex.now_ms, "T": ex.now_ms, **sides}


def _klines(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    interval = params.get("interval", "")
    if interval not in INTERVALS_MS:
        raise (errors.bad_request(-1120, "Invalid interval.") if interval else errors.missing_parameter("interval"))
    step = INTERVALS_MS[interval]
    limit = int_param(params, "limit", 500, 1500) or 500
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    candles = ex.market.candles(contract).klines(step, start, end, limit)
    px, qty, money = payloads.px, payloads.qty, payloads.money
    return [
        [k.open_ms, px(contract, k.open), px(contract, k.high), px(contract, k.low), px(contract, k.close),
         qty(contract, k.volume), k.open_ms + step - 1, money(k.quote_volume), k.trades, "0", "0", "0"]
        for k in candles
    ]  # fmt: skip


def _funding_rate(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit", 100, 1000) or 100
    rows = []
    for contract in [one] if one is not None else ex.catalog.all():
        state = ex.market.funding(contract)
        for due in state.history if state else []:
            if (start is None or due.ts >= start) and (end is None or due.ts <= end):
                rows.append({"symbol": contract.id, "fundingTime": due.ts, "fundingRate": f"{due.rate:.8f}",
                             "markPrice": payloads.px(contract, due.mark)})  # fmt: skip
    rows.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    return rows[:limit] if start is not None else rows[-limit:]


def _new_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.new_order(params))


def _cancel_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.cancel_order(params))


def _query_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.query_order(params))


def _open_order(ex: SimExchange, params: Params) -> Answer:
    order = ex.query_order(params)
    if not order.is_open:
        raise errors.bad_request(-2013, "Order does not exist.")
    return payloads.order(order)


def _cancel_all(ex: SimExchange, params: Params) -> Answer:
    ex.cancel_all(params)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _open_orders(ex: SimExchange, params: Params) -> Answer:
    return [payloads.order(o) for o in ex.orders(contract_of(params, ex.catalog, required=False), open_only=True)]


def _window(params: Params, rows: list[Any], ts: Callable[[Any], int], default_limit: int, max_limit: int) -> list[Any]:
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit", default_limit, max_limit) or default_limit
    chosen = [r for r in rows if (start is None or ts(r) >= start) and (end is None or ts(r) <= end)]
    return chosen[:limit] if start is not None else chosen[-limit:]


def _all_orders(ex: SimExchange, params: Params) -> Answer:
    from_id = int_param(params, "orderId")
    orders = [o for o in ex.orders(contract_of(params, ex.catalog)) if from_id is None or o.order_id >= from_id]
    return [payloads.order(o) for o in _window(params, orders, lambda o: o.time_ms, 500, 1000)]


def _user_trades(ex: SimExchange, params: Params) -> Answer:
    from_id = int_param(params, "fromId")
    contract = contract_of(params, ex.catalog, required=False)
    trades = [t for t in ex.trades(contract) if from_id is None or t.trade_id >= from_id]
    return [payloads.trade(t) for t in _window(params, trades, lambda t: t.time_ms, 500, 1000)]


def _income(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    wanted = params.get("incomeType", "")
    rows = []
    for tran_id, entry in enumerate(ex.account.ledger, start=1):
        contract = ex.catalog.by_symbol(entry.symbol)
        kind = entry.kind.value.upper()
        if contract is None or (one is not None and contract is not one) or (wanted and wanted != kind):
            continue
        rows.append({"symbol": contract.id, "incomeType": kind, "income": payloads.money(entry.amount),
                     "asset": ex.account.currency, "info": kind, "time": entry.ts, "tranId": tran_id,
                     "tradeId": entry.trade_id or ""})  # fmt: skip
    return _window(params, rows, lambda r: int(r["time"]), 100, 1000)


def _account(ex: SimExchange, params: Params) -> Answer:
    return payloads.account_v3(ex.account, ex.catalog.all(), ex.reserved_margin(), ex.now_ms)


def _balance(ex: SimExchange, params: Params) -> Answer:
    return [payloads.asset_row(ex.account, ex.reserved_margin(), ex.now_ms)]


def _position_risk(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    chosen = [one] if one is not None else ex.catalog.all()
    active = {o.contract.id for o in ex.orders(open_only=True)}
    return [
        payloads.position_row(ex.account, c, ex.now_ms)
        for c in chosen
        if ex.account.position(c.symbol).qty or c.id in active or one is not None
    ]


def _leverage_bracket(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    chosen = [one] if one is not None else ex.catalog.all()
    return [payloads.leverage_bracket(c, ex.account) for c in chosen]


def _set_leverage(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    leverage = int_param(params, "leverage")
    if leverage is None:
        raise errors.missing_parameter("leverage")
    ex.set_leverage(contract, leverage)
    return {"leverage": leverage, "maxNotionalValue": "1000000000", "symbol": contract.id}


def _set_margin_type(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    margin_type = params.get("marginType", "")
    if not margin_type:
        raise errors.missing_parameter("marginType")
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise errors.bad_request(-1130, "Data sent for parameter 'marginType' is not valid.")
    ex.set_margin_type(contract, isolated=margin_type == "ISOLATED")
    return {"code": 200, "msg": "success"}


def _position_mode(ex: SimExchange, params: Params) -> Answer:
    return {"dualSidePosition": False}


def _commission_rate(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    return {"symbol": contract.id, "makerCommissionRate": f"{ex.settings.maker_fee_bps / 1e4:.6f}",
            "takerCommissionRate": f"{ex.settings.taker_fee_bps / 1e4:.6f}"}  # fmt: skip


def _empty(ex: SimExchange, params: Params) -> Answer:
    return {}


_PUBLIC, _SIGNED = Security.NONE, Security.SIGNED

ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/fapi/v1/ping"): Route(_PUBLIC, _empty),
    ("GET", "/fapi/v1/ticker/24hr"): Route(_PUBLIC, _ticker_24h),
    ("GET", "/fapi/v1/ticker/price"): Route(_PUBLIC, _ticker_price),
    ("GET", "/fapi/v2/ticker/price"): Route(_PUBLIC, _ticker_price),
    ("GET", "/fapi/v1/ticker/bookTicker"): Route(_PUBLIC, _book_ticker),
    ("GET", "/fapi/v1/premiumIndex"): Route(_PUBLIC, _premium_index),
    ("GET", "/fapi/v1/depth"): Route(_PUBLIC, _depth),
    ("GET", "/fapi/v1/klines"): Route(_PUBLIC, _klines),
    ("GET", "/fapi/v1/markPriceKlines"): Route(_PUBLIC, _klines),
    ("GET", "/fapi/v1/fundingRate"): Route(_PUBLIC, _funding_rate),
    ("POST", "/fapi/v1/order"): Route(_SIGNED, _new_order),
    ("GET", "/fapi/v1/order"): Route(_SIGNED, _query_order),
    ("DELETE", "/fapi/v1/order"): Route(_SIGNED, _cancel_order),
    ("GET", "/fapi/v1/openOrder"): Route(_SIGNED, _open_order),
    ("DELETE", "/fapi/v1/allOpenOrders"): Route(_SIGNED, _cancel_all),
    ("GET", "/fapi/v1/openOrders"): Route(_SIGNED, _open_orders),
    ("GET", "/fapi/v1/allOrders"): Route(_SIGNED, _all_orders),
    ("GET", "/fapi/v1/userTrades"): Route(_SIGNED, _user_trades),
    ("GET", "/fapi/v1/income"): Route(_SIGNED, _income),
    ("GET", "/fapi/v2/account"): Route(_SIGNED, _account),
    ("GET", "/fapi/v3/account"): Route(_SIGNED, _account),
    ("GET", "/fapi/v2/balance"): Route(_SIGNED, _balance),
    ("GET", "/fapi/v3/balance"): Route(_SIGNED, _balance),
    ("GET", "/fapi/v2/positionRisk"): Route(_SIGNED, _position_risk),
    ("GET", "/fapi/v3/positionRisk"): Route(_SIGNED, _position_risk),
    ("GET", "/fapi/v1/leverageBracket"): Route(_SIGNED, _leverage_bracket),
    ("POST", "/fapi/v1/leverage"): Route(_SIGNED, _set_leverage),
    ("POST", "/fapi/v1/marginType"): Route(_SIGNED, _set_margin_type),
    ("GET", "/fapi/v1/positionSide/dual"): Route(_SIGNED, _position_mode),
    ("GET", "/fapi/v1/commissionRate"): Route(_SIGNED, _commission_rate),
}
