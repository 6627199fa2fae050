"""Dated inverse (coin-margined) contracts on the synthetic market, in paper: an "ETH/USD:ETH@quarterly" leg rolls
across an expiry like a linear one, its roll cost valued in the quote the inverse way, and an "ETH/USD:ETH@carry"
leg moves from the inverse perpetual to the inverse quarterly when the basis beats funding (issue 21)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import Config, with_overrides
from bot.domain import MS_PER_DAY, ClientOrderId, Fill, Side, Symbol, TradeId
from bot.execution.roll_plan import RollCost, quarterly_expiry_ms
from bot.live.assembly import as_fast_as_possible, build_daemon, synthetic_plan
from bot.report.backtest import result_json
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal

EXPIRY = quarterly_expiry_ms(2024, 3)
NEAR, FAR = Symbol("ETH/USD:ETH-240329"), Symbol("ETH/USD:ETH-240628")
FACE = 10.0  # USD per ETH contract


def _run(state: Path, leg: str, basis: float, start: int, span: int) -> RunSummary:
    config: Config = with_overrides(
        Config(),
        bot={"state_dir": state},
        market={"step": "15m"},
        portfolio={"holdings": {"ETH": 10.0}},
        hedge={"instruments": [leg], "window": "1d", "min_samples": 12, "carry": {"lookback": "1d", "min_hold": "0s"}},
        execution={
            "dated_basis_annual": basis,
            "clip_interval": "15m",
            "clip_notional": 10_000.0,
            "roll_window_days": 1,
            "roll_steps": 2,
        },
        paper={"collateral": 10.0},  # ETH: the coin-margined account's
    )
    plan = synthetic_plan(config, start, span, realtime=False)
    journal = Journal(config.path_in_state("journal.sqlite"))
    try:
        return asyncio.run(build_daemon(config, plan, journal).run(as_fast_as_possible(plan.events)))
    finally:
        journal.close()


def test_an_inverse_quarterly_leg_rolls_across_its_expiry_and_books_the_basis_in_the_quote(tmp_path: Path) -> None:
    summary = _run(tmp_path, "ETH/USD:ETH@quarterly", 0.10, EXPIRY - 2 * MS_PER_DAY, 2 * MS_PER_DAY)
    [roll] = result_json(summary)["rolls"]
    assert (roll["near"], roll["far"], roll["outcome"]) == (NEAR, FAR, "finished")
    assert NEAR not in summary.positions
    assert summary.positions[FAR] < 0
    face = -summary.positions[FAR] * FACE
    years = (quarterly_expiry_ms(2024, 6) - EXPIRY) / (365 * MS_PER_DAY)
    assert roll["cost"]["basis"] == pytest.approx(-face * 0.10 * years, rel=0.1)  # a short rolled in contango earns


def test_an_inverse_carry_leg_moves_onto_the_inverse_quarterly_when_the_basis_beats_funding(tmp_path: Path) -> None:
    summary = _run(tmp_path, "ETH/USD:ETH@carry", 0.50, EXPIRY - 20 * MS_PER_DAY, MS_PER_DAY)
    result = result_json(summary)
    assert result["carry"]["legs"] == {"ETH/USD:ETH@carry": "dated"}
    [switch] = result["rolls"]
    assert (switch["near"], switch["far"], switch.get("carry_switch")) == ("ETH/USD:ETH", NEAR, True)
    assert set(summary.positions) == {NEAR}


def test_an_inverse_pair_s_basis_is_its_coin_difference_valued_at_the_coin_s_price() -> None:
    close = Fill(0, TradeId("t1"), ClientOrderId("c1"), NEAR, Side.BUY, 100.0, 2_000.0, 0.0, "ETH")
    open_ = Fill(0, TradeId("t2"), ClientOrderId("c2"), FAR, Side.SELL, 100.0, 2_050.0, 0.0, "ETH")
    cost = RollCost().with_fill(close, 2_000.0, FACE, 0.0, coin_price=2_000.0)
    cost = cost.with_fill(open_, 2_050.0, FACE, 0.0, coin_price=2_000.0)
    coin = 100 * FACE * (1 / 2_050.0 - 1 / 2_000.0)  # negative: the far contract's premium, locked in
    assert cost.basis == pytest.approx(coin * 2_000.0)
    assert cost.slippage == pytest.approx(0.0)
