"""A protective policy runs in the engine like any policy: its cover scales the hedge, its floor is in the status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.control.render import status_text
from bot.live.assembly import as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.store.journal import Journal

START = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def paper_run(tmp_path: Path, hedge: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    config = parse_config(
        {
            "bot": {"state_dir": str(tmp_path), "span": "3d"},
            "hedge": {"window": "1d", "min_samples": 24, **hedge},
        }
    )
    journal = Journal(tmp_path / "journal.sqlite")
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    status = daemon.status()
    decisions = journal.rows("decisions")
    journal.close()
    return status, decisions


@pytest.mark.slow
def test_cppi_hedges_a_share_of_the_basket_and_shows_its_floor_and_cushion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, decisions = paper_run(tmp_path, {"policy": "cppi", "floor": 0.9, "multiplier": 5.0})
    protection = status["protection"]
    assert protection["policy"] == "cppi"
    assert protection["cushion"] == pytest.approx(protection["protected_value"] - protection["floor"], abs=1e-3)
    assert 0.0 <= protection["cover"] <= 1.0
    assert decisions
    assert all('"cover"' in str(d["numbers"]) for d in decisions)
    text = status_text(status)
    assert "floor      cppi: value " in text
    assert "cushion" in text
    # a 10 % cushion × 5 leaves at most half the basket exposed: the cover is never below one half
    hedged = abs(sum(t["notional"] for t in status["targets"].values()))
    assert hedged >= 0.5 * status["exposure"] * 0.9  # rounded down to lots
    assert main(["report", "--journal", str(tmp_path / "journal.sqlite")]) == 0
    report = capsys.readouterr().out
    assert "capture: upside " in report
    assert "protection: value " in report
    assert "at the last decision" in report


@pytest.mark.slow
def test_a_protective_put_covers_less_than_the_full_hedge_while_the_basket_is_near_its_peak(tmp_path: Path) -> None:
    status, _ = paper_run(tmp_path / "put", {"policy": "protective_put", "floor": 0.5, "protect_base": "fixed"})
    full, _ = paper_run(tmp_path / "fixed", {"policy": "fixed"})
    assert status["protection"]["cover"] < 0.05  # a strike at half the peak, 30 days out: far out of the money
    put_short = abs(sum(t["notional"] for t in status["targets"].values()))
    full_short = abs(sum(t["notional"] for t in full["targets"].values()))
    assert put_short < 0.1 * full_short
    assert full["protection"] is None
