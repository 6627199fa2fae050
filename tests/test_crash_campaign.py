"""The kill -9 campaign: `hedgebot run` in live mode, trading through the real ccxt client against the loopback
exchange, is killed at chosen points of its hedging runs and restarted on the same journal, again and again.

Each restart comes with a new holding, so every run has a parent of several clips to work. The kill points are
keyed on what the exchange sees (bot/testing/crash_points.py): an order create dropped before the
exchange processed it (journaled, never arrived), an order processed but not acknowledged, the daemon busy
with the answer of a fill, and any REST request of the start-up, reconciliation and account refreshes. After
the last run, which finishes its parent: no client order id was sent twice, every exchange fill is in the
journal exactly once (no position had to be adopted to cover a lost one), the journal's positions are the
exchange's, and the hedge sits on its target.

Conditions are awaited by polling the daemon's control API with a deadline, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.clock import WallClock
from bot.control.client import ControlClient, DaemonUnreachable
from bot.control.listen import parse_listen
from bot.domain import MS_PER_DAY, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import Phase
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.execution.clips import min_clip_qty
from bot.execution.market_rules import default_instrument
from bot.execution.roll_plan import dated_symbol, quarterly_expiries_after
from bot.store.journal import Journal
from bot.testing.crash_points import (
    DaemonProcess,
    DaemonProcesses,
    KillPoint,
    arm,
    disarm,
    order_point,
)
from bot.testing.loopback import BTC_PERP, ETH_PERP, LOOPBACK_HEDGE
from bot.testing.processes import exchange_in_real_time, lots, lots_of, toml_text

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

TOKEN = "crash-campaign-token-0123456789abcdef"
GUARD_S = 90.0  # the most one run may take to reach its kill point or its target; never a synchronisation delay
BASIS = 0.01  # the most the synthetic market's perpetual strays from its spot index (a percent)
MIN_CLIP = min_clip_qty(default_instrument(ETH_PERP), 2_000.0)  # the least ETH order the venue takes, at ~2,000
AT_REST = "at rest, on target"  # a run that finished its work before its kill point came: killed idle


@dataclass
class Chain:
    """One exchange, one journal, and the daemons started on them one after the other."""

    sim: ExchangeSim
    state: Path
    processes: DaemonProcesses
    execution: dict[str, Any]
    hedge: Symbol = ETH_PERP  # the leg the ETH is hedged with: the perpetual, or "ETH/USDT:USDT@quarterly"
    contract: Symbol = ETH_PERP  # where that hedge is to sit once a run has finished its work
    band: float = 0.02
    kills: list[str] = field(default_factory=list)
    runs: int = 0
    last_status: Mapping[str, Any] | None = None  # the latest status the daemon answered, shown when a run stalls

    @property
    def socket(self) -> Path:
        return self.state / "control.sock"

    def start(self, eth: float) -> DaemonProcess:
        """`hedgebot run` in live mode, hedging `eth` ETH by beta on the ETH perpetual in clips."""
        self.runs += 1
        config = self.state / "live.toml"
        config.write_text(toml_text(self.sections(eth)))
        env = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
        return self.processes.start(["run", "--config", str(config)], env, self.state / f"run-{self.runs}.out")

    def sections(self, eth: float) -> dict[str, Mapping[str, Any]]:
        return {
            "bot": {"mode": "live", "state_dir": str(self.state)},
            "market": {"source": "exchange"},
            "portfolio.holdings": {"ETH": eth},
            "hedge": {
                **LOOPBACK_HEDGE,
                "instruments": [BTC_PERP, self.hedge],
                "proxy": self.hedge,
                "rebalance_band": self.band,
            },
            "risk": {"max_price_age": "30s"},
            "execution": {
                "clip_notional": 3_000.0,
                "clip_interval": "1s",
                "reconcile_retry": "1s",
                "on_shutdown": "leave",
                **self.execution,
            },
            "venue": {"endpoint": self.sim.base_url, "rate_limit": False, "request_window": "1s"},
            "control": {"listen": f"unix:{self.socket}"},
            "metrics": {"enabled": False},
        }

    async def status(self, daemon: DaemonProcess) -> dict[str, Any] | None:
        if daemon.process.exitcode is not None:
            raise AssertionError(f"the daemon exited by itself ({daemon.process.exitcode}):\n{daemon.text()}")
        try:
            async with ControlClient(parse_listen(f"unix:{self.socket}"), TOKEN, timeout_s=5.0) as control:
                return await control.status()
        except DaemonUnreachable:
            return None

    def exchange_positions(self) -> dict[str, float]:
        return lots(self.sim)

    async def on_target(self, daemon: DaemonProcess, eth: float, slack: float) -> dict[str, Any]:
        """The daemon's status once its hedge is within `slack` ETH of the target (beta 1: a contract short per
        ETH held) and the exchange's, with nothing working."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GUARD_S
        status: dict[str, Any] | None = None
        while loop.time() < deadline:
            status = await self.status(daemon)
            self.last_status = status or self.last_status
            if status is not None and self.done(status, eth, slack):
                return status
            await asyncio.sleep(0.05)  # a short pause between probes of a condition, not a synchronisation
        raise AssertionError(f"run {self.runs}: no hedge of {eth} ETH after {GUARD_S:g}s; last status {status}")

    def done(self, status: Mapping[str, Any], eth: float, slack: float) -> bool:
        positions = lots_of(status["positions"])
        idle = not status["working_parents"] and status["open_orders"] == 0 and not status["rolls"]
        elsewhere = [
            qty for symbol, qty in positions.items() if symbol.startswith(ETH_PERP) and symbol != self.contract
        ]
        # the holding is valued at ETH's spot index and the hedge sized at the contract's price: the target is a
        # contract short per ETH held, give or take the basis between them at the decision
        targets = [t["qty"] for symbol, t in status["targets"].items() if symbol.startswith(ETH_PERP)]
        target = sum(targets) if targets else -eth  # no decision since the restart: what it holds is its target
        near_holding = abs(target + eth) <= BASIS * eth + slack + 1e-9
        on_target = abs(positions.get(self.contract, 0.0) - target) <= slack + 1e-9
        return idle and near_holding and on_target and not elsewhere and positions == self.exchange_positions()

    def hedged_eth(self) -> float:
        """ETH the exchange's positions hedge now (beta 1)."""
        return -sum(qty for symbol, qty in self.exchange_positions().items() if symbol.startswith(ETH_PERP))

    async def run_until_killed(self, point: KillPoint, eth: float) -> str:
        """Start a daemon, kill it at `point` (or, if its run never gets there, once it is on target)."""
        daemon = self.start(eth)
        armed = arm(self.sim, point, daemon)
        fired = asyncio.create_task(armed.fired.wait())
        # a run may finish its work inside the rebalance band of its target: it then trades no more
        finished = asyncio.create_task(self.on_target(daemon, eth, self.band * eth + MIN_CLIP))
        try:
            await asyncio.wait({fired, finished}, timeout=GUARD_S, return_when=asyncio.FIRST_COMPLETED)
            if finished.done() and not fired.done():
                finished.result()
                disarm(self.sim)
                daemon.kill()
                label = AT_REST
            else:
                assert fired.done(), (
                    f"run {self.runs}: neither killed at {point} nor on target after {GUARD_S:g}s;"
                    f" last status {self.last_status}; exchange {self.exchange_positions()}"
                )
                label = point.label
        finally:
            fired.cancel()
            finished.cancel()
            disarm(self.sim)
        code = await asyncio.wait_for(daemon.exited(), GUARD_S)
        assert code == -9, f"run {self.runs} ended with {code}, not by the kill:\n{daemon.text()}"
        self.kills.append(label)
        return label

    async def finish(self, eth: float | None = None) -> dict[str, Any]:
        """A last run, never killed: it reconciles, works a parent to its target (5 ETH away from what is hedged,
        unless told), ends within one minimum clip of it, and stops on SIGTERM."""
        if eth is None:
            hedged = self.hedged_eth()
            eth = hedged + 5.0 if hedged < 10.0 else hedged - 5.0
        daemon = self.start(eth)
        status = await self.on_target(daemon, eth, MIN_CLIP)
        daemon.terminate()
        code = await asyncio.wait_for(daemon.exited(), GUARD_S)
        assert code == 0, daemon.text()
        return status


PointMaker = Callable[[random.Random], KillPoint]

MARKET_POINTS: tuple[PointMaker, ...] = (
    lambda rng: order_point("order journaled, never reached the exchange", Phase.BEFORE, rng.randint(1, 3)),
    lambda rng: order_point("order executed, not acknowledged", Phase.AFTER, rng.randint(1, 3)),
    lambda rng: order_point(
        "fill answered, being handled", Phase.AFTER, rng.randint(1, 3), delay_s=rng.uniform(0.001, 0.05)
    ),
    lambda rng: KillPoint("start-up, reconciliation or account request", rng.choice(list(Phase)), rng.randint(1, 14)),
)


RESTING_POINTS: tuple[PointMaker, ...] = (
    *MARKET_POINTS,
    lambda rng: order_point("cancel journaled, never reached the exchange", Phase.BEFORE, 1, cancel=True),
    lambda rng: order_point("cancel executed, not acknowledged", Phase.AFTER, rng.randint(1, 2), cancel=True),
)


def holdings(count: int, rng: random.Random) -> list[float]:
    """ETH holdings run after run: each differs from the last by 4 to 9 ETH (3 to 6 clips of 3,000 USDT)."""
    values, eth = [], 10.0
    for _ in range(count):
        step = rng.uniform(4.0, 9.0)
        eth = eth - step if eth - step >= 2.0 else eth + step
        values.append(round(eth, 3))
    return values


@contextlib.asynccontextmanager
async def chain_on_exchange(tmp_path: Path, seed: int, **settings: Any) -> AsyncIterator[Chain]:
    processes = DaemonProcesses()
    try:
        async with exchange_in_real_time(live_minutes=30, seed=seed, calm=0.2) as sim:
            yield Chain(sim, tmp_path, processes, **settings)
    finally:
        processes.kill_all()


async def campaign(tmp_path: Path, seed: int, kills: int, points: tuple[PointMaker, ...], **execution: Any) -> Chain:
    """Runs killed at random points, each with a new holding, then a last run that finishes its parent."""
    rng = random.Random(seed)
    state = tmp_path / f"chain-{seed}"
    state.mkdir()
    async with chain_on_exchange(state, seed, execution=execution) as chain:
        for eth in holdings(kills, rng):
            await chain.run_until_killed(rng.choice(points)(rng), eth)
        await chain.finish()
        check_nothing_lost_nothing_doubled(chain)
    return chain


async def campaigns(
    tmp_path: Path, seeds: tuple[int, ...], kills: int, points: tuple[PointMaker, ...], **execution: Any
) -> list[str]:
    """Independent campaigns side by side (each its own exchange and journal): the kill points of all of them."""
    chains = await asyncio.gather(*(campaign(tmp_path, seed, kills, points, **execution) for seed in seeds))
    return [label for chain in chains for label in chain.kills]


def check_nothing_lost_nothing_doubled(chain: Chain) -> None:
    sim = chain.sim
    sent = sim.sent_client_order_ids()
    trades = {(str(t.contract.symbol), str(t.trade_id)) for t in sim.exchange.trades()}
    journal = Journal(chain.state / "journal.sqlite")
    try:
        fills = [(row["symbol"], row["trade_id"]) for row in journal.rows("fills")]
        adoptions = journal.rows("position_adoptions")
        journaled = {row["client_id"] for row in journal.rows("orders")}
        open_orders = journal.open_orders()
        positions = lots_of(journal.positions())
    finally:
        journal.close()
    assert len(sent) == len(set(sent)), "a client order id was sent twice"
    assert {o.client_id for o in sim.exchange.orders()} <= journaled, "the exchange has an order the journal lacks"
    assert sorted(fills) == sorted(trades), "the journal's fills are not the exchange's, each once"
    assert adoptions == [], "a position had to be adopted: a fill was lost"
    assert open_orders == []
    assert positions == chain.exchange_positions()


async def test_killed_at_random_points_of_market_clips_the_daemon_never_doubles_or_loses_an_order(
    tmp_path: Path,
) -> None:
    kills = await campaigns(tmp_path, seeds=(11, 12), kills=13, points=MARKET_POINTS)
    print(Counter(kills))
    assert len([k for k in kills if k != AT_REST]) >= 20  # most runs were killed in the middle of their work


async def test_killed_around_the_cancels_of_resting_clips_the_daemon_never_doubles_or_loses_an_order(
    tmp_path: Path,
) -> None:
    resting = {"order_type": "limit", "post_only": True, "limit_offset_bps": 1.0, "escalate_after": "1s"}
    kills = await campaigns(tmp_path, seeds=(17, 18), kills=8, points=RESTING_POINTS, **resting)
    print(Counter(kills))
    assert len([k for k in kills if k != AT_REST]) >= 12
    assert any(k.startswith("cancel") for k in kills)


ROLL_POINTS: tuple[PointMaker, ...] = (
    lambda rng: order_point("roll order journaled, never reached the exchange", Phase.BEFORE, rng.randint(1, 4)),
    lambda rng: order_point("roll order executed, not acknowledged", Phase.AFTER, rng.randint(1, 4)),
    lambda rng: order_point(
        "roll fill answered, being handled", Phase.AFTER, rng.randint(1, 4), delay_s=rng.uniform(0.001, 0.05)
    ),
)


async def test_killed_again_and_again_during_a_roll_the_daemon_finishes_it_without_a_doubled_order(
    tmp_path: Path,
) -> None:
    rng = random.Random(23)
    now = WallClock().now_ms()
    front, following = quarterly_expiries_after(now, 2)
    days_left = (front - now) / MS_PER_DAY
    near, far = dated_symbol(ETH_PERP, front), dated_symbol(ETH_PERP, following)
    quarterly = Symbol(f"{ETH_PERP}@quarterly")
    closed = {"roll_window_days": days_left / 2, "roll_steps": 1}  # the front contract's window is not open
    settings = {"execution": closed, "hedge": quarterly, "contract": near, "band": 0.1}
    async with chain_on_exchange(tmp_path, seed=23, **settings) as chain:
        before = await chain.finish(10.0)
        chain.execution = {"roll_window_days": days_left + 1, "roll_steps": 1}  # open now: the roll starts at once
        chain.contract = far
        for _ in range(12):
            await chain.run_until_killed(rng.choice(ROLL_POINTS)(rng), 10.0)
        after = await chain.finish(10.0)
        check_nothing_lost_nothing_doubled(chain)
        journal = Journal(chain.state / "journal.sqlite")
        try:
            rolls = [(kind, leg, record) for _, kind, leg, record in journal.executions("roll_")]
        finally:
            journal.close()

    print(Counter(chain.kills))
    assert lots_of(before["positions"]) == pytest.approx({near: -10.0}, abs=MIN_CLIP)
    assert lots_of(after["positions"]) == pytest.approx({far: -10.0}, abs=MIN_CLIP)  # near flat, hedge in the next
    assert [kind for kind, _, _ in rolls if kind != "roll_pair"] == ["roll_started", "roll_finished"]
    assert (rolls[-1][2]["near"], rolls[-1][2]["far"]) == (near, far)
    assert len([k for k in chain.kills if k != AT_REST]) >= 8
