"""A carry leg live on the loopback exchange through the real ccxt client: the exchange's own quarterly, priced at a
basis far above the perpetual's funding, takes the hedge over by a journaled `carry_switch` and a roll pair; the
journal's positions and fills are the exchange's, each client id sent once. Market time is the test's (a manual
clock); conditions are awaited by polling with a deadline, never by sleeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.carry_book import CARRY_SWITCH
from bot.domain import Symbol
from bot.exchange_sim.settings import SimSettings
from bot.testing.live import BTC_PERP, ETH_PERP, config_for, exchange_with_history, ledger, trading

pytestmark = pytest.mark.asyncio
LEG = Symbol("ETH/USDT:USDT@carry")
ETH_MARCH = Symbol("ETH/USDT:USDT-260327")  # the front quarterly the exchange lists at START (2026-01-01)


async def test_a_live_carry_leg_moves_onto_the_exchange_s_quarterly_by_a_journaled_switch(tmp_path: Path) -> None:
    async with exchange_with_history(settings=SimSettings(basis_annual=0.5)) as sim:  # 50 %/y: far above funding
        hedge = {"instruments": [BTC_PERP, LEG], "proxy": LEG, "rebalance_band": 0.5, "carry": {"min_hold": "0s"}}
        config = config_for(sim, tmp_path, hedge=hedge)
        async with trading(sim, config, tmp_path) as live:
            await live.at(1, eth=2_010.0)
            first = await live.hedged("the hedge, on the perpetual it starts on")
            assert first == {ETH_PERP: pytest.approx(-10.0, abs=0.01)}
            for minute in range(2, 10):  # a sampling step a minute: the switch, then a pair per clip interval
                await live.at(minute, eth=2_010.0)
                if live.journal.executions("roll_finished"):
                    break
            moved = await live.hedged("the hedge, moved onto the quarterly")
            problems = ledger(live).problems()
            decisions = [row for row in live.journal.rows("decisions") if row["trigger"] == CARRY_SWITCH]
            rolls = [kind for _, kind, _, _ in live.journal.executions("roll_")]
            status = live.status()
    assert moved == {ETH_MARCH: pytest.approx(-10.0, abs=0.01)}
    assert problems == []  # each id sent once, every fill journaled once, positions the exchange's
    [decision] = decisions
    numbers = json.loads(decision["numbers"])
    assert numbers["use_dated"] == 1.0
    assert numbers["basis_yield"] == pytest.approx(0.5, abs=0.02)
    assert rolls[0] == "roll_started"
    assert rolls[-1] == "roll_finished"
    assert status["carry"]["legs"][LEG]["on"] == "dated"
