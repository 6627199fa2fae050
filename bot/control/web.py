"""The dashboard and the operators' routes, added to the control API's aiohttp application by `install`.

    GET  /login, POST /login   a token exchanged for a session cookie (the form carries its own CSRF nonce)
    POST /logout               ends the session
    GET  /                     the dashboard (a browser without a session is sent to /login)
    GET  /static/...           its script, styles and the vendored charting library (package data)
    GET  /overview             what the dashboard shows, once, as JSON
    GET  /events               the same, pushed every second as server-sent events
    GET  /audit                the operators' commands: who, through what, what, why, the outcome

The pages hold no inline script or style: the Content-Security-Policy (bot.control.access) allows only this
origin's files. A viewer's page has no command buttons, and the API refuses a viewer's command anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
import secrets
import time
from collections import deque
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Protocol

from aiohttp import web

from bot.config import Config
from bot.control.access import (
    ACCESS,
    LOGIN_COOKIE,
    OPERATOR,
    SECURITY_HEADERS,
    SESSION,
    SESSION_COOKIE,
    Access,
    authenticated,
    same,
)
from bot.control.operators import OperatorRegistry, may
from bot.control.overview import audit, overview
from bot.domain import parse_duration_ms
from bot.logs import get_logger
from bot.store.journal import Journal

EVENT_INTERVAL_S = 1.0
AUDIT_LIMIT = 200
MAX_FAILED_LOGINS_PER_MINUTE = 10
CLOSING = web.AppKey("closing", asyncio.Event)
LOGIN_FAILURES = web.AppKey("login_failures", deque[float])
_PACKAGE = resources.files("bot.control")
STATIC_DIR = Path(str(_PACKAGE / "static"))
_COMMANDS = ("pause", "resume", "flatten", "set-ratio", "kill")


class StatusSource(Protocol):
    def status(self) -> dict[str, Any]: ...


SOURCE: web.AppKey[StatusSource] = web.AppKey("source")


def install(app: web.Application, target: StatusSource, token: str) -> None:
    """Operators (from the target daemon's `[control]`, plus `token` as the admin `operator`), the dashboard
    routes, and, when `[telegram]` is on, the Telegram command bot for as long as the application runs."""
    config = getattr(target, "config", None)
    if isinstance(config, Config):
        registry = OperatorRegistry.for_control(config.control, token)
        ttl_s = parse_duration_ms(config.control.session_ttl) / 1000
    else:
        registry, ttl_s = OperatorRegistry.single(token), 12 * 3600.0
    app[ACCESS] = Access(registry, ttl_s)
    app[CLOSING] = asyncio.Event()
    app[LOGIN_FAILURES] = deque()
    app[SOURCE] = target
    app.middlewares.append(authenticated)
    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(_closing)
    app.router.add_get("/", _dashboard)
    app.router.add_get("/dashboard", _dashboard)
    app.router.add_get("/login", _login_page)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    app.router.add_get("/overview", _overview)
    app.router.add_get("/events", _events)
    app.router.add_get("/audit", _audit)
    app.router.add_static("/static", STATIC_DIR, follow_symlinks=False, append_version=False)
    if isinstance(config, Config) and config.telegram.enabled:
        from bot.control.telegram import telegram_context  # imported only where it runs

        app.cleanup_ctx.append(telegram_context(target, config))


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _closing(app: web.Application) -> None:
    app[CLOSING].set()  # the event streams end now, so the server's shutdown does not wait for them


def _template(name: str) -> Template:
    return Template((_PACKAGE / "templates" / name).read_text(encoding="utf-8"))


def _page(name: str, status: int = 200, **values: str) -> web.Response:
    text = _template(name).substitute({key: html.escape(value, quote=True) for key, value in values.items()})
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _raw_page(name: str, **values: str) -> web.Response:
    """Values already HTML (built here from escaped parts)."""
    text = _template(name).substitute(values)
    return web.Response(text=text, content_type="text/html", charset="utf-8")


# ---- login ------------------------------------------------------------------------------------------


async def _login_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    nonce = _nonce()
    response = _page("login.html", status, nonce=nonce, message=message)
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=request.secure, path="/login", max_age=3600
    )
    return response


def _nonce() -> str:
    return secrets.token_urlsafe(24)


async def _login(request: web.Request) -> web.StreamResponse:
    log = get_logger(component="control")
    form = await request.post()
    nonce, token = form.get("nonce"), form.get("token")
    if not isinstance(nonce, str) or not same(nonce, request.cookies.get(LOGIN_COOKIE, "")):
        log.warning("dashboard_login_refused", why="form nonce missing or stale", remote=request.remote)
        return await _login_page(request, "The login form expired; please try again.", 400)
    access = request.app[ACCESS]
    failures = request.app[LOGIN_FAILURES]
    now = time.monotonic()
    while failures and now - failures[0] > 60.0:
        failures.popleft()
    if len(failures) >= MAX_FAILED_LOGINS_PER_MINUTE:  # guessing tokens through the form is slowed to a crawl
        log.warning("dashboard_login_refused", why="too many failed logins", remote=request.remote)
        return await _login_page(request, "Too many failed sign-ins; wait a minute.", 429)
    operator = access.registry.identify(token.strip()) if isinstance(token, str) and token.strip() else None
    if operator is None:
        failures.append(now)
        log.warning("dashboard_login_refused", why="wrong token", remote=request.remote)
        return await _login_page(request, "That token is not an operator's.", 401)
    cookie, _ = access.open_session(operator)
    log.warning("dashboard_login", operator=operator.name, role=str(operator.role), remote=request.remote)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
        max_age=int(access.session_ttl_s),
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def _logout(request: web.Request) -> web.StreamResponse:
    request.app[ACCESS].close_session(request.cookies.get(SESSION_COOKIE))
    get_logger(component="control").info("dashboard_logout", operator=request[OPERATOR].name)
    response = web.Response(status=303, headers={"Location": "/login"})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


# ---- the dashboard ----------------------------------------------------------------------------------


async def _dashboard(request: web.Request) -> web.Response:
    operator = request[OPERATOR]
    session = request.get(SESSION)
    csrf = session.csrf if session is not None else ""
    allowed = [name for name in _COMMANDS if may(operator.role, name)]
    return _raw_page(
        "dashboard.html",
        operator=html.escape(operator.name),
        role=html.escape(str(operator.role)),
        csrf=html.escape(csrf, quote=True),
        commands=_command_buttons(allowed),
    )


def _command_buttons(allowed: list[str]) -> str:
    """The command panel, only with the commands this operator's role allows (none for a viewer)."""
    if not allowed:
        return '<p class="muted" id="read-only">Read-only: your role is viewer.</p>'
    buttons = "".join(
        f'<button type="button" class="command" data-command="{name}" id="cmd-{name}">{name}</button>'
        for name in allowed
    )
    return f'<div id="commands" class="commands">{buttons}</div>'


def _snapshot(request: web.Request) -> dict[str, Any]:
    target = request.app[SOURCE]
    operator = request[OPERATOR]
    return overview(target.status(), _journal(target), operator.name, str(operator.role))


def _journal(target: object) -> Journal | None:
    journal = getattr(target, "journal", None)
    return journal if isinstance(journal, Journal) else None


def _dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(json_safe(payload), allow_nan=False, default=str)


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers (a margin ratio with no positions) are sent as null. The one
    home for it: the control API's answers and the dashboard's stream both go through it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


async def _overview(request: web.Request) -> web.Response:
    return web.Response(text=_dumps({"ok": True, **_snapshot(request)}), content_type="application/json")


async def _audit(request: web.Request) -> web.Response:
    try:
        limit = min(max(int(request.query.get("limit", "50")), 1), AUDIT_LIMIT)
    except ValueError:
        limit = 50
    rows = audit(_journal(request.app[SOURCE]), limit)
    return web.Response(text=_dumps({"ok": True, "audit": rows}), content_type="application/json")


async def _events(request: web.Request) -> web.StreamResponse:
    """The overview every EVENT_INTERVAL_S until the client goes, the server stops, or the session ends."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    response.headers["Cache-Control"] = "no-store"
    await response.prepare(request)
    access: Access = request.app[ACCESS]
    closing = request.app[CLOSING]
    cookie = request.cookies.get(SESSION_COOKIE)
    with contextlib.suppress(ConnectionError):
        while not closing.is_set():
            if SESSION in request and access.session(cookie) is None:
                await response.write(b"event: logout\ndata: {}\n\n")  # rotated token, expired or logged out
                break
            await response.write(f"event: overview\ndata: {_dumps(_snapshot(request))}\n\n".encode())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), EVENT_INTERVAL_S)
    return response
