"""A quarterly hedge on the synthetic market is rolled across an expiry: exposure stays within the rebalance
band throughout, the near contract is flat before it expires, and the roll's cost is reported and journaled.

"Throughout" is checked twice, with no instant left out, from the instant the roll starts to the instant it
finishes (as journaled):

- at the end of every instant (the engine as that instant's decision, clips and fills left it, read between
  events): net exposure near + far against the leg's target in force, right after a new decision included;
- after every single fill of either contract (the journal's fills in order): a pair's near leg fills before its
  far leg, so this sees the moment one leg of a pair has filled alone.

The band is |near + far − target| ≤ rebalance_band × |target|. One moment is measured against the target in force
before a decision: the decision itself. A decision changes the target because the hedge drifted beyond the band
from it (that is the rebalance trigger), so at the moment it is made the hedge is off the new target by
definition; its positions are then the ones the previous target was held with. That moment lasts no market time
when the roller restores net exposure in the same instant (the fills that follow it carry its timestamp); if no
fill follows in that instant, the decision is measured against its new target like any other moment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

from bot.config import Config, with_overrides
from bot.domain import MS_PER_DAY, MarketEvent, Symbol
from bot.execution.roll_plan import quarterly_expiry_ms
from bot.live.assembly import build_daemon, synthetic_plan
from bot.live.daemon import Daemon
from bot.report.backtest import result_json
from bot.report.run_summary import RunSummary
from bot.report.text import utc
from bot.store.journal import Journal

LEG = Symbol("BTC/USDT:USDT@quarterly")
NEAR, FAR = Symbol("BTC/USDT:USDT-240329"), Symbol("BTC/USDT:USDT-240628")
EXPIRY = quarterly_expiry_ms(2024, 3)
START = EXPIRY - 8 * MS_PER_DAY
STEP_MS = 300_000  # the market's step: one instant every 5 minutes
BAND = 0.10


def roll_config(state_dir: Path) -> Config:
    return with_overrides(
        Config(),
        bot={"state_dir": state_dir},
        market={"step": "5m"},
        hedge={"instruments": [LEG, "ETH/USDT:USDT"], "window": "2d", "min_samples": 24, "rebalance_band": BAND},
        execution={"roll_window_days": 3, "roll_steps": 3, "clip_interval": "5m"},
    )


class Moment(NamedTuple):
    ts: int
    what: str  # "instant", "decision" or the client id of a fill
    net: float  # near + far, contracts
    target: float  # the target it is measured against

    @property
    def gap(self) -> float:
        return abs(self.net - self.target) / abs(self.target)


@dataclass
class RollWatch:
    """Reads the engine after every event the daemon has handled. The first event of an instant makes the daemon
    finish the instant before it (its decision, clips and their fills), so the first reading at each engine time
    is that instant as it ended."""

    daemon: Daemon
    instants: dict[int, Moment] = field(default_factory=dict)  # engine time → the instant as it ended
    near_at: dict[int, float] = field(default_factory=dict)  # engine time → the near position then

    async def watch(self, events: Iterable[MarketEvent]) -> AsyncIterator[MarketEvent]:
        for event in events:
            yield event
            self._look()

    def _look(self) -> None:
        engine = self.daemon.engine
        assert engine is not None
        self.near_at.setdefault(engine.now, engine.positions.get(NEAR, 0.0))
        target = engine.targets.get(LEG)
        if target is not None:
            net = engine.positions.get(NEAR, 0.0) + engine.positions.get(FAR, 0.0)
            self.instants.setdefault(engine.now, Moment(engine.now, "instant", net, target.qty))

    @property
    def near_before_expiry(self) -> list[float]:
        return [qty for now, qty in sorted(self.near_at.items()) if now < EXPIRY]


def roll_span(journal: Journal) -> tuple[int, int]:
    """(started, finished) of the one roll, as journaled."""
    [(_, _, _, started)] = journal.executions("roll_started")
    [(_, _, _, finished)] = journal.executions("roll_finished")
    return int(started["started_ms"]), int(finished["finished_ms"])


def fill_by_fill(journal: Journal) -> list[Moment]:
    """Every fill of the leg's contracts and every decision about it, in the order they happened, with the net
    exposure each left and the target it is measured against (see the module's docstring).

    Order at one timestamp: a fill of an order placed at an earlier instant (a resting one the instant's prices
    took) comes before the instant's decision; fills of orders placed in the instant, after it."""
    placed = {row["client_id"]: row["created_ts"] for row in journal.rows("orders")}
    changes: list[tuple[tuple[int, int], str, float]] = []
    for row in journal.rows("decisions"):
        targets = {t["symbol"]: t["qty"] for t in json.loads(row["targets"])}
        if LEG in targets:
            changes.append(((row["ts"], 0), "decision", targets[LEG]))
    for row in journal.rows("fills"):
        if row["symbol"] in (NEAR, FAR):
            signed = row["qty"] if row["side"] == "buy" else -row["qty"]
            after = 1 if placed[row["client_id"]] == row["ts"] else -1
            changes.append(((row["ts"], after), row["client_id"], signed))
    changes.sort(key=lambda change: change[0])
    moments, net, target = [], 0.0, None
    for i, ((ts, _), what, value) in enumerate(changes):
        if what == "decision":
            before, target = target, value
            restored_at_once = i + 1 < len(changes) and changes[i + 1][0][0] == ts and changes[i + 1][1] != "decision"
            reference = before if restored_at_once and before is not None else target
            moments.append(Moment(ts, what, net, reference))
        else:
            net += value
            if target is not None:
                moments.append(Moment(ts, what, net, target))
    return moments


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


def test_net_exposure_stays_within_the_rebalance_band_at_the_end_of_every_instant_of_the_roll(
    rolled: tuple[RunSummary, RollWatch, Journal],
) -> None:
    _, watch, journal = rolled
    started, finished = roll_span(journal)
    decided = {row["ts"] for row in journal.rows("decisions") if started <= row["ts"] <= finished}
    instants = [watch.instants.get(ts) for ts in range(started, finished + 1, STEP_MS)]
    assert None not in instants  # every instant from the roll's start to its finish was read
    assert len(instants) > 500
    assert len(decided) >= 5  # and new targets came while it ran: their instants are among those read
    outside = [moment for moment in instants if moment is not None and moment.gap > BAND]
    assert outside == []


def test_net_exposure_stays_within_the_rebalance_band_after_every_fill_of_the_roll(
    rolled: tuple[RunSummary, RollWatch, Journal],
) -> None:
    _, _, journal = rolled
    started, finished = roll_span(journal)
    moments = [m for m in fill_by_fill(journal) if started <= m.ts <= finished]
    fills = [m for m in moments if m.what.startswith("hb-")]
    rolls = [row["client_id"] for row in journal.rows("fills") if row["client_id"].startswith("hb-rBTCUSDT240329-")]
    assert len(rolls) > 20
    assert [m.what for m in fills] == rolls  # every fill of the roll's orders, and no other, while it ran
    assert sum(1 for m in moments if m.what == "decision") >= 5
    outside = [moment for moment in moments if moment.gap > BAND]
    assert outside == []
    assert max(m.gap for m in fills) > BAND / 2  # a pair's near leg alone moves net by up to the band


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
    [row] = result_json(summary)["rolls"]  # the run's result lists the roll beside the execution block's count
    assert (row["near"], row["far"], row["outcome"]) == (NEAR, FAR, "finished")
    assert (row["started"], row["finished"], row["expiry"]) == tuple(
        utc(ms) for ms in (record["started_ms"], record["finished_ms"], EXPIRY)
    )
    assert row["cost"]["total"] == summary.execution["roll_cost"]
