"""`[metrics]` and `[alerts]`: how the running daemon is watched.

Only the settings live here; the metrics server (`bot.ops.metrics`) and the alert sinks (`bot.ops.alerts`) read
them, so loading a config imports none of their I/O (aiohttp, prometheus_client, asyncio).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from bot.settings.values import Duration, Flag, Int, Section

TELEGRAM_API = "https://api.telegram.org"
DEFAULT_METRICS_LISTEN = "127.0.0.1:9108"
_HOST_PORT = re.compile(r"^\[?(?P<host>[^\[\]]+?)\]?:(?P<port>\d{1,5})$")


def parse_host_port(text: str) -> tuple[str, int]:
    """'127.0.0.1:9108', '[::1]:9108' or '0.0.0.0:0' → (host, port); ValueError naming the text otherwise."""
    match = _HOST_PORT.match(text)
    if match is None or int(match.group("port")) > 65535:
        raise ValueError(f"{text!r} is not 'host:port' (port 0-65535), like '127.0.0.1:9108'")
    return match.group("host"), int(match.group("port"))


class MetricsSection(Section):
    """`[metrics]`: where the metrics server (`bot.ops.metrics`) listens, and whether it runs at all."""

    enabled: Flag = True
    listen: str = DEFAULT_METRICS_LISTEN

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, text: str) -> str:
        parse_host_port(text)
        return text


class AlertsSection(Section):
    """`[alerts]` (sent by `bot.ops.alerts`). Secrets (the Telegram token, a webhook URL) come from the environment;
    a webhook URL written in the file is a `SecretStr`, shown as '**********' wherever the config is
    (`check-config`)."""

    enabled: Flag = False
    webhook_url: SecretStr | None = None  # a Slack/Discord webhook URL is a credential: prefer webhook_url_env
    webhook_url_env: str = "HEDGEBOT_ALERT_WEBHOOK_URL"
    webhook_style: Literal["slack", "discord"] = "slack"
    telegram_token_env: str = "HEDGEBOT_TELEGRAM_TOKEN"  # noqa: S105 -- the name of a variable, not a secret
    telegram_chat_id: str | None = None
    telegram_api_base: str = TELEGRAM_API
    min_interval: Duration = "10m"  # the same kind+key is sent at most once per this
    max_per_minute: Annotated[Int, Field(ge=1)] = 10

    @field_validator("webhook_url", "telegram_api_base")
    @classmethod
    def _http_url(cls, url: str | SecretStr | None) -> str | SecretStr | None:
        text = url.get_secret_value() if isinstance(url, SecretStr) else url
        if text is not None and not text.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")  # never the value: it may be the credential
        return url
