"""Where the control API listens: `host:port` or `unix:/path`, and whether that is safe to serve.

Loopback addresses and Unix sockets (created 0600) are reachable only from this machine. Anything else is
refused unless the API is served over TLS (`[control] tls_cert`/`tls_key`) or the operator set the explicit
override `[control] allow_remote = true` (a TLS-terminating proxy in front, or a container network).

How many may connect, and for how long, is `bot.control.gate`.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from bot.control.auth import ControlSetupError
from bot.settings.control import ControlSection


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A TCP host and port, or a Unix socket path (then host is "" and port 0)."""

    host: str = ""
    port: int = 0
    unix_path: Path | None = None

    @property
    def is_local(self) -> bool:
        """Reachable only from this machine."""
        return self.unix_path is not None or is_loopback(self.host)

    def __str__(self) -> str:
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_listen(text: str) -> ListenAddress:
    """'127.0.0.1:8686', '[::1]:8686', 'localhost:0' or 'unix:/run/hedgebot/control.sock'."""
    if text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if not path:
            raise ControlSetupError("control.listen: 'unix:' needs a path, like 'unix:/run/hedgebot.sock'")
        return ListenAddress(unix_path=Path(path))
    host, sep, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ControlSetupError(f"control.listen: {text!r} is not 'host:port' (port 0-65535) or 'unix:/path'")
    return ListenAddress(host=host, port=int(port_text))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # any other host name may resolve anywhere: not loopback
        return False


def check_exposure(address: ListenAddress, control: ControlSection) -> None:
    """Refuse to serve plain HTTP beyond this machine unless the operator said so explicitly."""
    if address.is_local or control.tls_cert is not None or control.allow_remote:
        return
    raise ControlSetupError(
        f"control.listen: {address} is not a loopback address; serve TLS (control.tls_cert and"
        " control.tls_key) or set control.allow_remote = true if a TLS proxy or private network protects it"
    )


def server_ssl_context(control: ControlSection) -> ssl.SSLContext | None:
    if control.tls_cert is None or control.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(control.tls_cert, control.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ControlSetupError(f"control.tls_cert/tls_key: cannot load ({exc})") from None
    return context


def client_ssl_context(control: ControlSection) -> ssl.SSLContext | None:
    """The client trusts the system's CAs plus the configured certificate (self-signed setups)."""
    if control.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cafile=control.tls_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ControlSetupError(f"control.tls_cert: cannot load ({exc})") from None
    return context
