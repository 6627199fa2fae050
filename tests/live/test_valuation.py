"""The hourly valuation (bot/live/valuation.py): journaled once an hour, gauged to whichever observer the daemon has."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from bot.config import Config, parse_config
from bot.domain import MS_PER_HOUR
from bot.live.assembly import as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.valuation import listens_to_gauges
from bot.ops.observer import Observer, OpsObserver
from bot.store.journal import Journal

START = 1_704_067_200_000


class GaugeRecorder(Observer):
    """The silent observer, but it keeps every gauge refresh it is given."""

    def __init__(self) -> None:
        self.refreshes: list[tuple[dict[str, Any], float, float]] = []

    def gauges(self, status: dict[str, Any], drawdown: float, margin_ratio: float) -> None:
        self.refreshes.append((status, drawdown, margin_ratio))


def small_config(tmp_path: Path) -> Config:
    return parse_config(
        {"bot": {"state_dir": str(tmp_path), "span": "3d"}, "hedge": {"window": "1d", "min_samples": 12}}
    )


def run(tmp_path: Path, observer: Observer | None) -> tuple[Daemon, Journal]:
    config = small_config(tmp_path)
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    if observer is not None:
        daemon.observer = observer  # as the session does: the observer is installed after the daemon is built
    asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    return daemon, journal


def test_an_observer_installed_after_the_daemon_is_built_receives_every_valuations_gauges(tmp_path: Path) -> None:
    observer = GaugeRecorder()
    _, journal = run(tmp_path, observer)
    valuations = journal.valuations()
    assert len(observer.refreshes) == len(valuations) > 24
    status, drawdown, margin_ratio = observer.refreshes[-1]
    assert status["positions"]
    assert drawdown >= 0
    assert 1 < margin_ratio < math.inf


def test_the_book_is_valued_once_an_hour_from_the_trading_start(tmp_path: Path) -> None:
    daemon, journal = run(tmp_path, None)
    stamps = [v.ts for v in journal.valuations()]
    hours = [ts // MS_PER_HOUR for ts in stamps[:-1]]  # the last is the closing valuation at the final instant
    assert stamps[0] >= daemon.trading_from_ms
    assert hours == list(range(hours[0], hours[0] + len(hours)))


def test_what_a_run_journals_does_not_depend_on_whether_its_observer_listens_to_gauges(tmp_path: Path) -> None:
    _, silent = run(tmp_path / "silent", None)
    _, listened = run(tmp_path / "listened", GaugeRecorder())
    assert silent.valuations() == listened.valuations()
    assert silent.rows("fills") == listened.rows("fills")


def test_only_an_observer_that_does_something_with_gauges_gets_a_status_built() -> None:
    assert not listens_to_gauges(Observer())
    assert listens_to_gauges(GaugeRecorder())
    assert listens_to_gauges(OpsObserver(None, None))
