"""Realtime paper warms up on the synthetic market's own history: the first hedge comes at start, not after
`min_samples` samples; a run that ends before its estimates are ready says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import Config, parse_config
from bot.control.render import status_text
from bot.domain import MS_PER_HOUR, PriceObserved
from bot.live.assembly import as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.session import FIXED_START_MS, run_paper
from bot.report.backtest import result_text
from bot.store.journal import Journal


def _config(tmp_path: Path, **hedge: object) -> Config:
    return parse_config(
        {
            "bot": {"state_dir": str(tmp_path)},
            "hedge": {"window": "6h", "sample": "1h", "min_samples": 4, **hedge},
            "control": {"listen": "127.0.0.1:0"},
            "metrics": {"enabled": False},
        }
    )


def test_a_realtime_synthetic_plan_carries_the_windows_history_before_start_as_warm_up(tmp_path: Path) -> None:
    config = _config(tmp_path)
    plan = synthetic_plan(config, FIXED_START_MS, 2 * MS_PER_HOUR, realtime=True, speed=60)
    assert plan.warmup, "no history to warm up on"
    assert all(event.ts < FIXED_START_MS for event in plan.warmup)
    assert any(isinstance(event, PriceObserved) for event in plan.warmup)
    assert min(event.ts for event in plan.warmup) < FIXED_START_MS - 6 * MS_PER_HOUR + MS_PER_HOUR
    first = next(iter(plan.events))
    assert first.ts >= FIXED_START_MS  # what is paced starts at start


def test_a_sped_up_realtime_paper_run_makes_its_first_hedge_decision_at_start(tmp_path: Path) -> None:
    config = _config(tmp_path)
    summary = run_paper(
        config,
        start_ms=FIXED_START_MS,
        span_ms=2 * MS_PER_HOUR,
        realtime=True,
        speed=3_600,  # two simulated hours in about two seconds
        human=None,
    )
    assert summary.decisions > 0
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        first = journal.rows("decisions")[0]
    finally:
        journal.close()
    assert first["ts"] <= FIXED_START_MS + 60_000  # within the first market step, not 4 samples later


def test_a_run_too_short_to_warm_up_ends_saying_why_no_decision_fired(tmp_path: Path) -> None:
    config = _config(tmp_path, window="3h", min_samples=10)  # ten samples can never fit in three hours
    summary = run_paper(
        config,
        start_ms=FIXED_START_MS,
        span_ms=2 * MS_PER_HOUR,
        realtime=False,
        speed=1.0,
        human=None,
    )
    assert summary.decisions == 0
    text = result_text(summary)
    assert "decisions       0 (none fired: the estimates were never ready, 3 of 10 samples (hedge.min_samples))" in text


def test_ctl_status_shows_how_many_samples_the_estimates_have_and_need_before_the_first_decision(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, window="3h", min_samples=10)
    journal = Journal(tmp_path / "journal.sqlite")
    plan = synthetic_plan(config, FIXED_START_MS, 2 * MS_PER_HOUR, realtime=False)
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    try:
        asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
        status = daemon.status()
    finally:
        journal.close()
    assert status["warmup"] == {"samples": 3, "needs": 10}
    assert "decision   none yet: warming up, 3 of 10 samples (hedge.min_samples)" in status_text(status)
