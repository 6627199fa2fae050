"""What the daemon needs to serve the control API, resolved from `[control]` before anything starts.

Without a token the API is never served unauthenticated: a paper session runs without it (the caller warns),
a live session refuses to start, because a live bot nobody can pause is not one an operator should run.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from bot.config import Config
from bot.control.auth import ControlSetupError, load_token, token_source
from bot.control.gate import ConnectionLimits
from bot.control.listen import ListenAddress, check_exposure, parse_listen, server_ssl_context
from bot.control.operators import OperatorRegistry

DEFAULT_LIMITS = ConnectionLimits()


@dataclass(frozen=True, slots=True)
class ControlSettings:
    address: ListenAddress
    token: str  # the single admin token; "" when only named operators (`[control] operators_*`) are configured
    ssl_context: ssl.SSLContext | None = None
    # read timeout and connection cap, for ControlServer(..., limits); frozen, so one shared default is safe
    limits: ConnectionLimits = DEFAULT_LIMITS

    def __repr__(self) -> str:  # the token never appears in a repr, a log line or a traceback
        return f"ControlSettings(address={self.address}, tls={self.ssl_context is not None})"


def control_settings(config: Config) -> ControlSettings | None:
    """The API's address, token and TLS; None when no token is configured in paper mode."""
    control = config.control
    address = parse_listen(control.listen)
    check_exposure(address, control)
    token = load_token(control)
    operators = OperatorRegistry.for_control(control, token)  # a bad operators entry stops the start, named
    if token is None and not operators.operators:
        if config.bot.mode == "live":
            raise ControlSetupError(
                f"no control token in {token_source(control)}: live mode needs the control API"
                " (pause, flatten, kill); set one, for example: export HEDGEBOT_TOKEN=$(openssl rand -hex 32)"
            )
        return None
    if config.telegram.enabled:  # its bot token is checked now, so a missing one stops the start, named
        from bot.control.telegram import bot_token  # python-telegram-bot is imported only where it is used

        bot_token(config.telegram)
    # Only named operators: no single token. The server reads them from the daemon's `[control]` itself.
    return ControlSettings(address, token or "", server_ssl_context(control))


def no_token_warning(config: Config) -> str:
    return (
        f"hedgebot: warning: no control token in {token_source(config.control)}; running WITHOUT the control"
        " API (hedgebot ctl cannot reach this daemon; stop it with Ctrl-C or SIGTERM)"
    )
