"""Bybit v5 error answers: HTTP 200 with a `retCode` and `retMsg`, the codes ccxt maps to its exceptions. Pure.

The exchange core raises Binance's errors (bot/exchange_sim/errors.py); `from_binance` gives the Bybit answer
for each, so an unmodified ccxt `bybit` raises what it raises against Bybit: 110007 InsufficientFunds, 110001
OrderNotFound, 110072 (a duplicate orderLinkId) and 110017 (reduce-only) InvalidOrder, 10001 BadRequest,
10003/10004 AuthenticationError, 10002 InvalidNonce, 10006 RateLimitExceeded.
"""

from __future__ import annotations

from bot.exchange_sim.errors import BinanceError


class BybitError(Exception):
    """An error answer: {"retCode": code, "retMsg": msg, "result": {}} (HTTP 200, as Bybit sends them)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


def params_error(msg: str) -> BybitError:
    return BybitError(10001, msg)


def order_not_found() -> BybitError:
    return BybitError(110001, "order not exists or too late to cancel")


def not_found() -> BybitError:
    return BybitError(10017, "route not found")


def leverage_not_modified() -> BybitError:
    return BybitError(110043, "leverage not modified")


# Binance's code → (Bybit's code, Bybit's message); anything else is a parameter error (10001)
_FROM_BINANCE: dict[int, tuple[int, str]] = {
    -2019: (110007, "ab not enough for new order"),
    -2018: (110007, "ab not enough for new order"),
    -2027: (110016, "Requested quantity of contracts exceeds risk limit"),
    -2011: (110001, "order not exists or too late to cancel"),
    -2013: (110001, "order not exists or too late to cancel"),
    -4116: (110072, "OrderLinkedID is duplicate"),
    -2022: (110017, "current position is zero, cannot fix reduce-only order qty"),
    -5022: (110003, "PostOnly order would take liquidity"),
    -4003: (10001, "Qty invalid"),
    -4014: (110003, "Order price is out of permissible range"),
    -4164: (110094, "Order notional value below the lower limit"),
    -1111: (10001, "Qty precision invalid"),
    -1013: (10016, "System error. Please try again later."),
    -1001: (10016, "System error. Please try again later."),
    -1003: (10006, "Too many visits!"),
    -1021: (10002, "invalid request, please check your server timestamp or recv_window param"),
    -2014: (10003, "API key is invalid."),
    -2015: (10003, "API key is invalid."),
    -1022: (10004, "error sign! origin_string"),
    -4046: (110026, "Cross/isolated margin mode is not modified"),
    -4028: (110013, "cannot set leverage"),
    -2010: (110003, "Order was rejected by the exchange simulator"),
}


def from_binance(error: BinanceError) -> BybitError:
    code, msg = _FROM_BINANCE.get(error.code, (10001, error.msg))
    return BybitError(code, msg)
