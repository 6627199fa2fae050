"""The live daemon keeps Binance's dead-man's switch (countdownCancelAll, `[venue] dead_man_countdown`) armed while
its clips rest, so the exchange cancels them by itself when the daemon dies; a clean stop that leaves its orders on
purpose (`[execution] on_shutdown = "leave"`) disarms it.

The loopback exchange's countdowns run on a clock the test moves (`ExchangeSim(countdown_clock=...)`): a minute
passes at the exchange without the test waiting for it, while signed requests keep the wall clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.clock import WallClock
from bot.config import ConfigError, parse_config
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.domain import ClientOrderId
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.records import SimOrder
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.store.journal import Journal
from bot.testing.live import ManualClock, config_for, history, trading, until
from bot.testing.processes import (
    eventually,
    exchange_in_real_time,
    hedgebot_run,
    status_when,
    stopped,
    write_config,
)

TOKEN = "dead-man-test-token-0123456789abcdef"
RESTING = {"order_type": "limit", "post_only": True, "limit_offset_bps": 50.0}  # the hedge's sell rests over the mark
EXCHANGE_NOW = 5_000_000  # the in-process exchange's countdown clock at the start
COUNTDOWN_MS = 60_000  # `[venue] dead_man_countdown`'s default


class SkewedClock:
    """The wall clock, moved on by the test (the exchange's countdowns see a minute pass at once)."""

    def __init__(self) -> None:
        self.skew_ms = 0

    def now_ms(self) -> int:
        return WallClock().now_ms() + self.skew_ms


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange having played 70 minutes up to START, its countdowns on a manual clock."""
    tape = history(70)
    simulator = ExchangeSim(SimSettings(), tape, countdown_clock=ManualClock(EXCHANGE_NOW))
    await simulator.start()
    await simulator.advance(len(tape))
    try:
        yield simulator
    finally:
        await simulator.stop()


def ours_open(sim: ExchangeSim) -> list[SimOrder]:
    return sim.exchange.orders(open_only=True)


@pytest.mark.asyncio
async def test_a_clean_stop_with_on_shutdown_leave_disarms_the_countdown_so_the_clip_outlives_it(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = config_for(sim, tmp_path, execution={**RESTING, "on_shutdown": "leave"})
    async with trading(sim, config, tmp_path) as live:
        [resting] = await until(lambda: ours_open(sim), "the clip resting at the exchange")
        armed_while_resting = sim.countdowns.armed()
        live.session.stop()  # what SIGTERM does

    assert armed_while_resting == {"ETHUSDT": EXCHANGE_NOW + COUNTDOWN_MS}  # armed before the clip was sent
    assert sim.countdowns.armed() == {}  # disarmed by the stop
    assert isinstance(sim.countdown_clock, ManualClock)
    sim.countdown_clock.now += 10 * COUNTDOWN_MS
    assert sim.expire_countdowns() == []
    assert [order.client_id for order in ours_open(sim)] == [resting.client_id]  # left resting, as configured


@pytest.mark.asyncio
async def test_a_daemon_killed_with_a_resting_clip_has_it_cancelled_by_the_exchanges_countdown_and_a_restart_sends_nothing_twice(  # noqa: E501 -- one behavioural sentence
    tmp_path: Path,
) -> None:
    clock = SkewedClock()
    keys = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
    async with exchange_in_real_time(calm=0.02, countdown_clock=clock) as sim:  # calm: the sell stays unreached
        config = write_config(
            tmp_path / "live.toml", sim, "live", tmp_path,
            execution={**RESTING, "clip_notional": 40_000.0, "on_shutdown": "cancel"},
            risk={"max_order_notional": 40_000.0},
        )  # fmt: skip
        async with (
            hedgebot_run(config, keys) as process,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):
            [resting] = await eventually(lambda: ours_open(sim), "the clip resting at the exchange", process)
            await status_when(control, process, lambda s: s["open_orders"] == 1, "the daemon to know it is working")
            armed = sim.countdowns.armed()
            process.kill()  # SIGKILL: no shutdown path runs, nothing is cancelled or disarmed
            await asyncio.wait_for(process.wait(), 20)
        still_resting = [order.client_id for order in ours_open(sim)]
        clock.skew_ms += COUNTDOWN_MS  # a minute passes at the exchange: the countdown runs out
        sim.expire_countdowns()
        [cancelled] = sim.exchange.orders()
        sent_before_restart = sim.sent_client_order_ids()

        async with (
            hedgebot_run(config, keys) as again,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):
            restarted = await status_when(control, again, lambda s: "positions" in s, "the restarted daemon's status")
            code, _, err = await stopped(again)
        sent = sim.sent_client_order_ids()

    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journaled = journal.order(ClientOrderId(resting.client_id))
        [*_, reconciled] = journal.rows("reconciliations")
    finally:
        journal.close()
    assert set(armed) == {"ETHUSDT"}  # armed while the clip rested
    assert still_resting == [resting.client_id]  # the kill itself cancelled nothing
    assert (cancelled.client_id, cancelled.status, cancelled.executed_qty) == (resting.client_id, "CANCELED", 0)
    assert sent_before_restart == [resting.client_id]
    assert code == 0, err
    assert restarted["positions"] == {} or all(qty == 0 for qty in restarted["positions"].values())
    assert journaled is not None
    assert (journaled.status, journaled.filled_qty) == ("cancelled", 0)  # reconciled as the exchange has it
    assert (reconciled["outcome"], json.loads(reconciled["summary"])["adopted"]) == ("ok", 0)
    assert len(sent) == len(set(sent))  # no client order id sent twice
    assert sent[0] == resting.client_id


def test_a_countdown_shorter_than_two_renewals_is_refused_naming_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"dead_man_countdown = '20s' must be at least twice dead_man_renew"):
        parse_config({"venue": {"dead_man_countdown": "20s", "dead_man_renew": "15s"}})
