"""Whole runs: a paper session on the synthetic market, and a backtest over history (for the CLI, tests).

A `Session` starts and stops the pieces of one run in order: the daemon (venue, instruments, account), the
control API, the feed and the wall-clock timer; on SIGTERM/SIGINT (or `stop()`) it stops taking commands,
stops the timer, cancels working orders when `[execution] on_shutdown = "cancel"`, stops the feed, and the
caller closes (flushes) the journal. SIGHUP reloads the config, like `hedgebot ctl reload`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import logs
from bot.commands import CommandError, Pause, Reload
from bot.config import Config, load_config
from bot.control.listen import ListenAddress
from bot.control.server import ControlServer
from bot.control.settings import ControlSettings, control_settings, no_token_warning
from bot.daemon import Daemon, HumanLine, RunSummary
from bot.domain import MarketEvent
from bot.execution.clips import ParentStatus
from bot.ops.runtime import OpsRuntime
from bot.store.journal import Journal
from bot.wiring import (
    Plan,
    as_fast_as_possible,
    build_daemon,
    journal_for,
    paced,
    replay_plan,
    synthetic_plan,
)

FIXED_START_MS = 1_704_067_200_000  # 2024-01-01 UTC: fast paper runs start here so they are reproducible
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_backtest(config: Config) -> RunSummary:
    """The engine on an event-time clock over the replay files in config.market, journal in state_dir."""
    plan = replay_plan(config)
    journal = journal_for(config, durable=False, name="backtest.sqlite")
    return _execute(config, plan, journal, realtime=False, speed=1.0, human=None)


def run_paper(
    config: Config,
    *,
    start_ms: int,
    span_ms: int,
    realtime: bool,
    speed: float,
    human: HumanLine | None,
    config_path: Path | None = None,
) -> RunSummary:
    """A paper session; realtime ones serve the control API, and `config_path` makes `reload` possible."""
    control = control_settings(config) if realtime else None  # a bad token or address: stop before starting
    if realtime and control is None:
        print(no_token_warning(config), file=sys.stderr, flush=True)
    plan = synthetic_plan(config, start_ms, span_ms, realtime=realtime, speed=speed)
    journal = journal_for(config, durable=True, fresh=not realtime)
    return _execute(
        config,
        plan,
        journal,
        realtime=realtime,
        speed=speed,
        human=human,
        control=control,
        config_path=config_path,
    )


def _execute(
    config: Config,
    plan: Plan,
    journal: Journal,
    *,
    realtime: bool,
    speed: float,
    human: HumanLine | None,
    control: ControlSettings | None = None,
    config_path: Path | None = None,
) -> RunSummary:
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    daemon = build_daemon(config, plan, journal, human)
    if config_path is not None:
        daemon.reloader = lambda: load_config(config_path)
    session = Session(
        daemon,
        plan.events,
        realtime=realtime,
        speed=speed,
        control=control,
        handle_signals=True,
    )
    try:
        return asyncio.run(session.run())
    finally:
        journal.close()  # the journal is flushed and closed however the run ended


class Session:
    """One run of a daemon: started in order, stopped in reverse order by `stop()` or a signal."""

    def __init__(
        self,
        daemon: Daemon,
        events: Iterable[MarketEvent],
        *,
        realtime: bool,
        speed: float = 1.0,
        control: ControlSettings | None = None,
        handle_signals: bool = False,
    ) -> None:
        self.daemon = daemon
        self.control_address: ListenAddress | None = None  # where the API is bound, once `ready` is set
        self.ops: OpsRuntime | None = None  # metrics, alerts and systemd notification of a realtime run
        self.ready = asyncio.Event()
        self._events = events
        self._realtime = realtime
        self._speed = speed
        self._control = control
        self._handle_signals = handle_signals
        self._stop_requested = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        """What SIGTERM and SIGINT do: finish cleanly (idempotent)."""
        self._stop_requested.set()

    async def reload(self, source: str) -> None:
        """What SIGHUP does: re-read and check the config; a bad file is refused and the running one kept."""
        try:
            await self.daemon.command(Reload(), {"signal": source})
        except CommandError as exc:
            self.daemon.log.error("reload_refused", signal=source, error=str(exc))
            self.daemon.human(f"reload refused, the running config is kept: {exc}")
        else:
            self.daemon.human("config reloaded")

    async def run(self) -> RunSummary:
        engine = await self.daemon.start()
        ops = self.ops = OpsRuntime(self.daemon) if self._realtime else None
        try:
            server = await self._start_control()
            if ops is not None:
                await ops.start()
        except BaseException:
            await self.daemon.venue.close()
            raise
        feed = paced(self._events, self._speed) if self._realtime else as_fast_as_possible(self._events)
        run = asyncio.create_task(self.daemon.run(feed))
        scheduler = AsyncIOScheduler(timezone="UTC")
        if self._realtime:  # clips fall due between market events: a wall-clock job works them
            scheduler.add_job(self.daemon.tick, "interval", seconds=1, max_instances=1, coalesce=True)
            scheduler.start()
        self._install_signals()
        self.ready.set()
        try:
            await self._until_finished_or_stopped(run)
        finally:
            self._remove_signals()
            if server is not None:
                await server.stop()  # no command may start while the rest shuts down
            if ops is not None:
                await ops.stop()
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await self._stop_feed(run)
        return self.daemon.summary(engine)

    async def _start_control(self) -> ControlServer | None:
        if self._control is None:
            if self._realtime:
                self.daemon.log.warning("control_api_disabled", reason="no control token configured")
            return None
        server = ControlServer(self.daemon, self._control.token)
        self.control_address = await server.start(self._control.address, self._control.ssl_context)
        self.daemon.human(f"control API listening on {_shown(self.control_address, self._control)}")
        return server

    async def _until_finished_or_stopped(self, run: asyncio.Task[RunSummary]) -> None:
        stopped = asyncio.create_task(self._stop_requested.wait())
        try:
            await asyncio.wait({run, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()

    async def _stop_feed(self, run: asyncio.Task[RunSummary]) -> None:
        """Cancel working orders if so configured, then stop the feed (which closes the venue)."""
        if not run.done():
            await self._cancel_working_orders()
            run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run  # re-raises what crashed the run, if anything did
        for task in self._background:
            task.cancel()

    async def _cancel_working_orders(self) -> None:
        engine = self.daemon.engine
        choice = self.daemon.config.execution.on_shutdown
        if engine is None:
            return
        open_orders = len(engine.orders.open_orders())
        working = any(parent.status is ParentStatus.WORKING for parent in engine.parents.values())
        self.daemon.log.warning("daemon_stopping", open_orders=open_orders, on_shutdown=choice)
        if choice == "cancel" and (open_orders or working):
            # A pause cancels every open order and stops every working clip, under the daemon's lock, and
            # journals itself: the audit trail shows the shutdown did it. Nothing awaits between its return
            # and the feed's cancellation, so no event can start a new clip in between.
            await self.daemon.command(Pause(), {"on_shutdown": "cancel"})
            self.daemon.human(f"stopping: cancelled {open_orders} open order(s) (on_shutdown = cancel)")
        elif open_orders:
            self.daemon.human(f"stopping: left {open_orders} open order(s) (on_shutdown = leave)")

    def _install_signals(self) -> None:
        if not self._handle_signals:
            return
        loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self._reload_in_background)

    def _remove_signals(self) -> None:
        if not self._handle_signals:
            return
        loop = asyncio.get_running_loop()
        for sig in (*_STOP_SIGNALS, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    def _reload_in_background(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload("SIGHUP"))
        self._background.add(task)  # a reference, so the task is not collected before it finishes
        task.add_done_callback(self._background.discard)


def _shown(address: ListenAddress, control: ControlSettings) -> str:
    """'http://127.0.0.1:8686', 'https://[::1]:8686' or 'unix:/run/hedgebot/control.sock'."""
    tls = control.ssl_context is not None
    if address.unix_path is not None:
        return f"{address}{' (TLS)' if tls else ''}"
    return f"{'https' if tls else 'http'}://{address}"
