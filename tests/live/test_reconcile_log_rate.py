"""A sped-up run reconciles every simulated minute; its log says so when something changed, or once an hour."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot import logs
from bot.clock import EventClock
from bot.config import parse_config
from bot.domain import MS_PER_MINUTE
from bot.live.assembly import paper_venue
from bot.live.daemon import Daemon
from bot.live.session import FIXED_START_MS
from bot.store.journal import Journal


def test_unchanged_reconciliations_are_logged_once_an_hour_not_every_minute(tmp_path: Path) -> None:
    log_file = tmp_path / "hedgebot.log"
    logs.configure(log_file, "info")
    config = parse_config({"bot": {"state_dir": str(tmp_path)}, "execution": {"reconcile_interval": "1m"}})
    journal = Journal(tmp_path / "journal.sqlite")
    clock = EventClock(FIXED_START_MS)
    daemon = Daemon(config, paper_venue(config), journal, clock, trading_from_ms=FIXED_START_MS)

    async def two_hours_of_minutes() -> None:
        await daemon.start()  # the start-up reconciliation
        for minute in range(1, 121):
            clock.observe(FIXED_START_MS + minute * MS_PER_MINUTE)
            assert daemon.reconciler.due(clock.now_ms())
            assert await daemon.reconciler.reconcile() is not None
        await daemon.venue.close()

    try:
        asyncio.run(two_hours_of_minutes())
    finally:
        journal.close()
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert events.count("reconciliation_done") == 3  # at start, then after each simulated hour unchanged
    assert len(journal_rows := _reconciliations(tmp_path)) == 121  # each one is still journaled
    assert all(row["outcome"] == "ok" for row in journal_rows)


def _reconciliations(tmp_path: Path) -> list[dict[str, object]]:
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        return journal.rows("reconciliations")
    finally:
        journal.close()
