"""A tiny sd_notify client: tells systemd the daemon is ready, alive (watchdog), reloading or stopping.

systemd passes the path of a Unix datagram socket in NOTIFY_SOCKET (a leading '@' names an abstract socket)
and, with `WatchdogSec=`, the interval in WATCHDOG_USEC. Without NOTIFY_SOCKET (a terminal, a container,
a test) every call is a no-op. Sending never blocks and never raises: the daemon must not stop trading, or
crash, because systemd is not listening; a failed send is reported by the return value.

The daemon calls `ready()` once start-up reconciliation has passed, and runs
`watchdog_loop(notifier, interval)` as a task when `watchdog_interval_s()` is not None.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Mapping

READY = "READY=1"
WATCHDOG = "WATCHDOG=1"
STOPPING = "STOPPING=1"
RELOADING = "RELOADING=1"


class SystemdNotifier:
    """Sends `KEY=value` lines to the socket systemd gave us; a no-op without one."""

    __slots__ = ("_address", "_socket")

    def __init__(self, notify_socket: str | None) -> None:
        self._address = _socket_address(notify_socket) if notify_socket else None
        self._socket: socket.socket | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send one datagram of newline-separated `KEY=value` lines; True when it left, False otherwise."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)  # a full receive queue must not stall the event loop
            self._socket.sendto(payload, self._address)
        except OSError:
            self.close()  # the next call tries a fresh socket
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """Start-up (reconciliation included) is done: systemd now reports the unit active."""
        return self.notify(READY, *_status(status))

    def watchdog(self) -> bool:
        """The event loop is alive; send at least every WATCHDOG_USEC / 2."""
        return self.notify(WATCHDOG)

    def reloading(self, status: str = "") -> bool:
        """A config reload began; follow with `ready()` when it is done."""
        return self.notify(RELOADING, f"MONOTONIC_USEC={time.monotonic_ns() // 1000}", *_status(status))

    def stopping(self, status: str = "") -> bool:
        return self.notify(STOPPING, *_status(status))

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status hedgebot`."""
        return self.notify(*_status(text))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send WATCHDOG=1 (half of WatchdogSec, as sd_watchdog_enabled(3) advises); None if off.

    WATCHDOG_PID, when set, names the process the watchdog is meant for: a child that inherited the
    environment must not answer for its parent.
    """
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC", "")
    pid_text = env.get("WATCHDOG_PID", "")
    if pid_text and pid_text != str(os.getpid()):
        return None
    if not usec_text.isdigit() or int(usec_text) == 0:
        return None
    return int(usec_text) / 1_000_000 / 2


async def watchdog_loop(notifier: SystemdNotifier, interval_s: float) -> None:
    """Send WATCHDOG=1 every `interval_s` until cancelled.

    Run it as a task on the daemon's own event loop: if that loop blocks, the pings stop and systemd
    restarts the service, which is the point of the watchdog.
    """
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval_s)


def _socket_address(notify_socket: str) -> str:
    """'@name' is an abstract-namespace socket: its address starts with a NUL byte."""
    return "\0" + notify_socket[1:] if notify_socket.startswith("@") else notify_socket


def _status(text: str) -> tuple[str, ...]:
    line = " ".join(text.split())  # a newline would start a new assignment
    return (f"STATUS={line}",) if line else ()
