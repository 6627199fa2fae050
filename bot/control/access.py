"""Who is asking: a bearer token (`hedgebot ctl`, scripts) or a dashboard session cookie, and what they may do.

One middleware runs before every route. It lets through only /health, the login page and the static assets;
everything else needs either `Authorization: Bearer <token>` of a named operator, or the session cookie a
dashboard login gave (HttpOnly, SameSite=Strict, Secure over TLS), and with the cookie every request that is
not a GET needs the session's CSRF token in the `X-CSRF-Token` header. A browser without a session asking for
a page is sent to the login; anything else gets the API's 401. Every answer carries a strict
Content-Security-Policy (scripts, styles and connections from this origin only; no inline script, no frames).

Sessions live in memory (a restart logs everyone out), last `[control] session_ttl`, and end early when the
operator's token is rotated or the operator removed: a session remembers the digest of the token it was opened
with and is checked against the registry on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.commands import Actor, parse_reason
from bot.control.auth import CLIENT_HEADER
from bot.control.operators import Operator, OperatorRegistry, RoleRefused, bearer_token, may
from bot.logs import get_logger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "hb_session"
LOGIN_COOKIE = "hb_login"  # the login form's own CSRF nonce (double submit), before any session exists
CSRF_HEADER = "X-CSRF-Token"
MAX_SESSIONS = 256
OPEN_PATHS = frozenset({"/health", "/login"})
PAGES = frozenset({"/", "/dashboard"})  # a browser without a session is sent to the login from these
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(slots=True)
class WebSession:
    operator: str
    token_digest: bytes  # the token it was opened with: rotating that token ends the session
    csrf: str
    expires: float  # time.monotonic()

    def __repr__(self) -> str:  # never the CSRF token
        return f"WebSession({self.operator!r})"


class Access:
    """The operators and the dashboard sessions of one control API."""

    def __init__(self, registry: OperatorRegistry, session_ttl_s: float = 12 * 3600.0) -> None:
        self.registry = registry
        self.session_ttl_s = session_ttl_s
        self._sessions: dict[bytes, WebSession] = {}  # keyed by the cookie's digest, not the cookie
        self._log = get_logger(component="control")

    def open_session(self, operator: Operator) -> tuple[str, WebSession]:
        """A new session for `operator`: (the cookie value, the session)."""
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))  # the oldest goes first
        cookie = secrets.token_urlsafe(32)
        session = WebSession(
            operator.name, operator.digest, secrets.token_urlsafe(24), time.monotonic() + self.session_ttl_s
        )
        self._sessions[_key(cookie)] = session
        return cookie, session

    def session(self, cookie: str | None) -> tuple[Operator, WebSession] | None:
        """The live session of this cookie and its operator as the registry has it now, or None."""
        if not cookie:
            return None
        key = _key(cookie)
        session = self._sessions.get(key)
        if session is None:
            return None
        operator = self.registry.named(session.operator)
        if session.expires < time.monotonic() or operator is None or operator.digest != session.token_digest:
            del self._sessions[key]
            return None
        return operator, session

    def close_session(self, cookie: str | None) -> None:
        if cookie:
            self._sessions.pop(_key(cookie), None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [key for key, session in self._sessions.items() if session.expires < now]:
            del self._sessions[key]


ACCESS = web.AppKey("access", Access)
OPERATOR = web.RequestKey("operator", Operator)
VIA = web.RequestKey("via", str)
SESSION = web.RequestKey("session", WebSession)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def _key(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).digest()


def _refusal(status: int, message: str) -> web.Response:
    response = web.json_response({"ok": False, "error": message}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hedgebot"'
    return response


@web.middleware
async def authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs before any route, so an unauthenticated caller learns nothing, not even which paths exist."""
    response = await _authenticate(request, handler)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in OPEN_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    access = request.app[ACCESS]
    token = bearer_token(request.headers.get("Authorization"))
    if token is not None:
        operator = access.registry.identify(token)
        if operator is None:
            return _refusal(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        request[OPERATOR] = operator
        request[VIA] = "ctl" if request.headers.get(CLIENT_HEADER) == "ctl" else "api"
        return await handler(request)
    found = access.session(request.cookies.get(SESSION_COOKIE))
    if found is None:
        if request.method in ("GET", "HEAD") and request.path in PAGES:
            raise web.HTTPSeeOther("/login")
        return _refusal(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
    operator, session = found
    if request.method not in ("GET", "HEAD") and not same(request.headers.get(CSRF_HEADER, ""), session.csrf):
        get_logger(component="control").warning(
            "csrf_refused", operator=operator.name, method=request.method, path=request.path
        )
        return _refusal(403, f"missing or wrong {CSRF_HEADER}: reload the dashboard")
    request[OPERATOR] = operator
    request[VIA] = "dashboard"
    request[SESSION] = session
    return await handler(request)


def command_actor(request: web.Request, command: str, args: dict[str, Any]) -> Actor:
    """Who gives `command` (the authenticated operator), through what, and why: `reason` is taken out of `args`.
    Raises RoleRefused when the operator's role does not allow it (logged: the audit of an attempt), and
    CommandError for a reason that is not one line of text."""
    operator = request[OPERATOR]
    via = request[VIA]
    if not may(operator.role, command):
        get_logger(component="control").warning(
            "command_refused_role", operator=operator.name, role=str(operator.role), via=via, command=command
        )
        raise RoleRefused(operator, command)
    reason = parse_reason(args.pop("reason", None))
    return Actor(operator.name, via, reason)
