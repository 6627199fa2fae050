"""Request authentication as Binance does it: API key header, HMAC-SHA256 signature, timestamp window.

Pure functions of the request's raw text, headers and the server time; the HTTP layer calls them.
The signed payload is the query string followed by the form body, minus the trailing `signature` parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from bot.exchange_sim import errors

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5_000
_MAX_AHEAD_MS = 1_000  # Binance refuses timestamps more than one second in its future


def parse_params(raw: str) -> dict[str, str]:
    """Form/query text -> params (last one wins, as Binance does with repeated keys)."""
    return dict(parse_qsl(raw, keep_blank_values=True))


def signed_payload(raw: str) -> tuple[str, str | None]:
    """(the text that was signed, the signature sent) from the raw query+body text."""
    parts = [part for part in raw.split("&") if part]
    signature = None
    kept = []
    for part in parts:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def require_api_key(headers: Mapping[str, str], secret_for: Callable[[str], str | None]) -> str:
    """The secret of the key in the header; 401 -2014 when absent, 401 -2015 when unknown."""
    api_key = headers.get(API_KEY_HEADER, "")
    if not api_key:
        raise errors.missing_api_key()
    secret = secret_for(api_key)
    if secret is None:
        raise errors.invalid_api_key()
    return secret


def check_signed(raw: str, secret: str, server_time_ms: int, recv_window_max_ms: int) -> dict[str, str]:
    """Check timestamp, recvWindow and signature of a SIGNED request; its params (without the signature)."""
    payload, signature = signed_payload(raw)
    params = parse_params(payload)
    timestamp_text = params.get("timestamp", "")
    if not timestamp_text.isdigit():
        raise errors.missing_parameter("timestamp")
    window_text = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
    if not window_text.isdigit() or int(window_text) > recv_window_max_ms:
        raise errors.bad_request(-1131, f"recvWindow must be less than {recv_window_max_ms}.")
    timestamp = int(timestamp_text)
    if timestamp >= server_time_ms + _MAX_AHEAD_MS:
        raise errors.timestamp_ahead()
    if server_time_ms - timestamp > int(window_text):
        raise errors.timestamp_outside_window()
    if not signature:
        raise errors.missing_parameter("signature")
    if not hmac.compare_digest(sign(payload, secret), signature.lower()):
        raise errors.invalid_signature()
    return params
