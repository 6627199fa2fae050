"""Realtime and live, an instant is decided on the event that completes it, not when the next one begins (issue 18)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from bot.config import Config, parse_config
from bot.domain import MS_PER_MINUTE, MarketEvent
from bot.exchange_sim.server import ExchangeSim
from bot.live.assembly import paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.session import Session
from bot.store.journal import Journal
from bot.testing.live import BTC_PERP, ETH, Live, config_for, exchange_with_history, trading, until
from bot.testing.live import START as LIVE_START
from bot.testing.loopback import priced

START = 1_704_067_200_000


def small_config(tmp_path: Path) -> Config:
    return parse_config(
        {"bot": {"state_dir": str(tmp_path), "span": "2d"}, "hedge": {"window": "1d", "min_samples": 12}}
    )


async def watched(
    daemon: Daemon, events: Iterable[MarketEvent], seen: list[tuple[int, int]]
) -> AsyncIterator[MarketEvent]:
    """The feed, noting at each instant's first event (instant before it, the engine's time then): the feed only
    hands over the next event once the daemon has done everything with the last one."""
    last: int | None = None
    for event in events:
        if last is not None and event.ts > last and daemon.engine is not None:
            seen.append((last, daemon.engine.now))
        last = event.ts
        yield event


def run(tmp_path: Path, *, close_instants: bool) -> tuple[list[tuple[int, int]], Daemon]:
    config = small_config(tmp_path)
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    daemon.close_instants = close_instants
    seen: list[tuple[int, int]] = []
    asyncio.run(daemon.run(watched(daemon, plan.events, seen)))
    journal.close()
    return seen, daemon


def test_with_instants_closed_on_their_last_event_each_is_decided_before_the_next_one_begins(tmp_path: Path) -> None:
    seen, daemon = run(tmp_path, close_instants=True)
    assert len(seen) > 1_000
    assert all(engine_now == instant for instant, engine_now in seen)
    assert daemon.running_engine().stats.decisions > 0


def test_in_event_time_an_instant_is_decided_when_the_next_one_begins(tmp_path: Path) -> None:
    seen, _ = run(tmp_path, close_instants=False)
    assert all(engine_now < instant for instant, engine_now in seen[1:])


def test_closing_instants_on_their_last_event_changes_no_decision(tmp_path: Path) -> None:
    """Fills may differ: an order now reaches the venue before the instant's funding print, as it would live."""
    _, closed = run(tmp_path / "closed", close_instants=True)
    _, event_time = run(tmp_path / "event_time", close_instants=False)
    decisions = [Journal(tmp_path / name / "journal.sqlite").rows("decisions") for name in ("closed", "event_time")]
    assert decisions[0] == decisions[1]
    assert len(decisions[0]) == closed.running_engine().stats.decisions == event_time.running_engine().stats.decisions


def test_a_realtime_session_closes_instants_and_a_fast_one_does_not(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    Session(daemon, plan.events, realtime=False)
    assert not daemon.close_instants
    Session(daemon, plan.events, realtime=True)
    assert daemon.close_instants
    journal.close()


# ---- live, on the loopback exchange: the wall-clock timer and the step's prints ------------------------------

STEP = MS_PER_MINUTE  # the loopback hedge samples every minute


def rebalancing_config(sim: ExchangeSim, state: Path) -> Config:
    """10 ETH hedged by a fixed ratio on the BTC perpetual, band 1 %: ETH from 2,010 to 2,040 (+1.5 %) with BTC
    still moves the target out of the band, so the step that sees 2,040 decides, and one that does not, does not."""
    return config_for(
        sim,
        state,
        hedge={"policy": "fixed", "proxy": BTC_PERP, "ratio": 1.0, "rebalance_band": 0.01, "step_deadline": "3s"},
        risk={"max_funding_age": "48h", "max_price_age": "5m"},
    )


def decided_at(live: Live, ts: int) -> bool:
    decision = live.daemon.running_engine().last_decision
    return decision is not None and decision.ts >= ts


@pytest.mark.asyncio
async def test_a_timer_tick_before_a_steps_prints_leaves_the_step_to_be_decided_on_them(tmp_path: Path) -> None:
    """The race of issue 18: the wall clock passes the step's start and the timer fires before the step's prints
    arrive. Worked then, the step was sampled on the old prices and not decided again: no rebalance this step."""
    async with exchange_with_history() as sim, trading(sim, rebalancing_config(sim, tmp_path), tmp_path) as live:
        await live.hedged("the first hedge")
        step = LIVE_START + STEP
        live.clock.now = step + 1  # the wall clock just past the step's start ...
        await live.daemon.tick()  # ... and the timer fires, the step's prints still at the exchange
        assert not decided_at(live, step)
        await live.at(1, eth=2_040.0)  # they arrive: the instant is complete
        assert decided_at(live, step)
        assert live.daemon.running_engine().prices[ETH] == 2_040.0


@pytest.mark.asyncio
async def test_a_step_whose_prints_never_arrive_is_decided_at_its_deadline(tmp_path: Path) -> None:
    """BTC falls 1.7 % (out of the band) on the last prints of a step, then the market streams fall silent: the
    next step's prints never arrive. The timer holds that step until `hedge.step_deadline` after its start, then
    decides it on the prices it has, not a step later. (The simulator publishes every perpetual's mark, and
    with it the index, on one stream: one feed alone cannot fall silent there, so all do.)"""
    async with exchange_with_history() as sim, trading(sim, rebalancing_config(sim, tmp_path), tmp_path) as live:
        await live.hedged("the first hedge")
        engine = live.daemon.running_engine()
        step = LIVE_START + STEP
        live.clock.now = step - 1
        for event in priced(step - 1, 29_500.0, 2_010.0):
            sim.push(event)
        await until(lambda: engine.now == step - 1, "the old step's last instant worked")
        assert not decided_at(live, step - 1)  # its step was sampled at its start: decided at the next one
        sim.faults.silence(user=False)
        live.clock.now = step + 2_999
        await live.daemon.tick()
        assert not decided_at(live, step)
        live.clock.now = step + 3_000
        await live.daemon.tick()
        assert decided_at(live, step)
        assert engine.last_decision is not None
        assert engine.last_decision.ts < step + STEP  # this step's decision, not the next one's
