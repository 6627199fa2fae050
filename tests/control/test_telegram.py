"""Telegram commands against a loopback fake of the Bot API: an allow-listed operator pauses and resumes a
running paper daemon from a chat, and a stranger's command changes nothing, gets no answer and is logged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.testing.telegram_fake import FakeBotApi

pytestmark = pytest.mark.asyncio

BOT_TOKEN = "123456:fake-telegram-bot-token-abcdef"
ALICE, VERA, STRANGER = 1001, 1002, 6666  # Telegram user ids; a private chat's id is the user's
TEAM_CHAT = -100777

LiveStarter = Callable[[Path, dict[str, Any]], AbstractAsyncContextManager[Any]]


@asynccontextmanager
async def daemon_with_telegram(
    tmp_path: Path,
    start_live: LiveStarter,
    config_data: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Any, FakeBotApi]]:
    monkeypatch.setenv("HEDGEBOT_TELEGRAM_TOKEN", BOT_TOKEN)
    async with FakeBotApi(BOT_TOKEN) as api:
        telegram = {
            "enabled": True,
            "api_base": api.base_url,
            "poll_timeout": "5s",
            "chats": [ALICE, VERA, TEAM_CHAT],
            "users": [{"id": ALICE, "name": "alice", "role": "trader"}, {"id": VERA, "name": "vera", "role": "viewer"}],
        }
        async with start_live(tmp_path, config_data(tmp_path, telegram=telegram)) as running:
            await api.polled()
            yield running, api


async def test_an_allow_listed_operator_pauses_and_resumes_and_the_journal_names_them_with_their_reason(
    tmp_path: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with daemon_with_telegram(tmp_path, start_live, config_data, monkeypatch) as (running, api):
        await api.say(ALICE, ALICE, "/pause funding looks odd")
        assert "pause: ok" in await api.reply_to(ALICE, "pause")
        assert running.daemon.status()["paused"] is True
        await api.say(ALICE, ALICE, "/resume all clear")
        assert "resume: ok" in await api.reply_to(ALICE, "resume")
        assert running.daemon.status()["paused"] is False
        rows = [(r["command"], r["operator"], r["via"], r["reason"]) for r in running.journal.rows("commands")]
        assert rows == [
            ("pause", "alice", "telegram", "funding looks odd"),
            ("resume", "alice", "telegram", "all clear"),
        ]
    assert BOT_TOKEN not in running.log_file.read_text()


async def test_a_strangers_flatten_changes_nothing_gets_no_answer_and_is_logged(
    tmp_path: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with daemon_with_telegram(tmp_path, start_live, config_data, monkeypatch) as (running, api):
        before = running.daemon.status()
        await api.say(STRANGER, STRANGER, "/flatten now")
        await api.say(STRANGER, TEAM_CHAT, "/flatten")  # an allowed chat does not make its members operators
        await api.say(ALICE, -100999, "/flatten")  # nor does an operator act from a chat that is not allowed
        await api.say(ALICE, ALICE, "/status")  # updates are handled in order: once this is answered, all were
        assert "state" in await api.reply_to(ALICE, "state")
        assert api.sent_to(STRANGER) == []
        assert api.sent_to(TEAM_CHAT) == []
        assert api.sent_to(-100999) == []
        assert running.journal.rows("commands") == []
        after = running.daemon.status()
        assert (after["state"], after["holds"]) == (before["state"], before["holds"])
    log = running.log_file.read_text()
    assert log.count('"event": "telegram_ignored"') == 3
    assert f'"user_id": {STRANGER}' in log
    assert '"command": "/flatten"' in log


async def test_a_viewer_is_refused_a_pause_but_may_read_status_and_the_report(
    tmp_path: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with daemon_with_telegram(tmp_path, start_live, config_data, monkeypatch) as (running, api):
        await api.say(VERA, VERA, "/pause")
        assert "refused: vera is a viewer" in await api.reply_to(VERA, "refused")
        await api.say(VERA, VERA, "/report")
        assert "ratio" in await api.reply_to(VERA, "ratio")
        assert running.daemon.status()["paused"] is False
        assert running.journal.rows("commands") == []


async def test_ratio_sets_a_temporary_hedge_ratio_for_the_duration_given_with_the_reason(
    tmp_path: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with daemon_with_telegram(tmp_path, start_live, config_data, monkeypatch) as (running, api):
        await api.say(ALICE, ALICE, "/ratio 0.3 2h calmer market")
        assert "set-ratio: ok" in await api.reply_to(ALICE, "set-ratio")
        assert running.daemon.status()["ratio_override"]["ratio"] == 0.3
        [row] = running.journal.rows("commands")
        assert (row["args"], row["reason"]) == ('{"ratio": 0.3, "for": "2h"}', "calmer market")
        await api.say(ALICE, ALICE, "/ratio lots")
        assert "ratio must be a number" in await api.reply_to(ALICE, "refused")
