"""The operator API: aiohttp on loopback (or a 0600 Unix socket); all but /health need a bearer token.

    GET  /health             {"ok": true}; no token needed, reveals nothing else (container health checks)
    GET  /status             {"ok": true, "status": {...}}
    POST /commands/{name}    JSON object of arguments (or an empty body) -> {"ok": true, "command", "status"}

Errors are JSON too, {"ok": false, "error": "..."}: 400 bad JSON or arguments, 401 no or wrong token, 404
unknown path or command, 405 wrong method, 413 body over MAX_BODY_BYTES, 409 refused by the engine (the
daemon journals that refusal), 500 a bug (logged). Nothing is changed or journaled for a request that does
not parse into a command; the daemon journals every command it is given, with its outcome.
"""

from __future__ import annotations

import json
import math
import os
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.commands import COMMAND_NAMES, Command, CommandError, parse_command
from bot.control.auth import BearerCheck, ControlSetupError
from bot.control.listen import ListenAddress
from bot.logs import get_logger
from bot.secrets import redact

MAX_BODY_BYTES = 16 * 1024  # the largest real command is ~60 bytes; anything near this is not an operator
SHUTDOWN_GRACE_S = 5.0  # a command in flight (a kill cancelling orders) may finish when the server stops
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes on Linux, with the terminating NUL
_OPEN_PATHS = frozenset({"/health"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Controllable(Protocol):
    """What the API drives: `bot.live.daemon.Daemon` (started)."""

    def status(self) -> dict[str, Any]: ...

    async def command(self, command: Command, args: Mapping[str, Any]) -> dict[str, Any]:
        """Apply and journal; raise CommandError when the engine refuses."""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


TARGET = web.AppKey("target", Controllable)
BEARER = web.AppKey("bearer", BearerCheck)


def build_app(target: Controllable, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_json_errors, _authenticated])
    app[TARGET] = target
    app[BEARER] = BearerCheck(token)
    app.router.add_get("/health", _health)
    app.router.add_get("/status", _status)
    app.router.add_post("/commands/{name:[^/]+}", _command)  # any name, braces too, is answered by name
    return app


# ---- middlewares (the first listed is the outermost) --------------------------------------------------


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer is JSON and never cached; every request is logged once, without its headers."""
    log = get_logger(component="control")
    try:
        response = await handler(request)
    except ApiError as exc:
        response = _error(exc.status, str(exc))
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


@web.middleware
async def _authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs before any route, so an unauthenticated caller learns nothing, not even which paths exist."""
    authorization = request.headers.get("Authorization")
    if request.path not in _OPEN_PATHS and not request.app[BEARER].accepts(authorization):
        response = _error(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hedgebot"'
        return response
    return await handler(request)


# ---- routes -----------------------------------------------------------------------------------


async def _health(_request: web.Request) -> web.Response:
    return _json({"ok": True})


async def _status(request: web.Request) -> web.Response:
    return _json({"ok": True, "status": request.app[TARGET].status()})


async def _command(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in COMMAND_NAMES:
        raise ApiError(404, f"unknown command {name!r}; commands: {', '.join(COMMAND_NAMES)}")
    args = await _json_object(request)
    target = request.app[TARGET]
    if name == "status":  # read-only, so not journaled; accepted here so every name works the same way
        if args:
            raise ApiError(400, f"status: takes no arguments, got {sorted(args)}")
        return _json({"ok": True, "command": name, "status": target.status()})
    try:
        command = parse_command(name, args)
    except CommandError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        status = await target.command(command, args)
    except CommandError as exc:  # the engine refused it; the daemon has journaled the refusal
        raise ApiError(409, f"{name} refused: {str(exc).removeprefix(f'{name}: ')}") from None
    return _json({"ok": True, "command": name, "status": status})


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await request.read()  # raises HTTPRequestEntityTooLarge past client_max_size
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ApiError(400, f"body is not JSON: {type(exc).__name__}") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, f"body must be a JSON object of arguments, got {type(parsed).__name__}")
    return parsed


# ---- responses --------------------------------------------------------------------------------


def _json(payload: Mapping[str, Any], status: int = 200) -> web.Response:
    text = json.dumps(_finite(payload), allow_nan=False, default=str)
    return web.Response(text=text, status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"ok": False, "error": redact(message)}, status)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers (a margin ratio with no positions) are sent as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# ---- serving ----------------------------------------------------------------------------------


class ControlServer:
    """The API bound to one address; `start` returns the address actually bound (port 0 becomes a port)."""

    def __init__(self, target: Controllable, token: str) -> None:
        self._runner = web.AppRunner(
            build_app(target, token), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S
        )
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
        if address.unix_path is not None:
            sock = unix_socket(address.unix_path)
            self._unix_path = address.unix_path
            await web.SockSite(self._runner, sock, ssl_context=ssl_context).start()
            return address
        site = web.TCPSite(self._runner, address.host, address.port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            raise _cannot_listen(address, exc) from None
        port = self._runner.addresses[0][1]
        return ListenAddress(host=address.host, port=int(port))

    async def stop(self) -> None:
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
