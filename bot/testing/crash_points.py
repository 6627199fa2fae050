"""Crash tests: `hedgebot run` processes that are killed -9 at chosen points of their talk with the exchange.

- `DaemonProcesses` starts real daemon processes from a fork server that has imported hedgebot once, so a
  restart costs a fork, not an interpreter start and the imports (the fault campaign restarts dozens of times).
  Each is a real process running `bot.cli.main(["run", ...])`; `kill()` sends it SIGKILL.
- `KillPoint` names a moment by the exchange's view of the conversation: the n-th REST request of a kind,
  before the exchange processes it (the request is then dropped unprocessed: it "never left") or after it
  processed it but before anything is answered or published (the order exists, the daemon never hears of it),
  optionally a little later (the daemon is busy with the answer: journaling a fill, deciding the next clip).
- `arm()` installs the point on the simulator as a request tap, which kills the daemon from inside the
  exchange's own handler: the kill is exactly where the point says, not wherever a test's poll happens to be.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from bot.exchange_sim.faults import ORDER_PATH, Phase
from bot.exchange_sim.server import ExchangeSim

_REST_PREFIXES = ("/fapi/", "/sapi/")  # futures requests, and the wallet transfers of top-ups
TRANSFER_PATH = "/sapi/v1/asset/transfer"


def _daemon_main(argv: Sequence[str], env: Mapping[str, str], output: str) -> None:
    """The forked child: the daemon's environment and output file, then `hedgebot <argv>`; exits with its code."""
    os.environ.update(env)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    from bot.cli import main  # the fork server imported it already: this only binds the name

    code = main(list(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@dataclass
class DaemonProcess:
    process: BaseProcess
    output: Path

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed by the daemon."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    async def exited(self) -> int:
        """Wait for the process to end (its sentinel becomes readable); its exit code, -9 when killed."""
        if self.process.exitcode is None:
            loop = asyncio.get_running_loop()
            ended: asyncio.Future[None] = loop.create_future()
            sentinel = self.process.sentinel

            def readable() -> None:
                if not ended.done():
                    ended.set_result(None)

            loop.add_reader(sentinel, readable)
            try:
                if self.process.exitcode is None and self.process.is_alive():
                    await ended
            finally:
                loop.remove_reader(sentinel)
        self.process.join()
        assert self.process.exitcode is not None
        return self.process.exitcode

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


class DaemonProcesses:
    """A fork server with hedgebot imported, and the daemon processes started from it."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        assert isinstance(context, ForkServerContext)
        context.set_forkserver_preload(["bot.cli"])
        self._context = context
        self._started: list[DaemonProcess] = []

    def start(self, argv: Sequence[str], env: Mapping[str, str], output: Path) -> DaemonProcess:
        process = self._context.Process(target=_daemon_main, args=(list(argv), dict(env), str(output)), daemon=False)
        process.start()
        started = DaemonProcess(process, output)
        self._started.append(started)
        return started

    def kill_all(self) -> None:
        """What a test leaves behind is killed and reaped."""
        for daemon in self._started:
            if daemon.process.exitcode is None:
                daemon.kill()
                daemon.process.join()


@dataclass(frozen=True, slots=True)
class KillPoint:
    """Kill at the `nth` request that `path` matches (an exact path, or None: any REST request), in `phase`.

    Before processing, the request is dropped: the exchange never saw it. After processing, the daemon is killed
    before the answer or any stream message leaves, or `delay_s` later (the daemon then has the answer)."""

    label: str
    phase: Phase
    nth: int
    method: str | None = None
    path: str | None = None
    delay_s: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if not path.startswith(_REST_PREFIXES):
            return False
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)


def order_point(label: str, phase: Phase, nth: int, *, cancel: bool = False, delay_s: float = 0.0) -> KillPoint:
    """A point on the n-th order create (or cancel)."""
    return KillPoint(label, phase, nth, "DELETE" if cancel else "POST", ORDER_PATH, delay_s)


def transfer_point(label: str, phase: Phase, nth: int = 1) -> KillPoint:
    """A point on the n-th wallet transfer request (a top-up: POST /sapi/v1/asset/transfer)."""
    return KillPoint(label, phase, nth, "POST", TRANSFER_PATH)


@dataclass
class Armed:
    """An installed kill point: `fired` once the daemon was killed there."""

    point: KillPoint
    seen: int = 0
    fired: asyncio.Event = field(default_factory=asyncio.Event)


def arm(sim: ExchangeSim, point: KillPoint, daemon: DaemonProcess) -> Armed:
    """Install `point` on the simulator for `daemon`; the tap removes itself once it fired."""
    armed = Armed(point)

    def kill() -> None:
        daemon.kill()
        armed.fired.set()

    def tap(phase: Phase, method: str, path: str) -> bool:
        if armed.fired.is_set() or phase is not point.phase or not point.matches(method, path):
            return False
        armed.seen += 1
        if armed.seen < point.nth:
            return False
        sim.taps.remove(tap)
        if point.delay_s > 0:
            asyncio.get_running_loop().call_later(point.delay_s, kill)
            return False
        kill()
        return phase is Phase.BEFORE  # killed before it was processed: the request never arrived

    sim.taps.append(tap)
    return armed


def disarm(sim: ExchangeSim) -> None:
    sim.taps.clear()
