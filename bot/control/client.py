"""A client of the control API: finds the daemon from the same `[control]` config and speaks to it.

Raises `DaemonUnreachable` when nothing answers (not running, wrong address, socket gone), and `ApiRefused`
when the daemon answers with an error (the token, the arguments, or the engine refused).
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp

from bot.config import ControlSection
from bot.control.access import CLIENT_HEADER
from bot.control.auth import ControlSetupError, load_token, token_source
from bot.control.listen import ListenAddress, client_ssl_context, parse_listen
from bot.secrets import redact


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


class ControlClient:
    """`async with ControlClient.from_config(section) as client: await client.status()`."""

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
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the token
        return f"ControlClient({self.address})"

    @classmethod
    def from_config(cls, control: ControlSection, timeout_s: float = 30.0) -> ControlClient:
        address = parse_listen(control.listen)
        token = load_token(control)
        if token is None:
            where = token_source(control)
            raise ControlSetupError(f"no control token in {where}; put the daemon's token there")
        return cls(address, token, client_ssl_context(control), timeout_s)

    @property
    def base_url(self) -> str:
        if self.address.unix_path is not None:
            return "http://localhost"  # the host is not used on a Unix socket
        host = connect_host(self.address.host)
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self._ssl else 'http'}://{host}:{self.address.port}"

    async def __aenter__(self) -> ControlClient:
        connector: aiohttp.BaseConnector
        if self.address.unix_path is not None:
            connector = aiohttp.UnixConnector(path=str(self.address.unix_path))
        else:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers={"Authorization": f"Bearer {self._token}", CLIENT_HEADER: "ctl"},  # the audit trail's "via"
        )
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def status(self) -> dict[str, Any]:
        answer = await self._request("GET", "/status")
        return dict(answer["status"])

    async def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        """The operators' commands, newest first."""
        answer = await self._request("GET", f"/audit?limit={int(limit)}")
        return [dict(row) for row in answer["audit"]]

    async def command(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        answer = await self._request("POST", f"/commands/{name}", dict(args or {}))
        return dict(answer["status"])

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._session is None:
            raise RuntimeError("use `async with ControlClient(...)`")
        try:
            async with self._session.request(method, self.base_url + path, json=body) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientConnectionError, FileNotFoundError, TimeoutError) as exc:
            raise DaemonUnreachable(_unreachable(self.address, exc)) from None
        return _answer(status, text)


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
    elif isinstance(exc, aiohttp.ClientSSLError):
        why = f"TLS failed: {exc}"
    elif isinstance(exc, OSError) and exc.errno:  # aiohttp's connector errors are OSErrors too
        why = os.strerror(exc.errno).lower()
    else:
        why = str(exc) or type(exc).__name__
    return f"no daemon answering at {address} ({why}); is `hedgebot run` running with this config?"
