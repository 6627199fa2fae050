"""The operational side of a long-running session: metrics server, alerts, systemd readiness and watchdog.

Set up in steps, so that nothing an operator should hear is lost and a bad setup stops the run before
anything has started:

- `OpsRuntime(config)` resolves where alerts go (OpsSetupError, a ConfigError: one line, exit 2, when
  `[alerts]` is on with nowhere to send). Built before the journal, the venue or the streams open.
- `open()` binds the metrics server (OpsSetupError when `[metrics] listen` cannot be listened on) and starts
  the alert sender; `observer()` makes both the daemon's observer. Both come before `daemon.start()`,
  so start-up reconciliation (its failure, the move to halted, differences, adopted positions) is heard.
- `started()` once the session runs: /readyz may answer ready, systemd hears READY=1, the watchdog pings.

`stopping()` as shutdown begins (not ready any more); `stop()` at its end undoes the rest in reverse order,
giving alerts still queued a moment to go out. Calling `open()` or `stop()` twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable

from aiohttp import web

from bot.config import Config, ConfigError
from bot.ops.alerts import Alerter, AlertsSetupError
from bot.ops.metrics import Metrics, bound_port, parse_host_port, start_metrics_server
from bot.ops.observer import OpsObserver
from bot.ops.sdnotify import SystemdNotifier, watchdog_interval_s, watchdog_loop

FLUSH_ON_STOP_S = 5.0  # alerts still queued at shutdown (a halt, say) get this long to go out


class OpsSetupError(ConfigError):
    """Metrics or alerts cannot start as configured; the message names the setting. The CLI exits 2."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class OpsRuntime:
    def __init__(self, config: Config, clock_ms: Callable[[], int] = _wall_ms) -> None:
        self.config = config
        self.metrics = Metrics()
        self.metrics_port: int | None = None
        self.notifier = SystemdNotifier.from_environment()
        try:
            self.alerter = Alerter.from_config(config.alerts, clock_ms)
        except AlertsSetupError as exc:
            raise OpsSetupError(str(exc)) from None
        self._runner: web.AppRunner | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._opened = False
        self._stopped = False

    @property
    def metrics_url(self) -> str | None:
        if self.metrics_port is None:
            return None
        host, _ = parse_host_port(self.config.metrics.listen)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.metrics_port}/metrics"

    async def open(self) -> None:
        """Serve metrics and start the alert sender; OpsSetupError naming `metrics.listen` when it cannot."""
        if self._opened:
            return
        self._opened = True
        if self.config.metrics.enabled:
            host, port = parse_host_port(self.config.metrics.listen)
            try:
                self._runner = await start_metrics_server(self.metrics, host, port)
            except OSError as exc:
                await self.stop()
                why = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or str(exc)
                raise OpsSetupError(f"metrics.listen: cannot listen on {self.config.metrics.listen} ({why})") from None
            self.metrics_port = bound_port(self._runner)
        if self.alerter is not None:
            await self.alerter.start()

    def observer(self) -> OpsObserver:
        """What makes a daemon's metrics and alerts reach this runtime (set it before `daemon.start()`)."""
        return OpsObserver(self.metrics, self.alerter)

    def started(self) -> None:
        """The session runs: ready (unless trading is halted), READY=1 to systemd, watchdog pings."""
        self.metrics.set_ready(True)
        self.notifier.ready("hedging")
        interval = watchdog_interval_s()
        if interval is not None and self._watchdog is None:
            self._watchdog = asyncio.create_task(watchdog_loop(self.notifier, interval))

    def stopping(self) -> None:
        """The session is shutting down: not ready any more, STOPPING=1 to systemd (metrics still served)."""
        self.notifier.stopping("shutting down")
        self.metrics.set_ready(False)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.stopping()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self.alerter is not None:
            with contextlib.suppress(TimeoutError, RuntimeError):  # RuntimeError: the sender never started
                await asyncio.wait_for(self.alerter.flush(), FLUSH_ON_STOP_S)
            await self.alerter.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.notifier.close()
