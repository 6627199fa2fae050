"""A run on an exchange's streams until SIGINT/SIGTERM: live orders through the ccxt venue, or paper fills on the
exchange's prices. Apart from `bot.live.session` so backtests and built-in paper runs never load ccxt."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot import logs
from bot.clock import Clock
from bot.config import Config
from bot.control.settings import ControlSettings, control_settings, no_token_warning
from bot.live.assembly import journal_for
from bot.live.exchange_plan import LiveTuning, live_daemon, open_live_plan
from bot.live.ports import HumanLine
from bot.live.session import Session, config_reloader
from bot.ops.runtime import OpsRuntime
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal
from bot.venues.ccxt_client import read_api_keys


def run_live(
    config: Config,
    *,
    human: HumanLine | None,
    config_path: Path | None = None,
    clock: Clock | None = None,
    tuning: LiveTuning | None = None,
) -> RunSummary:
    """A run on the exchange's streams until SIGINT/SIGTERM: live orders (`bot.mode = "live"`) through the
    ccxt venue, or paper fills on the exchange's prices (`"paper"`, public streams, no key).

    What can be refused is checked before anything starts: live needs API keys (Fatal naming the variables)
    and a control token (ControlSetupError); alerts that are on need somewhere to send, and the metrics address
    must be free (OpsSetupError). The journal is durable and never started afresh: a live journal
    is the record of real orders that start-up reconciliation matches against the exchange.
    """
    if config.bot.mode == "live":
        read_api_keys(config.venue)
    control = control_settings(config)
    if control is None:
        print(no_token_warning(config), file=sys.stderr, flush=True)
    ops = OpsRuntime(config)
    logs.configure(config.path_in_state(config.bot.log_file), config.bot.log_level)
    journal = journal_for(config, durable=True)
    try:
        session = live_session(
            config,
            journal,
            control=control,
            human=human,
            config_path=config_path,
            clock=clock,
            tuning=tuning,
            handle_signals=True,
            ops=ops,
        )
        return asyncio.run(session)
    finally:
        journal.close()


async def live_session(
    config: Config,
    journal: Journal,
    *,
    control: ControlSettings | None,
    human: HumanLine | None,
    config_path: Path | None = None,
    clock: Clock | None = None,
    tuning: LiveTuning | None = None,
    handle_signals: bool = False,
    ops: OpsRuntime | None = None,
) -> RunSummary:
    """Open the venue and streams (`open_live_plan`), run a realtime session on them, close them. Metrics and
    alerts (`ops`) open first: a metrics address in use stops the run before the venue is reached."""
    ops = ops or OpsRuntime(config)
    await ops.open()
    try:
        plan = await open_live_plan(config, clock=clock, tuning=tuning)
    except BaseException:
        await ops.stop()
        raise
    try:
        daemon = live_daemon(config, plan, journal, human)
        daemon.reloader = config_reloader(config_path)
        session = Session(
            daemon,
            plan.feed,
            realtime=True,
            control=control,
            handle_signals=handle_signals,
            warmup=plan.warmup,
            ops=ops,
        )
        return await session.run()
    finally:
        await ops.stop()  # the session stops it; this covers a failure before the session ran
        await plan.close()
