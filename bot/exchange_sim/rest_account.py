"""Signed account REST handlers: balances, account, positions, brackets, leverage, margin. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.exchange_sim import account_payloads, errors, payloads
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.orders import contract_of, int_param

Params = Mapping[str, str]
Answer = dict[str, Any] | list[Any]


def account_v3(ex: SimExchange, params: Params) -> Answer:
    return account_payloads.account_v3(ex.account, ex.catalog.all(), ex.reserved_margin(), ex.now_ms)


def account_v2(ex: SimExchange, params: Params) -> Answer:
    contracts = ex.catalog.trading(ex.now_ms)
    return account_payloads.account_v2(ex.account, contracts, ex.reserved_margin(), ex.now_ms)


def balance(ex: SimExchange, params: Params) -> Answer:
    return [account_payloads.balance_row(ex.account, ex.reserved_margin(), ex.now_ms)]


def _positions(ex: SimExchange, params: Params, *, every_symbol: bool) -> list[Any]:
    one = contract_of(params, ex.catalog, required=False)
    if one is not None:
        return [one]
    if every_symbol:  # v2 lists every symbol, flat ones included
        return ex.catalog.trading(ex.now_ms)
    active = {o.contract.id for o in ex.orders(open_only=True)}
    return [c for c in ex.catalog.all() if ex.account.position(c.symbol).qty or c.id in active]


def position_risk_v3(ex: SimExchange, params: Params) -> Answer:
    return [account_payloads.position_row(ex.account, c, ex.now_ms) for c in _positions(ex, params, every_symbol=False)]


def position_risk_v2(ex: SimExchange, params: Params) -> Answer:
    chosen = _positions(ex, params, every_symbol=True)
    return [account_payloads.position_row_v2(ex.account, c, ex.now_ms) for c in chosen]


def leverage_bracket(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    if one is not None:  # Binance answers an object for one symbol, a list for all
        return account_payloads.leverage_bracket(one, ex.account)
    return [account_payloads.leverage_bracket(c, ex.account) for c in ex.catalog.all()]


def symbol_config(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    chosen = [one] if one is not None else ex.catalog.trading(ex.now_ms)
    return [account_payloads.symbol_config(c, ex.account) for c in chosen]


def account_config(ex: SimExchange, params: Params) -> Answer:
    return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "dualSidePosition": False,
            "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1}  # fmt: skip


def set_leverage(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    leverage = int_param(params, "leverage")
    if leverage is None:
        raise errors.missing_parameter("leverage")
    ex.set_leverage(contract, leverage)
    cap = ex.account.max_notional(contract.symbol)
    return {"leverage": leverage, "maxNotionalValue": f"{cap:.0f}", "symbol": contract.id}


def set_margin_type(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    margin_type = params.get("marginType", "")
    if not margin_type:
        raise errors.missing_parameter("marginType")
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise errors.bad_request(-1130, "Data sent for parameter 'marginType' is not valid.")
    isolated, symbol = margin_type == "ISOLATED", contract.symbol
    # Binance's rules: per symbol, refused while it has a position or open orders
    if (ex.account.margin_mode(symbol) == "isolated") == isolated:
        raise errors.margin_type_unchanged()
    if ex.account.position(symbol).qty:
        raise errors.bad_request(-4048, "Margin type cannot be changed if there exists position.")
    if ex.resting.for_symbol(symbol):
        raise errors.bad_request(-4047, "Margin type cannot be changed if there exists open orders.")
    ex.account.set_margin_mode(symbol, isolated)
    return {"code": 200, "msg": "success"}


def position_margin(ex: SimExchange, params: Params) -> Answer:
    """POST /fapi/v1/positionMargin: add (type 1) or reduce (type 2) an isolated position's margin."""
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    kind, text = params.get("type", ""), params.get("amount", "")
    if not text:
        raise errors.missing_parameter("amount")
    if kind not in ("1", "2"):
        raise errors.missing_parameter("type") if not kind else errors.bad_parameter("type")
    try:
        amount = float(text)
    except ValueError:
        raise errors.bad_parameter("amount") from None
    if not amount > 0:
        raise errors.bad_parameter("amount")
    symbol, account = contract.symbol, ex.account
    if account.margin_mode(symbol) != "isolated":
        raise errors.bad_request(-4049, "Add margin only support for isolated position.")
    if account.position(symbol).qty == 0:
        raise errors.bad_request(-4054, "Cannot add position margin: position is 0.")
    if kind == "1":
        if amount > account.available_balance - ex.reserved_margin():
            raise errors.bad_request(-4050, "Cross balance insufficient.")
        account.change_isolated_margin(symbol, amount)
    else:
        removable = account.isolated_margin(symbol) - account.position_initial_margin(symbol)
        if amount > removable:
            raise errors.bad_request(-4051, "Isolated balance insufficient.")
        account.change_isolated_margin(symbol, -amount)
    ex.account_changed("MARGIN_TRANSFER", contract)
    return {"amount": amount, "code": 200, "msg": "Successfully modify position margin.", "type": int(kind)}


def position_mode(ex: SimExchange, params: Params) -> Answer:
    return {"dualSidePosition": False}


def multi_assets_margin(ex: SimExchange, params: Params) -> Answer:
    return {"multiAssetsMargin": False}


def commission_rate(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    return {"symbol": contract.id, "makerCommissionRate": f"{ex.settings.maker_fee_bps / 1e4:.6f}",
            "takerCommissionRate": f"{ex.settings.taker_fee_bps / 1e4:.6f}"}  # fmt: skip


def income(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    wanted = params.get("incomeType", "")
    rows: list[dict[str, Any]] = []
    for tran_id, entry in enumerate(ex.account.ledger, start=1):
        contract = ex.catalog.by_symbol(entry.symbol)
        kind = entry.kind.value.upper()
        if contract is None or (one is not None and contract is not one) or (wanted and wanted != kind):
            continue
        rows.append({"symbol": contract.id, "incomeType": kind, "income": payloads.money(entry.amount),
                     "asset": ex.account.currency, "info": kind, "time": entry.ts, "tranId": tran_id,
                     "tradeId": entry.trade_id or ""})  # fmt: skip
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit", 100, 1000) or 100
    chosen = [r for r in rows if (start is None or r["time"] >= start) and (end is None or r["time"] <= end)]
    return chosen[:limit] if start is not None else chosen[-limit:]
