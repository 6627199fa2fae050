"""The operational side of a long-running session: metrics server, alerts, systemd readiness and watchdog.

`OpsRuntime.start()` is called once the daemon has started (venue reached, account loaded): it serves
/metrics, /healthz and /readyz, starts the alert sender, wires both into the daemon as its observer, tells
systemd READY=1 and pings the watchdog. `stop()` undoes it in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from aiohttp import web

from bot.ops.alerts import Alerter
from bot.ops.metrics import Metrics, bound_port, parse_host_port, start_metrics_server
from bot.ops.observer import OpsObserver
from bot.ops.sdnotify import SystemdNotifier, watchdog_interval_s, watchdog_loop

if TYPE_CHECKING:  # the daemon imports nothing from here; only the session wiring joins the two
    from bot.daemon import Daemon


class OpsRuntime:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.metrics = Metrics()
        self.metrics_port: int | None = None
        self.notifier = SystemdNotifier.from_environment()
        self._runner: web.AppRunner | None = None
        self._alerter: Alerter | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.daemon.config
        if config.metrics.enabled:
            host, port = parse_host_port(config.metrics.listen)
            self._runner = await start_metrics_server(self.metrics, host, port)
            self.metrics_port = bound_port(self._runner)
            self.daemon.human(f"metrics on http://{host}:{self.metrics_port}/metrics")
        self._alerter = Alerter.from_config(config.alerts, lambda: time.time_ns() // 1_000_000)
        if self._alerter is not None:
            await self._alerter.start()
        self.daemon.observer = OpsObserver(self.metrics, self._alerter)
        self.metrics.set_ready(True)
        self.notifier.ready("hedging")
        interval = watchdog_interval_s()
        if interval is not None:
            self._watchdog = asyncio.create_task(watchdog_loop(self.notifier, interval))

    async def stop(self) -> None:
        self.notifier.stopping("shutting down")
        self.metrics.set_ready(False)
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._alerter is not None:
            await self._alerter.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.notifier.close()
