"""A client of the control API: finds the daemon from the same `[control]` config and speaks to it.

It speaks HTTP with the standard library (`http.client`): `hedgebot ctl`, what an operator types most, then
starts without loading an async HTTP stack (`bench/ctl_import.py` measures it). `ControlConnection` is the
blocking client `ctl` uses; `ControlClient` offers the same calls to async code (test kits, `report`), each
request run in a worker thread.

Raises `DaemonUnreachable` when nothing answers (not running, wrong address, socket gone), and `ApiRefused`
when the daemon answers with an error (the token, the arguments, or the engine refused).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from bot.control.auth import CLIENT_HEADER, ControlSetupError, load_token, token_source
from bot.control.listen import ListenAddress, client_ssl_context, parse_listen
from bot.secrets import redact
from bot.settings.control import ControlSection

Answer = TypeVar("Answer")


class DaemonUnreachable(Exception):
    """Nothing answered at the configured address."""


class ApiRefused(Exception):
    """The daemon answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def connect_host(host: str) -> str:
    """A daemon listening on every interface is reached on loopback."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return host


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket: the host name is only the Host header."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _configured(control: ControlSection) -> tuple[ListenAddress, str, ssl.SSLContext | None]:
    """The address, token and TLS trust `[control]` gives a client."""
    token = load_token(control)
    if token is None:
        raise ControlSetupError(f"no control token in {token_source(control)}; put the daemon's token there")
    return parse_listen(control.listen), token, client_ssl_context(control)


class ControlConnection:
    """The blocking client: `ControlConnection.from_config(section).status()`; one connection per request."""

    def __init__(
        self,
        address: ListenAddress,
        token: str,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.address = address
        self._token = token
        self._ssl = ssl_context
        self._timeout = timeout_s

    def __repr__(self) -> str:  # never the token
        return f"ControlConnection({self.address})"

    @classmethod
    def from_config(cls, control: ControlSection, timeout_s: float = 30.0) -> ControlConnection:
        return cls(*_configured(control), timeout_s=timeout_s)

    def status(self) -> dict[str, Any]:
        return dict(self.request("GET", "/status")["status"])

    def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        """The operators' commands, newest first."""
        return [dict(row) for row in self.request("GET", f"/audit?limit={int(limit)}")["audit"]]

    def command(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return dict(self.request("POST", f"/commands/{name}", dict(args or {}))["status"])

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}", CLIENT_HEADER: "ctl"}  # the audit trail's "via"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = self._connection()
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            status, text = response.status, response.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, TLS, garbled answer
            raise DaemonUnreachable(_unreachable(self.address, exc)) from None
        finally:
            connection.close()
        return _answer(status, text)

    def _connection(self) -> http.client.HTTPConnection:
        if self.address.unix_path is not None:
            return _UnixConnection(str(self.address.unix_path), self._timeout)
        host = connect_host(self.address.host)
        if self._ssl is not None:
            return http.client.HTTPSConnection(host, self.address.port, timeout=self._timeout, context=self._ssl)
        return http.client.HTTPConnection(host, self.address.port, timeout=self._timeout)


class ControlClient:
    """`async with ControlClient.from_config(section) as client: await client.status()`."""

    def __init__(
        self,
        address: ListenAddress,
        token: str,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._connection = ControlConnection(address, token, ssl_context, timeout_s)
        self.address = address

    def __repr__(self) -> str:  # never the token
        return f"ControlClient({self.address})"

    @classmethod
    def from_config(cls, control: ControlSection, timeout_s: float = 30.0) -> ControlClient:
        return cls(*_configured(control), timeout_s=timeout_s)

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        return None

    async def status(self) -> dict[str, Any]:
        return await _in_thread(self._connection.status)

    async def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        """The operators' commands, newest first."""
        return await _in_thread(lambda: self._connection.audit(limit))

    async def command(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await _in_thread(lambda: self._connection.command(name, args))


async def _in_thread(call: Callable[[], Answer]) -> Answer:
    """A blocking request off the event loop (asyncio imported here: `ctl` never needs it)."""
    import asyncio

    return await asyncio.to_thread(call)


def _answer(status: int, text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise ApiRefused(status, f"the daemon answered {status} with something that is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiRefused(status, f"the daemon answered {status} with an unexpected body")
    if status != 200 or payload.get("ok") is not True:
        raise ApiRefused(status, redact(str(payload.get("error", f"HTTP {status}"))))
    return payload


def _unreachable(address: ListenAddress, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        why = "no answer before the timeout"
    elif isinstance(exc, ssl.SSLError):
        why = f"TLS failed: {exc}"
    elif isinstance(exc, OSError) and exc.errno:
        why = os.strerror(exc.errno).lower()
    else:
        why = str(exc) or type(exc).__name__
    return f"no daemon answering at {address} ({why}); is `hedgebot run` running with this config?"
