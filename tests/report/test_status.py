"""The status an operator reads: after a quarterly expires, its price is no longer a feed with an age."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import parse_config
from bot.domain import MS_PER_DAY
from bot.execution.roll_plan import quarterly_expiry_ms
from bot.live.assembly import as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.store.journal import Journal

EXPIRY = quarterly_expiry_ms(2024, 3)  # 2024-03-29 08:00 UTC


@pytest.mark.slow
def test_an_expired_contract_leaves_the_feed_ages_and_the_next_one_is_there(tmp_path: Path) -> None:
    config = parse_config(
        {
            "bot": {"state_dir": str(tmp_path), "span": "4d"},
            "hedge": {"instruments": ["BTC/USDT:USDT@quarterly", "ETH/USDT:USDT"], "window": "1d", "min_samples": 24},
            "execution": {"roll_window_days": 2.0, "roll_steps": 2},
        }
    )
    journal = Journal(tmp_path / "journal.sqlite")
    plan = synthetic_plan(config, EXPIRY - 3 * MS_PER_DAY, config.span_ms, realtime=False)
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    summary = asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    status = daemon.status()
    journal.close()
    assert summary.totals.rolls == 1  # traded the March contract, rolled it into June
    assert status["now"] > EXPIRY
    assert "BTC/USDT:USDT-240329" not in status["feed_age_s"]  # expired: its last price is days old, for good
    assert status["feed_age_s"]["BTC/USDT:USDT-240628"] < 60
    assert "BTC/USDT:USDT-240628" in status["positions"]
