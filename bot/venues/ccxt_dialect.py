"""What each exchange needs said beyond ccxt's unified arguments for margin mode, leverage and orders.

ccxt's calls are unified, but some exchanges need more in `params` for hedgebot's settings to arrive as meant:

- binanceusdm: nothing (POST /fapi/v1/marginType, POST /fapi/v1/leverage).
- bybit, unified account: nothing (margin mode is account-wide: POST /v5/account/set-margin-mode; leverage:
  POST /v5/position/set-leverage with buyLeverage and sellLeverage).
- bybit, classic account: `set_margin_mode` needs `leverage` (POST /v5/position/switch-isolated carries it).
- okx: `set_margin_mode` needs `leverage`, `set_leverage` and every `create_order` need `marginMode` (both
  calls are POST /api/v5/account/set-leverage with mgnMode; an order's margin mode is its tdMode).

Without them ccxt refuses (okx's and classic bybit's set_margin_mode need a leverage), or sends the
exchange's default (okx: cross margin for the leverage and for every order). Bybit's account kind comes from
ccxt's own `is_unified_enabled()` (two private GETs, cached in the client's options).

Bybit also differs in what it answers (v5):

- an order is queried by orderLinkId through GET /v5/order/realtime, which on a unified account also finds
  filled and cancelled orders; ccxt's `fetch_order(None, ...)` would send `orderId=None` (and wants an
  `acknowledged` flag), so `fetch_order` asks the endpoint itself and parses the row with ccxt;
- create and cancel answer ids only (no status), so what a cancel did is asked afterwards (`answers_in_full`);
- executions come 100 at most per page (`trades_page`);
- REST tickers carry no time of their own (only the answer does): `fetch_tickers` stamps them with it;
- funding is listed among executions with the amount paid as its fee (positive = paid), which ccxt passes on
  as the payment's amount: `funding_payment` turns it round to ccxt's sense (positive = received); the mark it
  settled at is that execution's price (`funding_mark`), as the rate history carries none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt.async_support as ccxt

__all__ = [
    "answers_in_full",
    "fetch_bids_asks",
    "fetch_order_by",
    "fetch_tickers",
    "funding_mark",
    "funding_payment",
    "leverage_params",
    "margin_mode_params",
    "order_params",
    "trades_page",
]

_BYBIT_PAGE = 100  # GET /v5/execution/list: limit 1..100


async def margin_mode_params(client: Any, leverage: int) -> dict[str, Any]:
    """`params` of `set_margin_mode` on `client`'s exchange (may ask the exchange which account kind it is)."""
    if client.id == "okx":
        return {"leverage": leverage}
    if client.id == "bybit":
        unified_margin, unified_account = await client.is_unified_enabled()
        return {} if unified_margin or unified_account else {"leverage": leverage}
    return {}


def leverage_params(exchange_id: str, margin_mode: str) -> dict[str, Any]:
    """`params` of `set_leverage`: okx sets leverage per margin mode."""
    return {"marginMode": margin_mode} if exchange_id == "okx" else {}


def order_params(exchange_id: str, margin_mode: str) -> dict[str, Any]:
    """Extra `params` of every `create_order`: okx takes the margin mode per order (tdMode)."""
    return {"marginMode": margin_mode} if exchange_id == "okx" else {}


def trades_page(exchange_id: str, wanted: int) -> int:
    """How many trades to ask for per page of `fetch_my_trades` (an exchange may cap it)."""
    return min(wanted, _BYBIT_PAGE) if exchange_id == "bybit" else wanted


def answers_in_full(answer: Mapping[str, Any]) -> bool:
    """Whether a create or cancel answer says what the order is now (Bybit's carries its ids only)."""
    return answer.get("status") is not None


async def fetch_order_by(client: Any, symbol: str, id_param: str, order_ref: str) -> Any:
    """One order by our client id (`id_param` names it, e.g. orderLinkId) or by the exchange's id ("id");
    ccxt.OrderNotFound when the exchange does not know it."""
    if client.id != "bybit":
        if id_param == "id":
            return await client.fetch_order(order_ref, symbol)
        return await client.fetch_order(None, symbol, {id_param: order_ref})
    market = client.market(symbol)
    key = "orderId" if id_param == "id" else "orderLinkId"
    category = "inverse" if market.get("inverse") else "linear"
    response = await client.privateGetV5OrderRealtime({"category": category, "symbol": market["id"], key: order_ref})
    rows = (response.get("result") or {}).get("list") or []
    if not rows:
        raise ccxt.OrderNotFound(f"bybit order {order_ref} not found")
    return client.parse_order(rows[0], market)


async def fetch_tickers(client: Any, symbols: list[str]) -> Mapping[str, Any]:
    """Tickers of `symbols`, each with a timestamp. Bybit's REST rows carry none (only the answer's `time`, the
    server's), so on Bybit the rows are asked for by category and stamped with it."""
    if client.id != "bybit":
        return await client.fetch_tickers(symbols)  # type: ignore[no-any-return]  # ccxt is untyped
    tickers: dict[str, Any] = {}
    markets = [client.market(symbol) for symbol in symbols]
    for category in sorted({"inverse" if m.get("inverse") else "linear" for m in markets}):
        response = await client.publicGetV5MarketTickers({"category": category})
        at = response.get("time")
        rows = {str(row.get("symbol")): row for row in (response.get("result") or {}).get("list") or []}
        for market in markets:
            row = rows.get(market["id"])
            if row is not None:
                tickers[market["symbol"]] = {**client.parse_ticker(row, market), "timestamp": int(at)}
    return tickers


async def fetch_bids_asks(client: Any, symbols: list[str]) -> Mapping[str, Any]:
    """Best bid and ask of `symbols` (Bybit's come with its tickers)."""
    if client.id == "bybit":
        return await fetch_tickers(client, symbols)
    return await client.fetch_bids_asks(symbols)  # type: ignore[no-any-return]  # ccxt is untyped


def funding_payment(exchange_id: str, payment: Mapping[str, Any]) -> Mapping[str, Any]:
    """A row of `fetch_funding_history` with `amount` positive when received (Bybit's is the fee paid)."""
    if exchange_id != "bybit" or payment.get("amount") is None:
        return payment
    return {**payment, "amount": -float(payment["amount"])}


def funding_mark(payment: Mapping[str, Any]) -> float:
    """The mark a funding payment settled at when the payment says (Bybit: its execution's price), else 0."""
    info = payment.get("info")
    if not isinstance(info, Mapping) or info.get("execType") != "Funding":
        return 0.0
    try:
        mark = float(info.get("execPrice") or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return mark if mark > 0 else 0.0
