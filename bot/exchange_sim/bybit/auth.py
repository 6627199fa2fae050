"""Bybit v5 request signing, checked: X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW, X-BAPI-SIGN. Pure.

The signature is hex HMAC-SHA256(secret, timestamp + api key + recv window + payload), the payload being the
query string of a GET and the JSON body of a POST. A websocket logs in with `{"op": "auth", "args": [key,
expires, HMAC(secret, "GET/realtime" + expires)]}`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from bot.exchange_sim.bybit.errors import BybitError

_MAX_AHEAD_MS = 1_000
DEFAULT_RECV_WINDOW_MS = 5_000


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_request(
    headers: Mapping[str, str],
    payload: str,
    secret_for: Callable[[str], str | None],
    now_ms: int,
    recv_window_max_ms: int,
) -> str:
    """The API key of a correctly signed, timely request; BybitError (10003, 10004, 10002) otherwise."""
    key = headers.get("X-BAPI-API-KEY", "")
    secret = secret_for(key) if key else None
    if secret is None:
        raise BybitError(10003, "API key is invalid.")
    stamp, window = headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-RECV-WINDOW", "")
    window = window or str(DEFAULT_RECV_WINDOW_MS)
    if not stamp.isdigit() or not window.isdigit() or int(window) > recv_window_max_ms:
        raise BybitError(10001, "invalid X-BAPI-TIMESTAMP or X-BAPI-RECV-WINDOW")
    if int(stamp) >= now_ms + _MAX_AHEAD_MS or now_ms - int(stamp) > int(window):
        raise BybitError(10002, "invalid request, please check your server timestamp or recv_window param")
    expected = sign(stamp + key + window + payload, secret)
    if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "").lower()):
        raise BybitError(10004, "error sign! origin_string")
    return key


def check_ws_login(args: object, secret_for: Callable[[str], str | None], now_ms: int) -> bool:
    """Whether a websocket `auth` op's args ([key, expires, signature]) log in, not expired."""
    if not isinstance(args, list) or len(args) != 3:
        return False
    key, expires, signature = (str(a) for a in args)
    secret = secret_for(key)
    if secret is None or not expires.isdigit() or int(expires) < now_ms:
        return False
    return hmac.compare_digest(sign("GET/realtime" + expires, secret), signature.lower())
