"""Bybit v5 private REST over the simulator's core: orders, executions, positions, wallet, leverage, margin mode.

Requests are translated into the core's (Binance's) order parameters, so matching, margin and fees are the
core's. Bybit's differences kept here: an orderLinkId is never reused (Binance frees it once an order is done),
a filled or cancelled order is still found by `order/realtime` when asked by id, leverage set to what it is
already is 110043 "leverage not modified", and the margin mode is set for the whole (unified) account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.exchange_sim import rest_account as binance_account
from bot.exchange_sim.bybit import payloads
from bot.exchange_sim.bybit.errors import BybitError, leverage_not_modified, order_not_found, params_error
from bot.exchange_sim.bybit.ids import SIDE_OF, TIME_IN_FORCE_OF
from bot.exchange_sim.bybit.rest_market import contract_param
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.records import SimOrder
from bot.venues.simulation.account import LedgerKind

Params = Mapping[str, Any]
Result = dict[str, Any]
_PAGE_MAX = 100  # Bybit's most rows per page of orders and executions


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    return "" if value is None or value == "None" else str(value)  # ccxt spells an absent id None


def _limit(params: Params, default: int) -> int:
    text = _text(params, "limit")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= _PAGE_MAX:
        raise params_error("params error: limit invalid")
    return int(text)


def _contract(ex: SimExchange, params: Params) -> Contract:
    contract = contract_param(ex, {"symbol": _text(params, "symbol")})
    assert contract is not None
    return contract


# ---- orders -------------------------------------------------------------------------------------------


def _core_order(contract: Contract, params: Params) -> dict[str, str]:
    """A Bybit order create as the core's (Binance's) order parameters."""
    side = SIDE_OF.get(_text(params, "side"))
    kind = _text(params, "orderType")
    if side is None or kind not in ("Limit", "Market"):
        raise params_error("params error: side or orderType invalid")
    core = {"symbol": contract.id, "side": side.name, "type": kind.upper(), "quantity": _text(params, "qty")}
    if kind == "Limit":
        tif = TIME_IN_FORCE_OF.get(_text(params, "timeInForce") or "GTC")
        if tif is None:
            raise params_error("params error: timeInForce invalid")
        core |= {"price": _text(params, "price"), "timeInForce": tif}
    if str(params.get("reduceOnly", "")).lower() == "true":
        core["reduceOnly"] = "true"
    link = _text(params, "orderLinkId")
    if link:
        core["newClientOrderId"] = link
    return core


def create_order(ex: SimExchange, params: Params) -> Result:
    contract = _contract(ex, params)
    link = _text(params, "orderLinkId")
    if link and any(o.client_id == link for o in ex.orders()):
        raise BybitError(110072, "OrderLinkedID is duplicate")
    order = ex.new_order(_core_order(contract, params))
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


def _find(ex: SimExchange, params: Params) -> SimOrder | None:
    order_id, link = _text(params, "orderId"), _text(params, "orderLinkId")
    if not order_id and not link:
        raise params_error("params error: orderId or orderLinkId is required")
    symbol = _text(params, "symbol")
    for order in ex.orders():
        if (order_id and str(order.order_id) != order_id) or (link and order.client_id != link):
            continue
        if symbol and contract_param(ex, {"symbol": symbol}) is not order.contract:
            continue
        return order
    return None


def cancel_order(ex: SimExchange, params: Params) -> Result:
    order = _find(ex, params)
    if order is None or not order.is_open:
        raise order_not_found()
    ex.cancel_order({"symbol": order.contract.id, "orderId": str(order.order_id)})
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


def cancel_all(ex: SimExchange, params: Params) -> Result:
    chosen = [_contract(ex, params)] if _text(params, "symbol") else ex.catalog.all()
    cancelled = [o for c in chosen for o in ex.orders(c, open_only=True)]
    for contract in chosen:
        ex.cancel_all({"symbol": contract.id})
    return {"list": [{"orderId": str(o.order_id), "orderLinkId": o.client_id} for o in cancelled], "success": "1"}


def _listed(ex: SimExchange, params: Params, *, open_only: bool) -> Result:
    if _text(params, "orderId") or _text(params, "orderLinkId"):
        found = _find(ex, params)
        rows = [found] if found is not None else []
    else:
        contract = _contract(ex, params) if _text(params, "symbol") else None
        rows = ex.orders(contract, open_only=open_only)
    newest = sorted(rows, key=lambda o: o.order_id, reverse=True)[: _limit(params, 20 if open_only else 50)]
    return {"category": _text(params, "category"), "list": [payloads.order(o) for o in newest],
            "nextPageCursor": ""}  # fmt: skip


def realtime_orders(ex: SimExchange, params: Params) -> Result:
    """Open orders; asked by orderId or orderLinkId, that order whatever its state (as on a unified account)."""
    return _listed(ex, params, open_only=True)


def order_history(ex: SimExchange, params: Params) -> Result:
    return _listed(ex, params, open_only=False)


# ---- executions ---------------------------------------------------------------------------------------


def _in_window(ts: int, params: Params) -> bool:
    start, end = _text(params, "startTime"), _text(params, "endTime")
    return (not start or ts >= int(start)) and (not end or ts <= int(end))


def _funding_rows(ex: SimExchange, contract: Contract | None) -> list[Result]:
    rows = []
    for seq, entry in enumerate(ex.account.ledger, start=1):
        listed = ex.catalog.by_symbol(entry.symbol)
        if entry.kind is not LedgerKind.FUNDING_FEE or listed is None or contract not in (None, listed):
            continue
        state = ex.market.funding(listed)
        due = next((d for d in (state.history if state else []) if d.ts == entry.ts), None)
        rate, mark = (due.rate, due.mark) if due is not None else (0.0, 0.0)
        rows.append(payloads.funding_execution(listed, entry.ts, entry.amount, rate, mark, seq))
    return rows


def executions(ex: SimExchange, params: Params) -> Result:
    """Trades (and, execType Funding, funding settlements): from startTime the oldest first, else the newest;
    listed newest first, as Bybit does."""
    contract = _contract(ex, params) if _text(params, "symbol") else None
    kind = _text(params, "execType")
    order_id, link = _text(params, "orderId"), _text(params, "orderLinkId")
    orders = {o.order_id: o for o in ex.orders(contract)}
    rows: list[Result] = []
    if kind in ("", "Trade"):
        rows = [
            payloads.execution(t, orders.get(t.order_id))
            for t in ex.trades(contract)
            if (not order_id or str(t.order_id) == order_id) and (not link or t.client_id == link)
        ]
    if kind in ("", "Funding") and not order_id and not link:
        rows += _funding_rows(ex, contract)
    chosen = sorted((r for r in rows if _in_window(int(r["execTime"]), params)), key=lambda r: int(r["execTime"]))
    limit = _limit(params, 50)
    page = chosen[:limit] if _text(params, "startTime") else chosen[-limit:]
    return {"category": _text(params, "category"), "list": page[::-1], "nextPageCursor": ""}


# ---- positions, wallet, account settings -----------------------------------------------------------------


def positions(ex: SimExchange, params: Params) -> Result:
    if _text(params, "symbol"):
        chosen = [_contract(ex, params)]
    else:
        settle = _text(params, "settleCoin")
        if not settle and not _text(params, "baseCoin"):
            raise params_error("params error: symbol or settleCoin is required")
        chosen = [c for c in ex.catalog.all() if ex.account.position(c.symbol).qty
                  and (not settle or c.instrument.settle == settle)]  # fmt: skip
    rows = [payloads.position(ex.account, c, ex.now_ms) for c in chosen]
    return {"category": _text(params, "category"), "list": rows, "nextPageCursor": ""}


def wallet_balance(ex: SimExchange, params: Params) -> Result:
    if _text(params, "accountType") not in ("UNIFIED", "CONTRACT"):
        raise params_error("accountType only support UNIFIED")
    return {"list": [payloads.wallet(ex)]}


def set_leverage(ex: SimExchange, params: Params) -> Result:
    contract = _contract(ex, params)
    buy, sell = _text(params, "buyLeverage"), _text(params, "sellLeverage")
    try:
        leverage = float(buy)
    except ValueError:
        raise params_error("params error: buyLeverage invalid") from None
    if buy != sell or leverage != int(leverage):
        raise params_error("buy leverage must be equal to sell leverage in one-way mode")
    if int(leverage) == ex.account.leverage_of(contract.symbol):
        raise leverage_not_modified()
    ex.set_leverage(contract, int(leverage))
    return {}


def _set_mode(ex: SimExchange, contract: Contract, isolated: bool) -> bool:
    """One symbol's margin mode through the core's rules; False when it already was."""
    try:
        binance_account.set_margin_type(
            ex, {"symbol": contract.id, "marginType": "ISOLATED" if isolated else "CROSSED"}
        )
    except BinanceError as error:
        if error.code == -4046:  # no need to change
            return False
        raise
    return True


def set_margin_mode(ex: SimExchange, params: Params) -> Result:
    """The unified account's margin mode, for every symbol (REGULAR_MARGIN = cross, ISOLATED_MARGIN)."""
    mode = _text(params, "setMarginMode")
    if mode not in ("REGULAR_MARGIN", "ISOLATED_MARGIN"):
        raise params_error("params error: setMarginMode invalid")
    for contract in ex.catalog.all():
        _set_mode(ex, contract, mode == "ISOLATED_MARGIN")
    return {"reasons": []}


def switch_isolated(ex: SimExchange, params: Params) -> Result:
    """A classic account's per-symbol margin mode (tradeMode 0 cross, 1 isolated)."""
    contract = _contract(ex, params)
    if not _set_mode(ex, contract, _text(params, "tradeMode") == "1"):
        raise BybitError(110026, "Cross/isolated margin mode is not modified")
    return {}


def account_info(ex: SimExchange, params: Params) -> Result:
    isolated = any(ex.account.margin_mode(c.symbol) == "isolated" for c in ex.catalog.all())
    return {"unifiedMarginStatus": 4, "marginMode": "ISOLATED_MARGIN" if isolated else "REGULAR_MARGIN",
            "isMasterTrader": False, "spotHedgingStatus": "OFF", "updatedTime": str(ex.now_ms)}  # fmt: skip


def query_api(ex: SimExchange, params: Params) -> Result:
    return {"id": "1", "note": "exchange simulator", "readOnly": 0, "secret": "", "type": 1,
            "permissions": {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]},
            "ips": ["*"], "userID": 1, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
            "affiliateID": 0, "isMaster": True, "unified": 0, "uta": 1}  # fmt: skip


def coin_info(ex: SimExchange, params: Params) -> Result:
    coins = dict.fromkeys([ex.account.currency, *ex.catalog.bases])
    return {"rows": [{"name": coin, "coin": coin, "remainAmount": "10000000", "chains": []} for coin in coins]}
