"""A carry leg through the daemon on the synthetic market: the quarterly's basis beats funding, so the leg moves from
the perpetual to the quarterly by a `carry_switch` decision and a journaled roll pair, shown in the status, the
result and the report; restarted on its journal, it carries on with the quarterly through its minimum hold even when
the rule now prefers the perpetual (it never flips by itself)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.config import Config, with_overrides
from bot.control.render import status_text
from bot.core.carry_book import CARRY_SWITCH
from bot.domain import MS_PER_DAY, MS_PER_HOUR, Symbol
from bot.execution.roll_plan import quarterly_expiry_ms
from bot.live.assembly import as_fast_as_possible, build_daemon, synthetic_plan
from bot.live.daemon import Daemon
from bot.report.backtest import result_json, result_text
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal

LEG = Symbol("BTC/USDT:USDT@carry")
PERP, DATED = Symbol("BTC/USDT:USDT"), Symbol("BTC/USDT:USDT-240329")
START = quarterly_expiry_ms(2024, 3) - 20 * MS_PER_DAY
SPAN = MS_PER_DAY


def carry_config(state_dir: Path, basis: float, min_hold: str) -> Config:
    return with_overrides(
        Config(),
        bot={"state_dir": state_dir},
        market={"step": "15m"},
        portfolio={"holdings": {"ETH": 10.0}},
        hedge={
            "instruments": [LEG],
            "window": "1d",
            "min_samples": 12,
            "carry": {"lookback": "1d", "min_hold": min_hold},
        },
        execution={"dated_basis_annual": basis, "clip_interval": "15m", "clip_notional": 10_000.0},
    )


def run(config: Config, start: int, span: int = SPAN) -> tuple[RunSummary, Daemon]:
    plan = synthetic_plan(config, start, span, realtime=False)
    journal = Journal(config.path_in_state("journal.sqlite"))
    daemon = build_daemon(config, plan, journal, durable_account=True)  # the paper account outlives the run
    try:
        summary = asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    finally:
        journal.close()
    return summary, daemon


@pytest.fixture(scope="module")
def switched(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSummary, Daemon, Path]:
    state = tmp_path_factory.mktemp("carry")
    summary, daemon = run(carry_config(state, basis=0.30, min_hold="30d"), START)  # 30 %/y beats the funding
    return summary, daemon, state


def _journal(state: Path) -> Journal:
    return Journal(state / "journal.sqlite")


def test_the_leg_moves_to_the_quarterly_by_a_journaled_carry_switch_and_roll_pair(
    switched: tuple[RunSummary, Daemon, Path],
) -> None:
    summary, _, state = switched
    journal = _journal(state)
    try:
        [decision] = [row for row in journal.rows("decisions") if row["trigger"] == CARRY_SWITCH]
        rolls = journal.executions("roll_")
        fills = journal.rows("fills")
    finally:
        journal.close()
    numbers = json.loads(decision["numbers"])
    assert numbers["use_dated"] == 1.0
    assert numbers["basis_yield"] == pytest.approx(0.30)
    assert numbers["dated_yield"] - numbers["funding_yield"] > numbers["threshold"]
    kinds = [(kind, record["near"], record["far"], record["switch"]) for _, kind, _, record in rolls]
    assert kinds[0] == ("roll_started", PERP, DATED, True)
    assert kinds[-1] == ("roll_finished", PERP, DATED, True)
    assert decision["ts"] <= rolls[0][0]  # decided (and journaled) before the roll started
    assert {row["symbol"] for row in fills} == {PERP, DATED}
    assert PERP not in summary.positions
    assert summary.positions[DATED] < 0
    assert summary.triggers[CARRY_SWITCH] == 1


def test_the_switch_is_shown_in_the_status_the_result_and_its_text(switched: tuple[RunSummary, Daemon, Path]) -> None:
    summary, daemon, _ = switched
    status = daemon.status()
    assert status["carry"]["legs"][LEG]["on"] == "dated"
    assert f"carry      {LEG} on dated since" in status_text(status)
    result = result_json(summary)
    assert result["carry"]["legs"] == {LEG: "dated"}
    assert result["carry"]["switches"] == 1
    assert any(roll.get("carry_switch") for roll in result["rolls"])
    assert f"carry           1 switches; {LEG} on dated" in result_text(summary)


def test_a_restarted_daemon_carries_on_with_the_quarterly_it_holds_and_never_flips_by_itself(
    switched: tuple[RunSummary, Daemon, Path],
) -> None:
    _, _, state = switched
    # the rule now prefers the perpetual by far (a quarterly at a 50 % discount), but the minimum hold still runs
    summary, daemon = run(carry_config(state, basis=-0.50, min_hold="30d"), START + SPAN)
    journal = _journal(state)
    try:
        decisions = [row for row in journal.rows("decisions") if row["trigger"] == CARRY_SWITCH]
        started = journal.executions("roll_started")
    finally:
        journal.close()
    assert len(decisions) == 1  # the first run's, nothing new
    assert len(started) == 1
    assert daemon.engine is not None
    assert daemon.engine.carry.dated(LEG)
    assert PERP not in summary.positions
    assert summary.positions[DATED] < 0


def test_a_switch_cut_short_by_a_stop_resumes_after_the_restart_with_no_id_reused(tmp_path: Path) -> None:
    narrow = {"rebalance_band": 0.05}  # pairs of 5 % of the hedge, one per 15-minute clip interval: ~5 hours
    config = carry_config(tmp_path, basis=0.30, min_hold="30d")
    config = with_overrides(config, hedge={**config.hedge.model_dump(), **narrow})
    run(config, START, span=3 * MS_PER_HOUR)  # stopped while the switch is under way
    journal = _journal(tmp_path)
    try:
        assert journal.executions("roll_started")
        assert not journal.executions("roll_finished")
    finally:
        journal.close()
    summary, _ = run(config, START + 3 * MS_PER_HOUR)
    journal = _journal(tmp_path)
    try:
        switches = [row for row in journal.rows("decisions") if row["trigger"] == CARRY_SWITCH]
        [(_, _, _, finished)] = journal.executions("roll_finished")
        ids = [row["client_id"] for row in journal.rows("orders")]
    finally:
        journal.close()
    assert len(switches) == 1  # decided once, finished by the second run
    assert finished["switch"]
    assert finished["next_pair_no"] > 1
    assert len(ids) == len(set(ids))
    assert set(summary.positions) == {DATED}
