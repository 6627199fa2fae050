"""Operator commands over Telegram, by long polling (python-telegram-bot), inside the daemon.

    /status                  the state, holds, ratio, positions vs targets (as `hedgebot ctl status`)
    /pause [reason]          /resume [reason]          /flatten [reason]
    /ratio R [for] [reason]  a temporary hedge ratio, like `ctl set-ratio R --for 1h` (`for` default 1h)
    /report                  P&L hedged and unhedged, effectiveness and costs over the journal's valuations

Only messages from an allow-listed chat (`[telegram] chats`) AND an allow-listed user (`[telegram] users`,
each mapped to a named operator and role) are acted on; anything else gets no answer and is logged
(`telegram_ignored`: user and chat ids, the command's first word, never the rest). A command the user's role
does not allow is refused with a reply. Commands are journaled like every other, with the operator's name,
`via = "telegram"` and the reason typed after the command.

The Bot API's address is `[telegram] api_base` (tests point it at `bot.testing.telegram_fake`); the bot token
comes from the environment or a 0600 file and is registered for redaction (it is part of every request URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.commands import Actor, CommandError, parse_command, parse_reason
from bot.config import Config, TelegramSection
from bot.control.auth import ControlSetupError
from bot.control.operators import Role, may
from bot.control.overview import effectiveness
from bot.control.render import command_text, status_text
from bot.domain import parse_duration_ms
from bot.logs import get_logger
from bot.secrets import SecretError, read_secret
from bot.store.journal import Journal

MAX_MESSAGE = 4096
RETRY_S = (1.0, 5.0, 15.0, 60.0)  # between attempts to reach the Bot API at start; the last repeats
# Each Telegram command and the control command it is (whose role it needs): /report only reads, like /status.
_COMMANDS = {"status": "status", "pause": "pause", "resume": "resume", "flatten": "flatten", "ratio": "set-ratio",
             "report": "status"}  # fmt: skip


class Commandable(Protocol):
    def status(self) -> dict[str, Any]: ...

    async def command(self, command: Any, args: Mapping[str, Any], actor: Actor | None = None) -> dict[str, Any]: ...


def telegram_context(target: Any, config: Config) -> Callable[[web.Application], AsyncIterator[None]]:
    """For `app.cleanup_ctx`: the bot polls while the control API runs."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        bot = TelegramCommands(target, config.telegram)
        bot.start()
        try:
            yield
        finally:
            await bot.stop()

    return context


def bot_token(section: TelegramSection) -> str:
    try:
        token = read_secret(section.token_env, section.token_file)
    except SecretError as exc:
        raise ControlSetupError(f"telegram token: {exc}") from None
    if not token:
        where = f"${section.token_env}" + (f" or {section.token_file}" if section.token_file else "")
        raise ControlSetupError(f"telegram.enabled = true but {where} holds no bot token")
    return token


class TelegramCommands:
    """The long-polling bot: `start()` returns at once (it connects in the background), `stop()` waits."""

    def __init__(self, target: Commandable, section: TelegramSection) -> None:
        self._target = target
        self._section = section
        self._users = {user.id: (user.name, Role.parse(user.role)) for user in section.users}
        self._chats = frozenset(section.chats)
        self._log = get_logger(component="telegram")
        token = bot_token(section)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry request URLs (with the token)
        poll_s = parse_duration_ms(section.poll_timeout) / 1000
        self._poll_s = max(1, int(poll_s))
        base = section.api_base.rstrip("/")
        self._app = (
            Application.builder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .job_queue(None)
            .get_updates_read_timeout(self._poll_s + 10.0)
            .build()
        )
        self._app.add_handler(TypeHandler(Update, self._on_update))
        self._app.add_error_handler(self._on_error)
        self._task: asyncio.Task[None] | None = None
        self.polling = asyncio.Event()  # set once getUpdates is being called

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="telegram-commands")

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._app.initialize()  # getMe: the token is good and the API reachable
                break
            except TelegramError as exc:
                wait = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                self._log.warning("telegram_unreachable", error=str(exc), retry_in_s=wait)
                attempt += 1
                await asyncio.sleep(wait)
        assert self._app.updater is not None
        await self._app.updater.start_polling(
            timeout=self._poll_s, allowed_updates=["message"], error_callback=self._polling_error
        )
        await self._app.start()
        self.polling.set()
        self._log.warning("telegram_polling", chats=sorted(self._chats), operators=[n for n, _ in self._users.values()])

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        updater = self._app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._app.running:
            await self._app.stop()
        with contextlib.suppress(TelegramError, RuntimeError):
            await self._app.shutdown()

    def _polling_error(self, error: TelegramError) -> None:
        self._log.warning("telegram_polling_failed", error=str(error))

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self._log.error("telegram_handler_failed", error=str(context.error))

    # ---- one message ------------------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        text = message.text if message is not None and message.text else ""
        word = text.split(maxsplit=1)[0][:32] if text.strip() else "(no text)"
        user_id, chat_id = (user.id if user else None), (chat.id if chat else None)
        operator = self._users.get(user_id) if user_id is not None else None
        if message is None or operator is None or chat_id not in self._chats:
            self._log.warning("telegram_ignored", user_id=user_id, chat_id=chat_id, command=word)
            return
        name, role = operator
        command = word.lstrip("/").partition("@")[0]
        command = command.lower()
        if not text.startswith("/") or command not in _COMMANDS:
            await message.reply_text("commands: /status, /pause, /resume, /flatten, /ratio R [for] [reason], /report")
            return
        if not may(role, _COMMANDS[command]):
            self._log.warning("command_refused_role", operator=name, role=str(role), via="telegram", command=command)
            await message.reply_text(f"refused: {name} is a {role}; /{command} needs a trader or admin")
            return
        words = text.split()[1:]
        try:
            answer = await self._answer(command, words, Actor(name, "telegram", ""))
        except CommandError as exc:
            answer = f"/{command} refused: {exc}"
        await message.reply_text(_truncate(answer))

    async def _answer(self, command: str, words: list[str], actor: Actor) -> str:
        target = self._target
        if command == "status":
            return status_text(target.status())
        if command == "report":
            return report_text(target.status(), _journal(target))
        args: dict[str, Any] = {}
        if command == "ratio":
            if not words:
                raise CommandError("give the ratio, like /ratio 0.5 2h reason")
            args["ratio"] = _float(words.pop(0))
            if words and _is_duration(words[0]):
                args["for"] = words.pop(0)
        name = _COMMANDS[command]
        parsed = parse_command(name, args)
        reason = parse_reason(" ".join(words))
        status = await target.command(parsed, args, Actor(actor.operator, actor.via, reason))
        return command_text(name, status)


def report_text(status: Mapping[str, Any], journal: Journal | None) -> str:
    """The journal's valuations summed up: value unhedged and hedged, effectiveness, costs so far."""
    rows = journal.recent("valuations", 24 * 366) if journal is not None else []
    lines = [f"state {status.get('state')}{', paused' if status.get('paused') else ''}; ratio {status.get('ratio')}"]
    if len(rows) < 2:
        lines.append("report: fewer than two hourly valuations yet")
        return "\n".join(lines)
    first, last = rows[0], rows[-1]
    unhedged = last["spot_value"] - first["spot_value"]
    hedged = unhedged + (last["hedge_equity"] - last["collateral"]) - (first["hedge_equity"] - first["collateral"])
    found = effectiveness(rows)
    lines += [
        f"{len(rows)} hourly valuations; P&L unhedged {unhedged:+,.2f}, hedged {hedged:+,.2f}",
        f"variance reduction {_pct(found['variance_reduction'])},"
        f" drawdown reduction {_pct(found['drawdown_reduction'])}",
        f"fees {last['fees_cum']:,.2f}, funding {last['funding_cum']:+,.2f} (+ = received)",
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _journal(target: object) -> Journal | None:
    journal = getattr(target, "journal", None)
    return journal if isinstance(journal, Journal) else None


def _float(word: str) -> float | str:
    try:
        return float(word)
    except ValueError:
        return word  # parse_command names it: "ratio must be a number, got '...'"


def _is_duration(word: str) -> bool:
    try:
        parse_duration_ms(word)
    except (ValueError, OverflowError):
        return False
    return True


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
