"""A quarterly hedge on the synthetic market is rolled across an expiry: exposure stays within the rebalance
band throughout, the near contract is flat before it expires, and the roll's cost is reported and journaled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Config, with_overrides
from bot.daemon import Daemon, RunSummary
from bot.domain import MS_PER_DAY, MarketEvent, Symbol
from bot.execution.rolls import quarterly_expiry_ms
from bot.store.journal import Journal
from bot.wiring import build_daemon, synthetic_plan

LEG = Symbol("BTC/USDT:USDT@quarterly")
NEAR, FAR = Symbol("BTC/USDT:USDT-240329"), Symbol("BTC/USDT:USDT-240628")
EXPIRY = quarterly_expiry_ms(2024, 3)
START = EXPIRY - 8 * MS_PER_DAY
BAND = 0.10


def roll_config(state_dir: Path) -> Config:
    return with_overrides(
        Config(),
        bot={"state_dir": state_dir},
        market={"step": "5m"},
        hedge={"instruments": [LEG, "ETH/USDT:USDT"], "window": "2d", "min_samples": 24, "rebalance_band": BAND},
        execution={"roll_window_days": 3, "roll_steps": 3, "clip_interval": "5m"},
    )


@dataclass
class RollWatch:
    """Looks at the engine between instants: the roll's net exposure, and the near leg at expiry."""

    daemon: Daemon
    worst_gap: float = 0.0  # |near + far − target| / |target| while the roll ran (outside a re-plan)
    instants_rolling: int = 0
    near_before_expiry: list[float] = field(default_factory=list)

    async def watch(self, events: Iterable[MarketEvent]) -> AsyncIterator[MarketEvent]:
        last = None
        for event in events:
            if event.ts != last and self.daemon.engine is not None:
                self._look(event.ts)
                last = event.ts
            yield event

    def _look(self, now: int) -> None:
        engine = self.daemon.engine
        assert engine is not None
        if now < EXPIRY:
            self.near_before_expiry.append(engine.positions.get(NEAR, 0.0))
        decided = engine.last_decision.ts if engine.last_decision else 0
        target = engine.targets.get(LEG)
        if not engine.roller.rolling(LEG) or target is None or now - decided <= 2 * 300_000:
            return  # a new target is being re-planned: the band is the decider's business, not the roll's
        self.instants_rolling += 1
        net = engine.positions.get(NEAR, 0.0) + engine.positions.get(FAR, 0.0)
        self.worst_gap = max(self.worst_gap, abs(net - target.qty) / abs(target.qty))


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunSummary, RollWatch, Journal]]:
    config = roll_config(tmp_path_factory.mktemp("roll"))
    plan = synthetic_plan(config, START, 12 * MS_PER_DAY, realtime=False)
    journal = Journal(config.path_in_state("journal.sqlite"))
    daemon = build_daemon(config, plan, journal)
    watch = RollWatch(daemon)
    summary = asyncio.run(daemon.run(watch.watch(plan.events)))
    yield summary, watch, journal
    journal.close()


def test_net_exposure_stays_within_the_rebalance_band_while_the_roll_runs(
    rolled: tuple[RunSummary, RollWatch, Journal],
) -> None:
    _, watch, _ = rolled
    assert watch.instants_rolling > 100
    assert watch.worst_gap <= BAND


def test_the_near_contract_is_flat_before_it_expires_and_the_hedge_sits_in_the_next_one(
    rolled: tuple[RunSummary, RollWatch, Journal],
) -> None:
    summary, watch, _ = rolled
    assert min(watch.near_before_expiry) < 0  # the hedge was short the near contract before the roll
    assert watch.near_before_expiry[-1] == 0.0
    assert summary.positions.get(FAR, 0.0) < 0
    assert NEAR not in summary.positions


def test_the_roll_and_its_cost_are_reported_and_journaled(rolled: tuple[RunSummary, RollWatch, Journal]) -> None:
    summary, _, journal = rolled
    assert summary.execution["rolls"] == 1
    assert summary.execution["roll_cost"] != 0.0
    kinds = [kind for _, kind, _, _ in journal.executions("roll_")]
    assert kinds[0] == "roll_started"
    assert kinds[-1] == "roll_finished"
    [(_, _, leg, record)] = [row for row in journal.executions("roll_finished")]
    assert leg == LEG
    assert record["near"] == NEAR
    assert record["far"] == FAR
    assert record["finished_ms"] < EXPIRY
