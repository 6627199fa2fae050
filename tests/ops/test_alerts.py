"""Alerts: delivered to a loopback webhook or Telegram, deduplicated, rate-limited, never leaking secrets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from bot.domain import MS_PER_MINUTE
from bot.ops.alerts import (
    QUEUE_SIZE,
    Alerter,
    AlertsSection,
    AlertsSetupError,
    Severity,
    TelegramSink,
    WebhookSink,
    sinks_from_config,
)
from bot.secrets import register
from bot.testing.live import serving

TELEGRAM_TOKEN = "123456:telegram-token-for-tests-abcdef"
CHAT = "-100200300"


class Clock:
    """The alerter's injected clock: tests move time explicitly."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@dataclass
class Receiver:
    """A loopback server standing in for Slack, Discord and Telegram; it records every POST."""

    base: str = ""
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    telegram_answer: dict[str, Any] = field(default_factory=lambda: {"ok": True, "result": {}})

    def texts(self) -> list[str]:
        return [body.get("text") or body.get("content") or "" for _path, body in self.posts]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    received = Receiver()

    async def record(request: web.Request) -> web.Response:
        received.posts.append((request.path, await request.json()))
        if request.path.endswith("/sendMessage"):
            return web.json_response(received.telegram_answer, status=received.status)
        return web.Response(status=received.status, text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    async with serving(app) as base:
        received.base = base
        yield received


def webhook(receiver: Receiver, style: Literal["slack", "discord"] = "slack") -> WebhookSink:
    return WebhookSink(f"{receiver.base}/hook", style)


@pytest.mark.asyncio
async def test_a_slack_style_webhook_receives_the_alert_as_text(receiver: Receiver) -> None:
    async with Alerter([webhook(receiver)], min_interval_s=600, clock_ms=Clock()) as alerter:
        assert alerter.alert("margin", "BTC/USDT:USDT", "margin ratio 1.4 below 2.0", Severity.CRITICAL)
        await alerter.flush()
    assert receiver.posts == [
        ("/hook", {"text": "hedgebot CRITICAL margin [BTC/USDT:USDT]: margin ratio 1.4 below 2.0"})
    ]
    assert alerter.stats.sent == 1


@pytest.mark.asyncio
async def test_a_discord_style_webhook_receives_the_alert_as_content(receiver: Receiver) -> None:
    async with Alerter([webhook(receiver, "discord")], min_interval_s=600, clock_ms=Clock()) as alerter:
        alerter.alert("feed", "prices", "prices 312 s old", "warning")
        await alerter.flush()
    [(_path, body)] = receiver.posts
    assert body == {"content": "hedgebot WARNING feed [prices]: prices 312 s old"}


@pytest.mark.asyncio
async def test_telegram_gets_a_send_message_for_the_chat_at_the_configured_api_base(
    receiver: Receiver,
) -> None:
    sink = TelegramSink(TELEGRAM_TOKEN, CHAT, api_base=receiver.base)
    async with Alerter([sink], min_interval_s=600, clock_ms=Clock()) as alerter:
        alerter.alert("state", "", "trading state active → halted: kill switch", Severity.CRITICAL)
        await alerter.flush()
    [(path, body)] = receiver.posts
    assert path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert body["chat_id"] == CHAT
    assert body["text"] == "hedgebot CRITICAL state: trading state active → halted: kill switch"
    assert alerter.stats.sent == 1


@pytest.mark.asyncio
async def test_repeats_within_the_interval_are_sent_once_and_counted_on_the_next_send(
    receiver: Receiver,
) -> None:
    clock = Clock()
    async with Alerter([webhook(receiver)], min_interval_s=600, clock_ms=clock) as alerter:
        assert alerter.alert("feed", "prices", "stale")
        clock.advance(60_000)
        assert not alerter.alert("feed", "prices", "stale")
        clock.advance(60_000)
        assert not alerter.alert("feed", "prices", "stale")
        await alerter.flush()
        assert len(receiver.posts) == 1
        clock.advance(600_000)
        assert alerter.alert("feed", "prices", "still stale")
        await alerter.flush()
    assert receiver.texts()[1] == "hedgebot WARNING feed [prices]: still stale (2 repeat(s) suppressed)"
    assert alerter.stats.suppressed == 2


@pytest.mark.asyncio
async def test_the_same_kind_with_another_key_is_not_a_repeat(receiver: Receiver) -> None:
    async with Alerter([webhook(receiver)], min_interval_s=600, clock_ms=Clock()) as alerter:
        assert alerter.alert("feed", "prices", "stale")
        assert alerter.alert("feed", "funding", "stale")
        assert alerter.alert("order", "prices", "rejected")
        await alerter.flush()
    assert len(receiver.posts) == 3


@pytest.mark.asyncio
async def test_no_more_than_max_per_minute_go_out_and_the_next_says_how_many_were_held(
    receiver: Receiver,
) -> None:
    clock = Clock()
    async with Alerter([webhook(receiver)], 600, clock, max_per_minute=3) as alerter:
        admitted = [alerter.alert("order", f"id-{n}", "rejected") for n in range(5)]
        await alerter.flush()
        assert admitted == [True, True, True, False, False]
        assert len(receiver.posts) == 3
        clock.advance(MS_PER_MINUTE)
        assert alerter.alert("order", "id-9", "rejected")
        await alerter.flush()
    assert receiver.texts()[-1].endswith("(2 other alert(s) held back by the rate limit)")
    assert alerter.stats.rate_limited == 2


@pytest.mark.asyncio
async def test_a_failing_sink_is_counted_and_logged_and_the_caller_never_sees_it(receiver: Receiver) -> None:
    receiver.status = 500
    with capture_logs() as logs:
        async with Alerter([webhook(receiver)], 600, Clock()) as alerter:
            assert alerter.alert("margin", "", "low")
            await alerter.flush()
    assert alerter.stats.failed == 1
    assert alerter.stats.sent == 0
    assert [entry["event"] for entry in logs] == ["alert_send_failed"]


@pytest.mark.asyncio
async def test_one_sink_failing_does_not_stop_the_other(receiver: Receiver) -> None:
    unreachable = WebhookSink("http://127.0.0.1:9/nothing-listens-here")  # port 9 (discard) is closed
    async with Alerter([unreachable, webhook(receiver)], 600, Clock()) as alerter:
        alerter.alert("fill", "", "filled")
        await alerter.flush()
    assert len(receiver.posts) == 1
    assert (alerter.stats.failed, alerter.stats.sent) == (1, 1)


@pytest.mark.asyncio
async def test_telegram_refusing_the_message_is_a_failure_and_the_token_is_not_logged(
    receiver: Receiver,
) -> None:
    receiver.status = 401
    receiver.telegram_answer = {"ok": False, "description": "Unauthorized"}
    with capture_logs() as logs:
        async with Alerter([TelegramSink(TELEGRAM_TOKEN, CHAT, receiver.base)], 600, Clock()) as alerter:
            alerter.alert("state", "", "halted")
            await alerter.flush()
    assert alerter.stats.failed == 1
    assert logs
    assert TELEGRAM_TOKEN not in json.dumps(logs, default=str)


@pytest.mark.asyncio
async def test_a_telegram_answer_that_is_not_ok_counts_as_a_failure(receiver: Receiver) -> None:
    receiver.telegram_answer = {"ok": False, "description": "chat not found"}
    async with Alerter([TelegramSink(TELEGRAM_TOKEN, CHAT, receiver.base)], 600, Clock()) as alerter:
        alerter.alert("state", "", "halted")
        await alerter.flush()
    assert (alerter.stats.failed, alerter.stats.sent) == (1, 0)


@pytest.mark.asyncio
async def test_a_registered_secret_in_a_message_is_masked_before_it_is_sent(receiver: Receiver) -> None:
    secret = register("sk-live-0123456789-secret-for-alert-tests")
    async with Alerter([webhook(receiver)], 600, Clock()) as alerter:
        alerter.alert("venue", "auth", f"login failed with key {secret}")
        await alerter.flush()
    [text] = receiver.texts()
    assert secret not in text
    assert text.endswith("login failed with key ***")


@pytest.mark.asyncio
async def test_alerts_raised_before_start_are_delivered_once_it_starts(receiver: Receiver) -> None:
    alerter = Alerter([webhook(receiver)], 600, Clock())
    assert alerter.alert("daemon", "", "starting")
    with pytest.raises(RuntimeError, match="before start"):
        await alerter.flush()
    async with alerter:
        await alerter.flush()
    assert receiver.texts() == ["hedgebot WARNING daemon: starting"]


@pytest.mark.asyncio
async def test_an_unknown_severity_is_sent_as_a_warning_rather_than_lost(receiver: Receiver) -> None:
    async with Alerter([webhook(receiver)], 600, Clock()) as alerter:
        assert alerter.alert("roll", "", "roll window opens", "urgent")
        await alerter.flush()
    assert receiver.texts() == ["hedgebot WARNING roll: roll window opens"]


@pytest.mark.asyncio
async def test_a_long_message_is_cut_to_what_discord_accepts(receiver: Receiver) -> None:
    async with Alerter([webhook(receiver, "discord")], 600, Clock()) as alerter:
        alerter.alert("status", "", "x" * 5000)
        await alerter.flush()
    [text] = receiver.texts()
    assert len(text) == 2000
    assert text.endswith("…")


@dataclass
class CountingSink:
    """A fake sink for invariants that need no network: it only counts."""

    name: str = "counting"
    texts: list[str] = field(default_factory=list)

    async def send(self, session: aiohttp.ClientSession, text: str) -> None:
        self.texts.append(text)


@dataclass
class HangingSink:
    """A fake sink whose endpoint accepts the connection and never answers."""

    name: str = "hanging"

    async def send(self, session: aiohttp.ClientSession, text: str) -> None:
        await asyncio.Event().wait()


@pytest.mark.asyncio
async def test_a_sink_that_never_answers_is_cut_off_and_counted_as_failed() -> None:
    async with Alerter([HangingSink()], 600, Clock(), timeout_s=0.05) as alerter:
        assert alerter.alert("margin", "", "low")
        await alerter.flush()
    assert (alerter.stats.failed, alerter.stats.sent) == (1, 0)


def test_alerts_beyond_the_queue_are_dropped_and_counted() -> None:
    alerter = Alerter([CountingSink()], 600, Clock(), max_per_minute=10_000)
    admitted = [alerter.alert("order", f"id-{n}", "rejected") for n in range(QUEUE_SIZE + 5)]
    assert admitted.count(True) == QUEUE_SIZE
    assert alerter.stats.dropped == 5


@given(
    st.lists(st.tuples(st.integers(0, 120_000), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=120),
    st.integers(1, 5),
)
def test_admitted_alerts_respect_both_the_interval_per_key_and_the_rate_per_minute(
    steps: list[tuple[int, str]], max_per_minute: int
) -> None:
    clock = Clock()
    alerter = Alerter([CountingSink()], min_interval_s=30, clock_ms=clock, max_per_minute=max_per_minute)
    admitted: list[tuple[int, str]] = []
    for advance_ms, key in steps:
        clock.advance(advance_ms)
        if alerter.alert("kind", key, "message"):
            admitted.append((clock.now_ms, key))
    for i, (ts, key) in enumerate(admitted):
        assert sum(1 for other, _ in admitted[i:] if other - ts < MS_PER_MINUTE) <= max_per_minute
        later_same_key = [other for other, k in admitted[i + 1 :] if k == key]
        assert not later_same_key or later_same_key[0] - ts >= 30_000
    held = alerter.stats.suppressed + alerter.stats.rate_limited
    assert len(admitted) + held == len(steps)


def test_alerts_are_off_by_default() -> None:
    section = AlertsSection()
    assert not section.enabled
    assert sinks_from_config(section) == []
    assert Alerter.from_config(section, Clock()) is None


def test_enabled_alerts_without_any_sink_are_refused_naming_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEDGEBOT_ALERT_WEBHOOK_URL", raising=False)
    with pytest.raises(AlertsSetupError, match=r"webhook_url.*telegram_chat_id"):
        sinks_from_config(AlertsSection(enabled=True))


def test_a_telegram_chat_without_a_token_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEDGEBOT_TEST_TELEGRAM", raising=False)
    section = AlertsSection(enabled=True, telegram_chat_id=CHAT, telegram_token_env="HEDGEBOT_TEST_TELEGRAM")
    with pytest.raises(AlertsSetupError, match="HEDGEBOT_TEST_TELEGRAM"):
        sinks_from_config(section)


def test_sinks_come_from_the_environment_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_ALERT_WEBHOOK_URL", "https://discord.example/api/webhooks/1/abc-secret")
    monkeypatch.setenv("HEDGEBOT_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    section = AlertsSection(enabled=True, webhook_style="discord", telegram_chat_id=CHAT, min_interval="5m")
    alerter = Alerter.from_config(section, Clock())
    assert alerter is not None
    assert alerter.min_interval_ms == 300_000
    assert [sink.name for sink in alerter.sinks] == ["webhook", "telegram"]
    assert alerter.sinks[0] == WebhookSink("https://discord.example/api/webhooks/1/abc-secret", "discord")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_interval": "soon"}, "not a duration"),
        ({"max_per_minute": 0}, "greater than or equal to 1"),
        ({"webhook_url": "hooks.slack.com/x"}, "http:// or https://"),
        ({"webhook_style": "teams"}, "'slack' or 'discord'"),
        ({"telegram_tokn_env": "X"}, "Extra inputs"),
    ],
)
def test_a_bad_alerts_setting_is_refused_with_the_reason(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlertsSection(**settings)
