"""How many may connect to the control API, and for how long.

However it is reached, a client holds at most one of `max_connections` slots and must deliver each request
whole within `read_timeout_s` (`ConnectionLimits`): a thousand half-sent requests cannot pin the daemon's
file descriptors, nor keep the operator out for longer than the timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.control.auth import ControlSetupError
from bot.logs import get_logger

# Written to a connection turned away at the cap, before it is closed: a client sees why, not just a reset.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b'Content-Length: 62\r\n\r\n{"ok": false, "error": "too many connections; try again later"}'
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """`read_timeout_s`: a request's head must arrive within it of the connection opening or of the previous
    answer, and its body within it of the head (else 408 and closed). `max_connections`: open connections
    beyond it are answered 503 and closed at once. An operator needs one; 64 leaves room for scripts and
    scrapes, far below the unit's LimitNOFILE."""

    read_timeout_s: float = 10.0
    max_connections: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.read_timeout_s < float("inf"):
            raise ControlSetupError(f"control read timeout must be positive seconds, got {self.read_timeout_s!r}")
        if self.max_connections < 1:
            raise ControlSetupError(f"control max connections must be at least 1, got {self.max_connections!r}")


class ConnectionGate:
    """Counts the server's open connections, turns away those beyond the cap and closes those past their
    deadline. `busy` (a whole request head arrived: the handler runs) stops a connection's clock; `idle` (the
    answer is out) starts it again for the next request."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: dict[asyncio.BaseProtocol, _Guarded] = {}  # by the wrapped protocol, as handlers see it
        self.refused = 0
        self.timed_out = 0
        self._full = False

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for `loop.create_server` that guards each protocol `inner` makes."""
        return lambda: _Guarded(inner(), self)

    def busy(self, protocol: asyncio.BaseProtocol) -> None:
        guarded = self._open.get(protocol)
        if guarded is not None:
            guarded.stop_clock()

    def idle(self, protocol: asyncio.BaseProtocol) -> None:
        guarded = self._open.get(protocol)
        if guarded is not None:
            guarded.start_clock()

    def admit(self, guarded: _Guarded) -> bool:
        if len(self._open) >= self.limits.max_connections:
            if not self._full:  # once per episode: a flood of refusals must not flood the log too
                self._full = True
                log = get_logger(component="control")
                log.warning("control_connections_full", max_connections=self.limits.max_connections)
            self.refused += 1
            return False
        self._open[guarded.inner] = guarded
        return True

    def release(self, guarded: _Guarded) -> None:
        self._open.pop(guarded.inner, None)
        self._full = False


class _Guarded(asyncio.Protocol):
    """Stands between the event loop and one connection's HTTP protocol: admission and the read deadline."""

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate) -> None:
        self.inner = inner
        self._gate = gate
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a stream server's connections are stream transports
        self._transport = transport
        if not self._gate.admit(self):
            transport.write(_BUSY)
            transport.close()
            return
        self._admitted = True
        self.start_clock()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        if self._admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self.stop_clock()
        self._gate.release(self)
        self.inner.connection_lost(exc)

    def start_clock(self) -> None:
        self.stop_clock()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._gate.limits.read_timeout_s, self._expired)

    def stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        """Nothing (or half a request) came in time: close. An answer still queued is dropped with the client
        that does not read it, so a stalled reader cannot hold the slot either."""
        self._deadline = None
        self._gate.timed_out += 1
        if self._transport is None:
            return
        if self._transport.get_write_buffer_size():
            self._transport.abort()
        else:
            self._transport.close()
