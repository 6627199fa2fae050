"""A realtime paper session stopped in the middle of an hour: its journal's report counts what its summary does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.clock import WallClock
from bot.config import parse_config
from bot.live.assembly import build_daemon, synthetic_plan
from bot.live.session import Session
from bot.report.cli import load_period
from bot.report.daily import summary
from bot.store.journal import Journal

pytestmark = pytest.mark.asyncio
SPEED = 1200.0  # a simulated hour every 3 s of wall time
WAIT_S = 30.0


async def test_the_trades_after_the_last_hourly_valuation_are_in_the_report(tmp_path: Path) -> None:
    config = parse_config(
        {
            "bot": {"state_dir": str(tmp_path)},
            "hedge": {"policy": "fixed", "ratio": 0.5, "sample": "1m", "window": "1h", "min_samples": 3},
            "execution": {"clip_notional": 4_000.0, "clip_interval": "30s"},
            "metrics": {"listen": "127.0.0.1:0"},
        }
    )
    plan = synthetic_plan(config, WallClock().now_ms(), config.span_ms, realtime=True, speed=SPEED)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = build_daemon(config, plan, journal)
    session = Session(daemon, plan.events, realtime=True, speed=SPEED)
    run = asyncio.create_task(session.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while daemon.totals.fills < 3:  # clips 30 simulated seconds apart: the hour's valuation came with the first
        assert loop.time() < deadline, "no third fill in time"
        assert not run.done(), run
        await asyncio.sleep(0.01)  # polling a counter, not synchronising
    session.stop()
    result = await asyncio.wait_for(run, WAIT_S)
    journal.close()

    chosen = load_period(tmp_path / "journal.sqlite")
    assert chosen is not None
    report = summary(chosen)
    assert result.totals.fills >= 3
    assert report["attribution"]["fees"] == -round(result.totals.fees, 2)
    assert report["attribution"]["slippage"] == -round(result.totals.slippage_cost, 2)
    assert report["attribution"]["funding"] == round(result.totals.funding, 2)
    assert report["pnl"]["hedged"] == round(result.effectiveness.hedged_pnl, 2)
    assert report["pnl"]["unhedged"] == round(result.effectiveness.unhedged_pnl, 2)
