"""Whole runs: a paper session on the synthetic market, and a backtest over history. Used by the CLI and tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import logs
from bot.config import Config
from bot.daemon import Daemon, HumanLine, RunSummary
from bot.store.journal import Journal
from bot.wiring import Plan, as_fast_as_possible, build_daemon, journal_for, paced, replay_plan, synthetic_plan

FIXED_START_MS = 1_704_067_200_000  # 2024-01-01 UTC: fast paper runs start here so they are reproducible


def run_backtest(config: Config) -> RunSummary:
    """The engine on an event-time clock over the replay files in config.market, journal in state_dir."""
    plan = replay_plan(config)
    journal = journal_for(config, durable=False, name="backtest.sqlite")
    return _execute(config, plan, journal, realtime=False, speed=1.0, human=None)


def run_paper(
    config: Config, *, start_ms: int, span_ms: int, realtime: bool, speed: float, human: HumanLine | None
) -> RunSummary:
    plan = synthetic_plan(config, start_ms, span_ms, realtime=realtime)
    journal = journal_for(config, durable=True)
    return _execute(config, plan, journal, realtime=realtime, speed=speed, human=human)


def _execute(
    config: Config, plan: Plan, journal: Journal, *, realtime: bool, speed: float, human: HumanLine | None
) -> RunSummary:
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    daemon = build_daemon(config, plan, journal, human)
    try:
        return asyncio.run(_drive(daemon, plan, realtime, speed))
    finally:
        journal.close()


async def _drive(daemon: Daemon, plan: Plan, realtime: bool, speed: float) -> RunSummary:
    engine = await daemon.start()
    events = paced(plan.events, speed) if realtime else as_fast_as_possible(plan.events)
    run = asyncio.create_task(daemon.run(events))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, run.cancel)
    scheduler = AsyncIOScheduler(timezone="UTC")
    if realtime:  # clips fall due between market events: a wall-clock job works them
        scheduler.add_job(daemon.tick, "interval", seconds=1, max_instances=1, coalesce=True)
        scheduler.start()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await run
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return daemon.summary(engine)
