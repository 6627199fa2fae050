"""A loopback fake of the Telegram Bot API: getMe, deleteWebhook, getUpdates (long polling), sendMessage.

`async with FakeBotApi(token) as api:` serves on 127.0.0.1 (`api.base_url` is what `[telegram] api_base`
takes); `api.say(user_id, chat_id, "/pause because")` queues a message as Telegram would deliver it, and
`await api.reply_to(chat_id, containing)` waits (bounded) for the bot's answer in that chat. Requests with
another token are answered 401 as Telegram does. Parameters come as JSON or as a form (python-telegram-bot
posts forms), values as Telegram sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

WAIT_S = 20.0
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "hedgebot", "username": "hedgebot_fake_bot"}


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []  # sendMessage parameters, in order
        self.calls: list[str] = []  # method names, in order
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._news = asyncio.Condition()
        self._closing = False
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self.base_url = ""

    async def __aenter__(self) -> FakeBotApi:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        async with self._news:
            self._closing = True
            self._news.notify_all()  # long polls in progress answer at once
        await self._runner.cleanup()

    # ---- what a test does ---------------------------------------------------------------------------

    async def say(self, user_id: int, chat_id: int, text: str) -> None:
        """A message from `user_id` in `chat_id`, as getUpdates delivers it."""
        command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id == user_id else "group"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "text": text,
        }
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        async with self._news:
            self.updates.append({"update_id": next(self._ids), "message": message})
            self._news.notify_all()

    async def reply_to(self, chat_id: int, containing: str = "", timeout_s: float = WAIT_S) -> str:
        """The first message sent to `chat_id` containing `containing` (waited for, at most `timeout_s`)."""

        def found() -> str | None:
            return next(
                (
                    str(m["text"])
                    for m in self.sent
                    if str(m.get("chat_id")) == str(chat_id) and containing in str(m["text"])
                ),
                None,
            )

        async with self._news:
            await asyncio.wait_for(self._news.wait_for(lambda: found() is not None), timeout_s)
        text = found()
        assert text is not None
        return text

    async def polled(self, times: int = 1, timeout_s: float = WAIT_S) -> None:
        """Wait until getUpdates has been called `times` times (the bot is listening)."""
        async with self._news:
            await asyncio.wait_for(self._news.wait_for(lambda: self.calls.count("getUpdates") >= times), timeout_s)

    def sent_to(self, chat_id: int) -> list[str]:
        return [str(m["text"]) for m in self.sent if str(m.get("chat_id")) == str(chat_id)]

    # ---- the Bot API ------------------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await _params(request)
        async with self._news:
            self.calls.append(method)
            self._news.notify_all()
        if method == "getMe":
            return _ok(BOT_USER)
        if method in ("deleteWebhook", "setMyCommands"):
            return _ok(True)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method == "sendMessage":
            return _ok(await self._send_message(params))
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
        )

    async def _get_updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), WAIT_S)

        def pending() -> list[dict[str, Any]]:
            return [update for update in self.updates if update["update_id"] >= offset]

        async with self._news:
            if not pending() and timeout > 0 and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._news.wait_for(lambda: bool(pending()) or self._closing), timeout)
            return pending()

    async def _send_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        async with self._news:
            self.sent.append(dict(params))
            self._news.notify_all()
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": str(params.get("text", "")),
        }


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _params(request: web.Request) -> dict[str, Any]:
    """JSON body, or a form whose values are JSON where they parse (python-telegram-bot's encoding)."""
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    params: dict[str, Any] = dict(request.query)
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params
