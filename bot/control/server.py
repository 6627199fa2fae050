"""The operator API: aiohttp on loopback (or a 0600 Unix socket); all but /health need a bearer token.

    GET  /health             {"ok": true}; no token needed, reveals nothing else (container health checks)
    GET  /status             {"ok": true, "status": {...}}
    POST /commands/{name}    JSON object of arguments (or an empty body) -> {"ok": true, "command", "status"}

A token is a named operator's (viewer, trader, admin; `bot.control.operators`); `"reason"` may go with any
command's arguments and is journaled with the operator's name. The dashboard, /audit and the browser login are
added by `bot.control.web`; 403 is a command the operator's role does not allow (or a dashboard POST
without its CSRF token).

Errors are JSON too, {"ok": false, "error": "..."}: 400 bad JSON or arguments, 401 no or wrong token, 404
unknown path or command, 405 wrong method, 408 a body not received within the read timeout (then closed), 413
body over MAX_BODY_BYTES, 409 refused by the engine (the daemon journals that refusal), 500 a bug (logged);
503 and closed at once for a connection beyond the cap (`ConnectionLimits`, bot/control/listen.py). A body is
parsed strictly: a repeated key, NaN or Infinity, a number beyond a float, a negative zero, a 40-digit integer
or a string with characters outside ASCII (a full-width "１h") is a 400 naming what was wrong.
Nothing is changed or journaled for a request that does not parse into a command; the daemon journals every
command it is given, with its outcome.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.commands import COMMAND_NAMES, Actor, Command, CommandError, parse_command
from bot.control.access import command_actor
from bot.control.auth import ControlSetupError
from bot.control.gate import ConnectionGate, ConnectionLimits
from bot.control.listen import ListenAddress
from bot.control.operators import RoleRefused
from bot.control.web import install as install_operators
from bot.control.web import json_safe
from bot.logs import get_logger
from bot.secrets import redact

MAX_BODY_BYTES = 16 * 1024  # the largest real command is ~60 bytes; anything near this is not an operator
SHUTDOWN_GRACE_S = 5.0  # a command in flight (a kill cancelling orders) may finish when the server stops
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes on Linux, with the terminating NUL
_MAX_INT_DIGITS = 30  # no argument is 10**30; Python would parse 4,300 digits, slowly

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Controllable(Protocol):
    """What the API drives: `bot.live.daemon.Daemon` (started)."""

    def status(self) -> dict[str, Any]: ...

    async def command(self, command: Command, args: Mapping[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        """Apply and journal (with who, through what, why); raise CommandError when the engine refuses."""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


TARGET = web.AppKey("target", Controllable)
GATE = web.AppKey("gate", ConnectionGate)


def build_app(target: Controllable, token: str, gate: ConnectionGate | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_read_deadline, _json_errors])
    app[TARGET] = target
    app[GATE] = gate or ConnectionGate(ConnectionLimits())
    install_operators(app, target, token)  # bot.control.web: named operators' auth middleware, dashboard, Telegram
    app.router.add_get("/health", _health)
    app.router.add_get("/status", _status)
    app.router.add_post("/commands/{name:[^/]+}", _command)  # any name, braces too, is answered by name
    return app


# ---- middlewares (the first listed is the outermost) --------------------------------------------------


@web.middleware
async def _read_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The head is in: the connection's clock stops while the request is handled (a body has its own timeout)
    and starts again, for the next request, once this one is answered."""
    gate = request.app[GATE]
    gate.busy(request.protocol)
    try:
        return await handler(request)
    finally:
        gate.idle(request.protocol)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer is JSON and never cached; every request is logged once, without its headers."""
    log = get_logger(component="control")
    try:
        response = await handler(request)
    except ApiError as exc:
        response = _error(exc.status, str(exc))
        if exc.status == 408:  # the rest of the body may still trickle in: this connection is done
            response.force_close()
    except web.HTTPRequestEntityTooLarge:
        response = _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    except web.HTTPException as exc:  # aiohttp's own 404 and 405
        if exc.status < 400:
            raise
        response = _error(exc.status, exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    except Exception:
        log.exception("control_request_failed", method=request.method, path=request.path)
        response = _error(500, "internal error; see the daemon's log")
    response.headers["Cache-Control"] = "no-store"
    level = log.info if response.status < 400 else log.warning
    level("control_request", method=request.method, path=request.path, status=response.status)
    return response


# ---- routes -----------------------------------------------------------------------------------


async def _health(_request: web.Request) -> web.Response:
    return _json({"ok": True})


async def _status(request: web.Request) -> web.Response:
    return _json({"ok": True, "status": request.app[TARGET].status()})


async def _command(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in COMMAND_NAMES:
        raise ApiError(404, f"unknown command {name!r}; commands: {', '.join(COMMAND_NAMES)}")
    args = await _json_object(request, name)
    target = request.app[TARGET]
    try:
        actor = command_actor(request, name, args)  # the operator's role allows it; `reason` taken out of args
    except RoleRefused as exc:
        raise ApiError(403, str(exc)) from None
    except CommandError as exc:
        raise ApiError(400, str(exc)) from None
    if name == "status":  # read-only, so not journaled; accepted here so every name works the same way
        if args:
            raise ApiError(400, f"status: takes no arguments, got {sorted(args)}")
        return _json({"ok": True, "command": name, "status": target.status()})
    try:
        command = parse_command(name, args)
    except CommandError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        status = await target.command(command, args, actor)
    except CommandError as exc:  # the engine refused it; the daemon has journaled the refusal
        raise ApiError(409, f"{name} refused: {str(exc).removeprefix(f'{name}: ')}") from None
    return _json({"ok": True, "command": name, "status": status})


async def _json_object(request: web.Request, name: str) -> dict[str, Any]:
    timeout = request.app[GATE].limits.read_timeout_s
    try:
        body = await asyncio.wait_for(request.read(), timeout)  # HTTPRequestEntityTooLarge past client_max_size
    except TimeoutError:
        raise ApiError(408, f"request body not received within {timeout:g} s") from None
    if not body.strip():
        return {}
    try:
        parsed = json.loads(
            body,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_strict_float,
            parse_int=_strict_int,
        )
    except _DuplicateKey as exc:
        raise ApiError(400, f"{name}: duplicate key {str(exc)!r} in the body") from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ApiError(400, f"body is not JSON: {type(exc).__name__}") from None
    if not isinstance(parsed, dict):
        kind = "number" if isinstance(parsed, _Refused) else type(parsed).__name__
        raise ApiError(400, f"body must be a JSON object of arguments, got {kind}")
    _check_arguments(name, parsed)
    return parsed


# ---- strict JSON: one reading of a body, the one its sender meant ---------------------------------------

_FREE_TEXT = frozenset({"reason"})  # journaled as written, never parsed: any script an operator writes in


class _DuplicateKey(Exception):
    """json.loads would keep the last value of a repeated key, a proxy or a log the first: refused."""


@dataclass(frozen=True, slots=True)
class _Refused:
    """A number in the body no argument can mean; reported with the argument's name by `_check_arguments`."""

    text: str
    why: str


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _no_constant(name: str) -> _Refused:
    return _Refused(name, "not a number JSON allows")


def _strict_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(text[:40], "beyond the range of a number")
    if value == 0.0 and text.startswith("-"):  # no argument is signed: a negative zero means nothing here
        return _Refused(text, "a negative zero")
    return value


def _strict_int(text: str) -> int | _Refused:
    digits = text.removeprefix("-")
    if len(digits) > _MAX_INT_DIGITS:
        return _Refused(f"{len(digits)} digits", "beyond any argument")
    if text.startswith("-") and not digits.strip("0"):
        return _Refused(text, "a negative zero")
    return int(text)


def _check_arguments(name: str, args: dict[str, Any]) -> None:
    """A refused number, or a string with characters outside ASCII ("１h": a full-width digit that a regular
    expression's \\d would read as 1), is a 400 naming the command and the argument, before anything is done."""
    for key, value in args.items():
        refused = _first_refused(value)
        if refused is not None:
            raise ApiError(400, f"{name}: {key} must be a number, got {refused.text} ({refused.why})")
        if key not in _FREE_TEXT and isinstance(value, str) and not value.isascii():
            raise ApiError(400, f"{name}: {key}: {value!r} has characters outside ASCII; write it in ASCII")


def _first_refused(value: Any) -> _Refused | None:
    """Depth first, without recursion: a body may nest as deep as json.loads allows."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _Refused):
            return item
        if isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return None


# ---- responses --------------------------------------------------------------------------------


def _json(payload: Mapping[str, Any], status: int = 200) -> web.Response:
    text = json.dumps(json_safe(payload), allow_nan=False, default=str)
    return web.Response(text=text, status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"ok": False, "error": redact(message)}, status)


# ---- serving ----------------------------------------------------------------------------------


class ControlServer:
    """The API bound to one address; `start` returns the address actually bound (port 0 becomes a port)."""

    def __init__(self, target: Controllable, token: str, limits: ConnectionLimits | None = None) -> None:
        self.gate = ConnectionGate(limits or ConnectionLimits())
        self._runner = web.AppRunner(
            build_app(target, token, self.gate),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE_S,
        )
        self._servers: list[asyncio.AbstractServer] = []
        self._unix_path: Path | None = None

    async def start(self, address: ListenAddress, ssl_context: ssl.SSLContext | None = None) -> ListenAddress:
        await self._runner.setup()
        try:
            bound = await self._bind(address, ssl_context)
        except BaseException:
            await self._runner.cleanup()
            raise
        log = get_logger(component="control")
        log.warning("control_listening", address=str(bound), tls=ssl_context is not None)
        return bound

    async def _bind(self, address: ListenAddress, ssl_context: ssl.SSLContext | None) -> ListenAddress:
        """Served through the gate rather than an aiohttp site: every connection passes the cap and the clock."""
        handler = self._runner.server
        assert handler is not None  # start() set the runner up
        factory = self.gate.factory(handler)
        loop = asyncio.get_running_loop()
        if address.unix_path is not None:
            sock = unix_socket(address.unix_path)
            self._unix_path = address.unix_path
            self._servers.append(await loop.create_server(factory, sock=sock, ssl=ssl_context))
            return address
        try:
            server = await loop.create_server(factory, address.host, address.port, ssl=ssl_context, reuse_address=True)
        except OSError as exc:
            raise _cannot_listen(address, exc) from None
        self._servers.append(server)
        return ListenAddress(host=address.host, port=int(server.sockets[0].getsockname()[1]))

    async def stop(self) -> None:
        for server in self._servers:  # no new connections; the runner then closes the open ones
            server.close()
        self._servers = []
        await self._runner.cleanup()
        if self._unix_path is not None:
            self._unix_path.unlink(missing_ok=True)
            self._unix_path = None


def unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket only its owner can connect to, with no moment where others could."""
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        raise ControlSetupError(f"control.listen: socket path {path} is over {_UNIX_PATH_MAX} bytes")
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)  # before listen(): until then every connect is refused, so no one slips in
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise _cannot_listen(f"unix:{path}", exc) from None
    sock.setblocking(False)
    return sock


def _cannot_listen(address: object, exc: OSError) -> ControlSetupError:
    return ControlSetupError(f"control.listen: cannot listen on {address} ({exc.strerror or exc})")


def _remove_stale_socket(path: Path) -> None:
    """A socket file left by a daemon that died is removed; a live one, or any other file, is an error."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlSetupError(f"control.listen: {path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise ControlSetupError(f"control.listen: another process is serving on unix:{path}")
