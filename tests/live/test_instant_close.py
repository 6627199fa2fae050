"""Realtime and live, an instant is decided on the event that completes it, not when the next one begins (issue 18)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from bot.config import Config, parse_config
from bot.domain import MarketEvent
from bot.live.assembly import paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.session import Session
from bot.store.journal import Journal

START = 1_704_067_200_000


def small_config(tmp_path: Path) -> Config:
    return parse_config(
        {"bot": {"state_dir": str(tmp_path), "span": "2d"}, "hedge": {"window": "1d", "min_samples": 12}}
    )


async def watched(
    daemon: Daemon, events: Iterable[MarketEvent], seen: list[tuple[int, int]]
) -> AsyncIterator[MarketEvent]:
    """The feed, noting at each instant's first event (instant before it, the engine's time then): the feed only
    hands over the next event once the daemon has done everything with the last one."""
    last: int | None = None
    for event in events:
        if last is not None and event.ts > last and daemon.engine is not None:
            seen.append((last, daemon.engine.now))
        last = event.ts
        yield event


def run(tmp_path: Path, *, close_instants: bool) -> tuple[list[tuple[int, int]], Daemon]:
    config = small_config(tmp_path)
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    daemon.close_instants = close_instants
    seen: list[tuple[int, int]] = []
    asyncio.run(daemon.run(watched(daemon, plan.events, seen)))
    journal.close()
    return seen, daemon


def test_with_instants_closed_on_their_last_event_each_is_decided_before_the_next_one_begins(tmp_path: Path) -> None:
    seen, daemon = run(tmp_path, close_instants=True)
    assert len(seen) > 1_000
    assert all(engine_now == instant for instant, engine_now in seen)
    assert daemon.running_engine().stats.decisions > 0


def test_in_event_time_an_instant_is_decided_when_the_next_one_begins(tmp_path: Path) -> None:
    seen, _ = run(tmp_path, close_instants=False)
    assert all(engine_now < instant for instant, engine_now in seen[1:])


def test_closing_instants_on_their_last_event_changes_no_decision(tmp_path: Path) -> None:
    """Fills may differ: an order now reaches the venue before the instant's funding print, as it would live."""
    _, closed = run(tmp_path / "closed", close_instants=True)
    _, event_time = run(tmp_path / "event_time", close_instants=False)
    decisions = [Journal(tmp_path / name / "journal.sqlite").rows("decisions") for name in ("closed", "event_time")]
    assert decisions[0] == decisions[1]
    assert len(decisions[0]) == closed.running_engine().stats.decisions == event_time.running_engine().stats.decisions


def test_a_realtime_session_closes_instants_and_a_fast_one_does_not(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    Session(daemon, plan.events, realtime=False)
    assert not daemon.close_instants
    Session(daemon, plan.events, realtime=True)
    assert daemon.close_instants
    journal.close()
