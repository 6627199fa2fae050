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
"""

from __future__ import annotations

from typing import Any

__all__ = ["leverage_params", "margin_mode_params", "order_params"]


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
