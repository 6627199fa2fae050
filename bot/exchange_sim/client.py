"""How an unmodified ccxt `binanceusdm` client (REST or ccxt.pro) is pointed at a loopback exchange.

Used by the simulator's tests and by the project's ccxt venue when it trades against the simulator:

    exchange = ccxt.async_support.binanceusdm(ccxt_config(sim.base_url, key, secret))

See /work/shared/EXCHANGE-NOTES.md for why each setting is here.
"""

from __future__ import annotations

import functools
from typing import Any

_REST_SECTIONS = {
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "sapi": "/sapi/v1",  # universal transfers between the spot/funding wallets and the futures wallet
}


def ccxt_config(base_url: str, api_key: str, secret: str, *, timeout_ms: int = 10_000) -> dict[str, Any]:
    """The constructor config for ccxt (async_support or pro) `binanceusdm` against `base_url` (http://host:port)."""
    base = base_url.rstrip("/")
    ws_base = "ws" + base[len("http") :] if base.startswith("http") else base
    return {
        "apiKey": api_key,
        "secret": secret,
        "timeout": timeout_ms,
        "enableRateLimit": False,  # loopback: the simulator's own rate-limit faults are what tests exercise
        "urls": {
            "api": {
                **{name: base + path for name, path in _REST_SECTIONS.items()},
                "ws": {"linear": f"{ws_base}/ws"},
            }
        },
        "options": {
            "fetchCurrencies": False,  # otherwise load_markets() calls a hard-coded spot host
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
        # ccxt picks its futures error table by Binance's host name; against loopback it must be merged in,
        # or -2019 "Margin is insufficient." arrives as a plain ExchangeError instead of InsufficientFunds.
        "exceptions": {"exact": _futures_exact_errors()},
    }


@functools.cache
def _futures_exact_errors() -> dict[str, Any]:
    import ccxt  # local import: ccxt is heavy and only the client side needs it

    exceptions = ccxt.binanceusdm().exceptions  # a sync client opens no socket
    table: dict[str, Any] = dict(exceptions["linear"]["exact"])
    # sapi (wallet transfers) answers from Binance's spot host, whose table maps -5013 to InsufficientFunds
    table["-5013"] = exceptions["spot"]["exact"]["-5013"]
    return table
