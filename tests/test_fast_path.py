"""The fast path decides, orders, fills and journals exactly what the per-event path does (issue 18's guard).

Each run goes through the whole daemon twice: once with every journal write committed on its own (the per-event
path: `batch_instants = 0`, what a live run always does) and once as fast runs and backtests go (many instants per
commit, gauges only for an observer that listens); every journal table and the run's result must be equal.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from bot.config import Config, load_config, parse_config, with_overrides
from bot.live.assembly import Plan, as_fast_as_possible, build_daemon, journal_for, replay_plan, synthetic_plan
from bot.live.session import FAST_BATCH_INSTANTS, FIXED_START_MS
from bot.risk.governance import Governance
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]


def journal_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in rowid order."""
    db = sqlite3.connect(path)
    try:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {name: db.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall() for name in names}  # noqa: S608 -- names from the schema
    finally:
        db.close()


def run(config: Config, plan: Plan, batch_instants: int) -> tuple[dict[str, Any], dict[str, list[tuple[Any, ...]]]]:
    journal: Journal = journal_for(config, durable=False, name="run.sqlite")
    daemon = build_daemon(config, plan, journal)
    daemon.batch_instants = batch_instants

    async def go() -> dict[str, Any]:
        await daemon.start()
        summary = await daemon.run(as_fast_as_possible(plan.events))
        return {
            "decisions": summary.decisions,
            "clips": summary.clips,
            "positions": summary.positions,
            "effectiveness": asdict(summary.effectiveness),
            "fills": summary.totals.fills,
            "fees": summary.totals.fees,
            "events": summary.totals.events,
        }

    result = asyncio.run(go())
    journal.close()
    return result, journal_tables(Path(config.path_in_state("run.sqlite")))


def both_paths(config_of: Any, plan_of: Any, tmp_path: Path) -> None:
    slow_config, fast_config = config_of(tmp_path / "per_event"), config_of(tmp_path / "fast")
    slow, slow_rows = run(slow_config, plan_of(slow_config), 0)
    fast, fast_rows = run(fast_config, plan_of(fast_config), FAST_BATCH_INSTANTS)
    assert slow["fills"] > 0
    assert slow_rows["decisions"]
    assert slow_rows["valuations"]
    assert fast == slow
    assert fast_rows.keys() == slow_rows.keys()
    for table in slow_rows:
        assert fast_rows[table] == slow_rows[table], table


def test_the_default_synthetic_run_decides_orders_fills_and_journals_the_same_on_both_paths(tmp_path: Path) -> None:
    def config_of(state: Path) -> Config:
        return parse_config({"bot": {"state_dir": str(state), "span": "10d"}})

    both_paths(config_of, lambda c: synthetic_plan(c, FIXED_START_MS, c.span_ms, realtime=False), tmp_path)


@pytest.mark.data
def test_a_real_data_backtest_decides_orders_fills_and_journals_the_same_on_both_paths(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    def config_of(state: Path) -> Config:
        market = {"prices": prices_1h, "funding": funding_8h, "perp": perp_1h}
        period = {"start": date(2021, 5, 1), "end": date(2021, 6, 15)}  # the May 2021 crash: cuts, rolls of the band
        base = load_config(REPO / "config" / "backtest.toml")
        return with_overrides(base, bot={"state_dir": state}, market={**market, **period})

    both_paths(config_of, replay_plan, tmp_path)


@pytest.mark.data
def test_a_backtest_that_evaluates_every_account_anew_decides_and_journals_what_the_kept_evaluations_give(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    """Governance keeps a quiet evaluation and answers the same inputs with it (the valuation's account of an
    instant without a fill): forcing every evaluation to be made changes nothing a run decides or journals."""

    def config_of(state: Path) -> Config:
        market = {"prices": prices_1h, "funding": funding_8h, "perp": perp_1h}
        period = {"start": date(2021, 5, 12), "end": date(2021, 5, 26)}  # the crash: the ladder steps and cuts
        base = load_config(REPO / "config" / "backtest.toml")
        hedge = {"window": "3d", "min_samples": 24}  # a short warm-up: the test is about the trading days
        paper = {"collateral": 15_000.0}  # thin: the collateral ladder holds and releases trading (10 changes)
        return with_overrides(base, bot={"state_dir": state}, market={**market, **period}, hedge=hedge, paper=paper)

    kept_config, anew_config = config_of(tmp_path / "kept"), config_of(tmp_path / "anew")
    kept, kept_rows = run(kept_config, replay_plan(kept_config), FAST_BATCH_INSTANTS)
    with patch.object(Governance, "_inputs", lambda *_: (object(),)):  # a key equal to no other: all evaluated
        anew, anew_rows = run(anew_config, replay_plan(anew_config), FAST_BATCH_INSTANTS)
    assert kept["fills"] > 0
    assert kept_rows["state_changes"]
    assert anew == kept
    assert anew_rows == kept_rows
