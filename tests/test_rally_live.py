"""The hedge outlives the rally, live: `hedgebot run` in live mode, through the real ccxt client against the
loopback exchange, hedges 10 ETH with a thin futures account while a scripted rally walks the account down every
step of the collateral ladder (warn, top-up by a universal transfer from the spot wallet, reduce, floor); the
exchange's account is never liquidated and the hedge is kept, smaller.

The tape: 70 minutes of calm history, then a price a second in real time: calm until the hedge is built (its
buffer is then just under the warn step; the test starts the rally on seeing it, not after a fixed wait), ETH
rising 0.5 % a second for 50 s (+28 %: the reserve is moved in, then the reduce step cuts); once the cut is
worked, the test reads the buffer it left and asks for one jump that leaves the account 5 % from liquidation
(past the floor step), then flat. A hedge-account loss limit of 5 %
holds `reducing`, so nothing is re-added in between.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.clock import WallClock
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.domain import MS_PER_MINUTE, MarketEvent
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.store.journal import Journal
from bot.testing.loopback import priced
from bot.testing.processes import ETH_PERP, hedgebot_run, hedged_status, lots, stopped, walk, write_config

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

TOKEN = "rally-live-test-token-0123456789abcdef"
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
STEPS = ("warn", "top_up", "reduce", "floor")
RALLY_GUARD_S = 300.0  # the tape plays in real time; never a synchronisation delay
RALLY_STEP, RALLY_SECONDS = 0.005, 50  # ETH +0.5 % a second for 50 s: +28 %, every step of the ladder crossed


class Rally:
    """The live tape, generated as the exchange plays it: flat until `started` is set, then the rally; once
    `jump_to` is set, ETH jumps there (never down) and stays flat: the rally is over."""

    def __init__(self, start_ms: int, seconds: int = 400) -> None:
        self.start_ms, self.seconds = start_ms, seconds
        self.started = False
        self.jump_to: float | None = None
        self.jumped = False

    def __iter__(self) -> Iterator[MarketEvent]:
        eth, rallied = 2_000.0, 0
        for second in range(self.seconds):
            if self.jump_to is not None and not self.jumped:
                eth, self.jumped = max(eth, self.jump_to), True
            elif self.started and rallied < RALLY_SECONDS and not self.jumped:
                eth, rallied = eth * (1.0 + RALLY_STEP), rallied + 1
            yield from priced(self.start_ms + second * 1_000, 30_000.0, round(eth, 2))


@asynccontextmanager
async def rallying_exchange(settings: SimSettings) -> AsyncIterator[ExchangeSim]:
    now = WallClock().now_ms()
    past = walk(now - 70 * MS_PER_MINUTE, now, MS_PER_MINUTE, seed=3, calm=0.05)
    past = [*past[:-4], *priced(now, 30_000.0, 2_000.0)]  # the history ends where the live tape starts
    rally = Rally(now + 1_000)
    sim = ExchangeSim(settings, itertools.chain(past, rally))
    sim.rally = rally  # type: ignore[attr-defined]  # the test's handle on the tape it plays
    await sim.start()
    await sim.advance(len(past))
    player = asyncio.create_task(sim.run_feed())
    try:
        yield sim
    finally:
        player.cancel()
        await sim.stop()


async def until(probe: Callable[[], object], what: str, process: asyncio.subprocess.Process) -> None:
    """Poll `probe` until truthy (the rally takes minutes of real time: a longer guard than GUARD_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RALLY_GUARD_S
    while loop.time() < deadline:
        assert process.returncode is None, f"the daemon exited ({process.returncode}) before {what}"
        answer = probe()
        if asyncio.iscoroutine(answer):
            answer = await answer
        if answer:
            return
        await asyncio.sleep(0.2)  # a pause between probes of a condition, not a synchronisation
    raise AssertionError(f"gave up after {RALLY_GUARD_S:g}s waiting for {what}")


def _steps_seen(log: Path) -> list[str]:
    steps: list[str] = []
    for line in (log.read_text() if log.exists() else "").splitlines():
        record = json.loads(line)
        if record.get("event") == "risk_notice" and record.get("kind") == "collateral":
            steps.append(record["step"])
    return steps


async def test_a_scripted_rally_walks_the_thin_account_down_every_step_and_it_is_never_liquidated(
    tmp_path: Path,
) -> None:
    settings = SimSettings(collateral=8_000.0, spot_reserve=1_000.0, time_multiplier=1.0)
    async with rallying_exchange(settings) as sim:
        config = write_config(
            tmp_path / "live.toml", sim, "live", tmp_path,
            risk={"max_price_age": "30s", "max_hedge_loss": 0.05, "max_hedge_daily_loss": 0.05},
            **{"risk.reserve": {"amount": 1_000.0, "max_transfer": 1_000.0}},
            venue={"endpoint": sim.base_url, "leverage": 20},
        )  # fmt: skip
        async with (
            hedgebot_run(config, KEYS) as process,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):
            log = tmp_path / "hedgebot.log"

            await hedged_status(control, sim, process)  # the hedge built: the rally starts
            sim.rally.started = True

            async def cut_worked() -> bool:
                if "reduce" not in _steps_seen(log):
                    return False
                return not (await control.status())["working_parents"]

            await until(cut_worked, "the reduce step's cut, worked", process)
            buffer = (await control.status())["collateral"]["buffer"]
            eth = sim.exchange.market.mark(sim.exchange.catalog.by_symbol(ETH_PERP))
            # the liquidation price stays where it is (nothing is added: the loss limit holds reducing): the jump
            # leaves the account 5 % from it, past the floor step, however far the rally went on meanwhile
            sim.rally.jump_to = eth * (1.0 + buffer) / 1.05
            await until(lambda: "floor" in _steps_seen(log), "the floor step", process)
            status = await control.status()
            code, _, err = await stopped(process)
        liquidations = sim.exchange.liquidations
        transfers = list(sim.exchange.transfers.history)
        positions = lots(sim)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        cuts = [row for row in journal.rows("decisions") if row["trigger"] == "collateral_reduce"]
    finally:
        journal.close()
    seen = _steps_seen(tmp_path / "hedgebot.log")
    assert code == 0, err
    assert [step for step in STEPS if step in seen] == list(STEPS)
    assert seen.index("warn") < seen.index("top_up") < seen.index("reduce") < seen.index("floor")
    assert [float(t.amount) for t in transfers] == [1_000.0]  # the whole reserve, by one transfer
    assert cuts, "the reduce and floor steps cut the hedge"
    assert liquidations == 0
    assert -10.0 < positions.get(ETH_PERP, 0.0) < 0.0  # the hedge kept, smaller
    assert status["collateral"]["reserve"]["moved"] == 1_000.0
