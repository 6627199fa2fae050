"""The control token: where it comes from, how strong it must be, and the constant-time check of a request.

The token is read like every other secret (`bot.secrets`: environment variable first, else a 0600 file) and
registered for redaction. A request is authenticated only by `Authorization: Bearer <token>`; a token in
the query string or in any other header is ignored, so it does not end up in access logs or proxies' caches.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from bot.secrets import SecretError, read_secret
from bot.settings.control import ControlSection
from bot.settings.values import ConfigError

CLIENT_HEADER = "X-Hedgebot-Client"  # `hedgebot ctl` says so; other bearer callers are "api"
MIN_TOKEN_LENGTH = 16  # shorter tokens are guessable over a network; `openssl rand -hex 32` gives 64


class ControlSetupError(ConfigError):
    """The control API cannot start as configured (token, address, TLS); the CLI prints it and exits 2."""


def load_token(control: ControlSection) -> str | None:
    """The configured token, or None when neither the variable nor the file gives one."""
    try:
        token = read_secret(control.token_env, control.token_file)
    except SecretError as exc:
        raise ControlSetupError(f"control token: {exc}") from None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        where = control.token_env if os.environ.get(control.token_env) else str(control.token_file)
        raise ControlSetupError(
            f"control token from {where} is {len(token)} characters; use at least {MIN_TOKEN_LENGTH}"
            " (for example: openssl rand -hex 32)"
        )
    return token


def token_source(control: ControlSection) -> str:
    """Where an operator puts the token, for messages: never the token itself."""
    if control.token_file is None:
        return f"the environment variable {control.token_env}"
    return f"the environment variable {control.token_env} or the file {control.token_file}"


class BearerCheck:
    """Checks an Authorization header against the token in constant time."""

    __slots__ = ("_digest",)

    def __init__(self, token: str) -> None:
        self._digest = _digest(token)

    def accepts(self, authorization: str | None) -> bool:
        """True for exactly `Bearer <token>` (scheme case-insensitive, as RFC 7235 says); False otherwise."""
        if not authorization:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return False
        # Comparing fixed-length digests keeps the time independent of where, and whether, the lengths differ.
        return hmac.compare_digest(_digest(credentials.strip()), self._digest)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()
