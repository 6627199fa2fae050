"""Whole runs: a paper session on the synthetic market, a backtest over history, and a run on the exchange's
streams (live, or paper fills on live prices), for the CLI and tests.

A `Session` starts and stops the pieces of one run in order: metrics and alerts (`OpsRuntime`, so start-up
reconciliation is heard), the daemon (venue, instruments, account), the control API, the feed and the
wall-clock timer; on SIGTERM/SIGINT (or `stop()`) it stops taking commands, stops the timer, cancels working
orders when `[execution] on_shutdown = "cancel"`, stops the feed, and the caller closes (flushes) the journal.
SIGHUP reloads the config, like `hedgebot ctl reload`.

A run on the exchange (`run_live`) checks what can be refused before anything starts (API keys, the control
token, where alerts go; then the metrics port is bound), then opens the venue and the streams, warms the
estimators up on REST history, and runs until a signal; the venue's events (user-stream fills) reach the
engine as they arrive, not only with market events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import logs
from bot.commands import CommandError, Pause, Reload
from bot.config import Config, load_config, overlays_from
from bot.control.listen import ListenAddress
from bot.control.server import ControlServer
from bot.control.settings import ControlSettings, control_settings, no_token_warning
from bot.domain import MarketEvent, parse_duration_ms
from bot.execution.clips import ParentStatus
from bot.live.assembly import (
    Plan,
    as_fast_as_possible,
    build_daemon,
    journal_for,
    paced,
    replay_plan,
    synthetic_plan,
)
from bot.live.daemon import Daemon
from bot.live.ports import HumanLine
from bot.ops.runtime import OpsRuntime
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal
from bot.venues.dead_man import DeadManSwitch

if TYPE_CHECKING:  # the replay's reader loads pandas: a live or paper session never needs it
    from bot.feeds.replay import Replay, ReplaySpec

FAST_BATCH_INSTANTS = 256  # a fast run's journal commits once per this many instants (bot/live/daemon.py)
FIXED_START_MS = 1_704_067_200_000  # 2024-01-01 UTC: fast paper runs start here so they are reproducible
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_backtest(
    config: Config, *, load: Callable[[ReplaySpec], Replay] | None = None, handle_signals: bool = True
) -> RunSummary:
    """The engine on an event-time clock over the replay files in config.market, journal in state_dir.

    A sweep's trial passes `load` (its process keeps the files it read) and no signal handling (a Dask
    worker runs it outside the main thread, where signal handlers cannot be installed)."""
    plan = replay_plan(config, load)
    journal = journal_for(config, durable=False, name="backtest.sqlite")
    return _execute(config, plan, journal, realtime=False, speed=1.0, human=None, handle_signals=handle_signals)


def config_reloader(config_path: Path | None) -> Callable[[], Config]:
    """What `reload` and SIGHUP re-read: the same source the daemon started from, the file or, without
    `--config`, the embedded default (so a reload undoes a `set-holding` and takes no new settings)."""
    return lambda: load_config(config_path, overlays_from(os.environ))  # and the overlays it started with


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
    """A paper session; realtime ones serve the control API; `reload` re-reads `config_path`, or the default."""
    control = control_settings(config) if realtime else None  # a bad token or address: stop before starting
    if realtime and control is None:
        print(no_token_warning(config), file=sys.stderr, flush=True)
    ops = OpsRuntime(config) if realtime else None  # alerts on with nowhere to send: stop before starting
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
        ops=ops,
        durable_account=realtime,  # a realtime run keeps its journal: its paper account goes on after a restart
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
    ops: OpsRuntime | None = None,
    durable_account: bool = False,
    handle_signals: bool = True,
) -> RunSummary:
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    daemon = build_daemon(config, plan, journal, human, durable_account=durable_account)
    daemon.reloader = config_reloader(config_path)
    if not realtime:  # a fast run or a backtest: nothing outside the process acts on its journal while it runs
        daemon.batch_instants = FAST_BATCH_INSTANTS
    session = Session(
        daemon,
        plan.events,
        realtime=realtime,
        speed=speed,
        control=control,
        handle_signals=handle_signals,
        warmup=plan.warmup,
        ops=ops,
    )
    try:
        return asyncio.run(session.run())
    finally:
        journal.close()  # the journal is flushed and closed however the run ended


class Session:
    """One run of a daemon: started in order, stopped in reverse order by `stop()` or a signal.

    `events` is a finite iterable (synthetic, replay: paced by the wall clock when `realtime`) or the
    exchange's streams, an async iterator consumed as events arrive; `warmup` is history fed through the
    engine before trading starts. A realtime session also hands the venue's events to the engine as they
    arrive (`Daemon.follow_venue`); a venue that fails for good (a revoked key) stops the session, and
    `run()` raises its error once everything is stopped. A realtime session serves metrics and sends alerts
    (`ops`, made from the daemon's config when not given) from before the daemon starts.
    """

    def __init__(
        self,
        daemon: Daemon,
        events: Iterable[MarketEvent] | AsyncIterator[MarketEvent],
        *,
        realtime: bool,
        speed: float = 1.0,
        control: ControlSettings | None = None,
        handle_signals: bool = False,
        warmup: Sequence[MarketEvent] = (),
        ops: OpsRuntime | None = None,
    ) -> None:
        self.daemon = daemon
        daemon.close_instants = realtime  # wall time: an instant complete is decided at once, not at the next tick
        self.control_address: ListenAddress | None = None  # where the API is bound, once `ready` is set
        self.ops = ops  # metrics, alerts and systemd notification of a realtime run
        self.ready = asyncio.Event()
        self._events = events
        self._realtime = realtime
        self._speed = speed
        daemon.speed = speed if realtime else 1.0  # shown with durations: they run in market time
        self._control = control
        self._handle_signals = handle_signals
        self._warmup = warmup
        self._venue_failure: BaseException | None = None
        self._stop_requested = asyncio.Event()
        self._fed = asyncio.Event()  # the feed has delivered its first instant: the wall-clock timer may start
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
        ops = self.ops
        if ops is None and self._realtime:
            ops = self.ops = OpsRuntime(self.daemon.config)
        try:
            if ops is not None:
                await ops.open()
                self.daemon.observer = ops.observer()  # before start-up reconciliation: its alerts must be heard
                if ops.metrics_url is not None:
                    self.daemon.human(f"metrics on {ops.metrics_url}")
            engine = await self.daemon.start()
        except BaseException:
            if ops is not None:
                await ops.stop()
            raise
        if self.daemon.config.bot.mode == "live":
            self.daemon.set_equity_baseline()
        try:
            if self._warmup:
                await self.daemon.warm_up(self._warmup)
            server = await self._start_control()
        except BaseException:
            if ops is not None:
                await ops.stop()
            await self.daemon.venue.close()
            raise
        run = asyncio.create_task(self.daemon.run(self._feed()))
        follower = self._follow_venue() if self._realtime else None
        scheduler = AsyncIOScheduler(timezone="UTC")
        timer: asyncio.Task[None] | None = None
        if self._realtime:  # clips fall due between market events: a wall-clock job works them
            scheduler.add_job(self.daemon.tick, "interval", seconds=1, max_instances=1, coalesce=True)
            # reconciles when due: every reconcile_interval, and every reconcile_retry while a failure halts trading
            scheduler.add_job(self.daemon.reconcile_job, "interval", seconds=1, max_instances=1, coalesce=True)
            timer = asyncio.create_task(self._start_timer(scheduler))
        self._install_signals()
        if ops is not None:
            ops.started()
        self.ready.set()
        try:
            await self._until_finished_or_stopped(run)
        finally:
            self._remove_signals()
            if ops is not None:
                ops.stopping()
            if server is not None:
                await server.stop()  # no command may start while the rest shuts down
            try:
                if timer is not None:
                    timer.cancel()
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                await self._stop_feed(run)
                if follower is not None:
                    follower.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await follower
            finally:
                if ops is not None:
                    await ops.stop()  # last: what the shutdown itself alerts (cancels, a halt) still goes out
        if self._venue_failure is not None:
            raise self._venue_failure
        return self.daemon.summary(engine)

    def _feed(self) -> AsyncIterator[MarketEvent]:
        if isinstance(self._events, AsyncIterator):
            return self._noting_first_instant(self._events)  # the exchange's streams: handled as they arrive
        self._fed.set()
        return paced(self._events, self._speed) if self._realtime else as_fast_as_possible(self._events)

    async def _noting_first_instant(self, events: AsyncIterator[MarketEvent]) -> AsyncIterator[MarketEvent]:
        """The streams' events; `_fed` is set once a whole first instant is in (the REST snapshot every stream
        takes on connecting: marks, index prices and funding, all stamped alike), that is at the first later one."""
        first_ts: int | None = None
        async for event in events:
            yield event
            if first_ts is None:
                first_ts = event.ts
            elif event.ts > first_ts:
                self._fed.set()

    async def _start_timer(self, scheduler: AsyncIOScheduler) -> None:
        """Start the wall-clock job once the feed has delivered its first instant, or after `risk.max_price_age`
        at the latest. A tick before it would find the funding rates never seen, hold trading for staleness and
        lose the first sampling step's decision (an hour, with hourly samples); a feed silent for longer meets
        the staleness gate, which holds trading until data comes."""
        limit_s = parse_duration_ms(self.daemon.config.risk.max_price_age) / 1000
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._fed.wait(), limit_s)
        scheduler.start()

    def _follow_venue(self) -> asyncio.Task[None]:
        task = asyncio.create_task(self.daemon.follow_venue(), name="venue-events")
        task.add_done_callback(self._venue_stopped)
        return task

    def _venue_stopped(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self._venue_failure = task.exception()
        self.daemon.log.error("venue_failed", error=str(self._venue_failure))
        self.stop()  # fail closed: no trading on a venue whose events can no longer be heard

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
        dead_man: DeadManSwitch | None = getattr(self.daemon.venue, "dead_man", None)  # a live venue's countdown
        if choice == "leave" and dead_man is not None:
            # orders left on purpose must outlive the daemon: the exchange's countdown would cancel them
            await dead_man.disarm()

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
