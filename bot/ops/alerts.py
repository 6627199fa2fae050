"""Alerts to an operator: a Slack- or Discord-style webhook and/or a Telegram chat. Off by default.

`Alerter.alert()` is a plain call that never blocks and never raises: it decides at once (on the injected
clock) whether the alert goes out, and queues it for a sender task. The same kind+key within
`min_interval_s` of the last one sent is suppressed, and the next one sent says how many were; at most
`max_per_minute` alerts go out in any 60 s, and the next one sent says how many the limit held back.
A sink that fails is counted and logged, never retried blind, never raised into the daemon. Every text is
passed through `bot.secrets.redact`, and the webhook URL and Telegram token are registered as secrets, so
neither can leak through an error message.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import aiohttp

from bot.config import AlertsSection as AlertsSection  # the settings live with the config
from bot.domain import MS_PER_MINUTE, parse_duration_ms
from bot.logs import get_logger
from bot.secrets import read_secret, redact, register
from bot.settings.ops import TELEGRAM_API

SEND_TIMEOUT_S = 10.0  # a sink slower than this is a failed send, not a stalled alert queue
QUEUE_SIZE = 256  # far above what max_per_minute lets through; overflow is counted as dropped


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertsSetupError(ValueError):
    """Alerts are enabled but cannot be sent anywhere; the message names the setting to fix."""


# ---- sinks ------------------------------------------------------------------------------------------


class AlertSink(Protocol):
    @property
    def name(self) -> str:
        """Names the sink in logs (never its URL, which may be a credential)."""

    async def send(self, session: aiohttp.ClientSession, text: str) -> None:
        """Deliver `text`; raise on any failure (the alerter counts and logs it)."""


@dataclass(frozen=True, slots=True)
class WebhookSink:
    """Posts `{"text": ...}` (Slack incoming webhook) or `{"content": ...}` (Discord webhook)."""

    url: str
    style: Literal["slack", "discord"] = "slack"
    name: str = "webhook"

    def __post_init__(self) -> None:
        register(self.url)  # the URL is the credential: never let it appear in a log line

    async def send(self, session: aiohttp.ClientSession, text: str) -> None:
        limit, field = (2000, "content") if self.style == "discord" else (3000, "text")
        async with session.post(self.url, json={field: _truncate(text, limit)}) as response:
            response.raise_for_status()


@dataclass(frozen=True, slots=True)
class TelegramSink:
    """Bot API sendMessage; `api_base` is configurable so tests can point it at a loopback server."""

    bot_token: str
    chat_id: str
    api_base: str = TELEGRAM_API
    name: str = "telegram"

    def __post_init__(self) -> None:
        register(self.bot_token)  # it is part of the URL, which aiohttp puts in its error messages

    async def send(self, session: aiohttp.ClientSession, text: str) -> None:
        url = f"{self.api_base.rstrip('/')}/bot{self.bot_token}/sendMessage"
        payload = {"chat_id": self.chat_id, "text": _truncate(text, 4096), "disable_web_page_preview": True}
        async with session.post(url, json=payload) as response:
            response.raise_for_status()
            answer = await response.json(content_type=None)
            if not (isinstance(answer, dict) and answer.get("ok") is True):
                raise RuntimeError(f"telegram answered {str(answer)[:200]}")


def _severity(value: Severity | str) -> Severity:
    """An unknown severity is sent as a warning rather than lost."""
    try:
        return Severity(value)
    except ValueError:
        return Severity.WARNING


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sinks_from_config(section: AlertsSection) -> list[AlertSink]:
    """The sinks `[alerts]` asks for, secrets read from the environment; [] when alerts are off."""
    if not section.enabled:
        return []
    sinks: list[AlertSink] = []
    webhook = section.webhook_url.get_secret_value() if section.webhook_url else read_secret(section.webhook_url_env)
    if webhook:
        sinks.append(WebhookSink(webhook, section.webhook_style))
    if section.telegram_chat_id:
        token = read_secret(section.telegram_token_env)
        if not token:
            raise AlertsSetupError(
                f"alerts.telegram_chat_id is set but ${section.telegram_token_env} holds no Telegram token"
            )
        sinks.append(TelegramSink(token, section.telegram_chat_id, section.telegram_api_base))
    if not sinks:
        raise AlertsSetupError(
            f"alerts.enabled = true but no sink: set alerts.webhook_url (or ${section.webhook_url_env})"
            " or alerts.telegram_chat_id"
        )
    return sinks


# ---- the alerter ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    ts_ms: int
    kind: str
    key: str
    message: str
    severity: Severity
    repeats_suppressed: int = 0  # same kind+key since the last one sent
    rate_limited: int = 0  # alerts of any kind the rate limit held back since the last one sent

    def text(self) -> str:
        notes = []
        if self.repeats_suppressed:
            notes.append(f"{self.repeats_suppressed} repeat(s) suppressed")
        if self.rate_limited:
            notes.append(f"{self.rate_limited} other alert(s) held back by the rate limit")
        suffix = f" ({'; '.join(notes)})" if notes else ""
        key = f" [{self.key}]" if self.key else ""
        return redact(f"hedgebot {self.severity.upper()} {self.kind}{key}: {self.message}{suffix}")


@dataclass(slots=True)
class AlertStats:
    queued: int = 0
    sent: int = 0  # deliveries that succeeded (one alert to two sinks counts two)
    failed: int = 0  # deliveries that raised or timed out
    suppressed: int = 0  # repeats inside min_interval
    rate_limited: int = 0
    dropped: int = 0  # the queue was full (the sinks are far behind)


class Alerter:
    def __init__(
        self,
        sinks: Sequence[AlertSink],
        min_interval_s: float,
        clock_ms: Callable[[], int],
        *,
        max_per_minute: int = 10,
        timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self.sinks = tuple(sinks)
        self.min_interval_ms = int(min_interval_s * 1000)
        self.max_per_minute = max_per_minute
        self.stats = AlertStats()
        self._clock_ms = clock_ms
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._last_sent: dict[tuple[str, str], int] = {}
        self._repeats: dict[tuple[str, str], int] = {}
        self._recent: deque[int] = deque()  # send times inside the last minute
        self._held_back = 0
        self._session: aiohttp.ClientSession | None = None
        self._sender: asyncio.Task[None] | None = None
        self._log = get_logger(component="alerts")

    @classmethod
    def from_config(cls, section: AlertsSection, clock_ms: Callable[[], int]) -> Alerter | None:
        """None when `[alerts]` is off; AlertsSetupError when it is on but has nowhere to send."""
        sinks = sinks_from_config(section)
        if not sinks:
            return None
        interval_s = parse_duration_ms(section.min_interval) / 1000
        return cls(sinks, interval_s, clock_ms, max_per_minute=section.max_per_minute)

    async def start(self) -> None:
        if self._sender is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout_s))
            self._sender = asyncio.create_task(self._send_forever(), name="alert-sender")

    async def flush(self) -> None:
        """Wait until every queued alert has been handed to every sink (sent or failed)."""
        if self._sender is None:
            raise RuntimeError("Alerter.flush() before start(): nothing would ever drain the queue")
        await self._queue.join()

    async def close(self) -> None:
        """Stop the sender; alerts still queued are dropped (call `flush()` first to deliver them)."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Alerter:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def alert(self, kind: str, key: str, message: str, severity: Severity | str = Severity.WARNING) -> bool:
        """Queue an alert unless it repeats one sent within min_interval or exceeds the rate limit.

        True when queued. Never raises and never waits: the daemon calls this from its event path.
        """
        try:
            return self._admit(kind, key, redact(message), _severity(severity))
        except Exception:  # a bug here must cost an alert, never the daemon
            self._log.exception("alert_failed", kind=kind, key=key)
            return False

    def _admit(self, kind: str, key: str, message: str, severity: Severity) -> bool:
        now = self._clock_ms()
        identity = (kind, key)
        last = self._last_sent.get(identity)
        if last is not None and now - last < self.min_interval_ms:
            self._repeats[identity] = self._repeats.get(identity, 0) + 1
            self.stats.suppressed += 1
            return False
        while self._recent and now - self._recent[0] >= MS_PER_MINUTE:
            self._recent.popleft()
        if len(self._recent) >= self.max_per_minute:
            self._held_back += 1
            self.stats.rate_limited += 1
            self._log.warning("alert_rate_limited", kind=kind, key=key)
            return False
        alert = Alert(now, kind, key, message, severity, self._repeats.get(identity, 0), self._held_back)
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            self._log.error("alert_dropped", kind=kind, key=key, reason="queue full")
            return False
        self._repeats.pop(identity, None)  # reported by this alert, so counted afresh from here
        self._held_back = 0
        self._last_sent[identity] = now
        self._recent.append(now)
        self.stats.queued += 1
        return True

    async def _send_forever(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._deliver(alert)
            finally:
                self._queue.task_done()

    async def _deliver(self, alert: Alert) -> None:
        assert self._session is not None
        text = alert.text()
        for sink in self.sinks:
            try:
                async with asyncio.timeout(self._timeout_s):  # also bounds a sink that ignores the session's
                    await sink.send(self._session, text)
            except Exception as exc:  # a sink's failure must never reach the daemon
                self.stats.failed += 1
                error = redact(f"{type(exc).__name__}: {exc}")
                where = {"sink": sink.name, "kind": alert.kind, "key": alert.key}
                self._log.warning("alert_send_failed", error=error, **where)
            else:
                self.stats.sent += 1
