"""Live mode under exchange faults: the daemon trades through the real ccxt client against the loopback exchange
(bot/exchange_sim) while the exchange drops its websockets, goes silent, times out, rate-limits and refuses margin.

Market time is the test's: a manual clock is the daemon's and the venue's "now", and the prices the test pushes
to the exchange carry it, so sampling steps, clip intervals and staleness limits pass when the test says so,
never by waiting for the wall clock. Conditions are awaited by polling the daemon's status with a deadline.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from aiohttp import web

from bot.commands import SetHolding
from bot.config import Config, parse_config
from bot.daemon import Daemon
from bot.domain import MS_PER_MINUTE, ClientOrderId, MarketEvent, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import ORDER_PATH
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.exchange_sim.testkit import T0, priced, running_sim
from bot.runs import Session
from bot.store.journal import Journal, JournaledOrder
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue
from bot.wiring import LivePlan, LiveTuning, live_daemon, open_live_plan

pytestmark = pytest.mark.asyncio

BTC_PERP, ETH_PERP, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("ETH/USDT")
START = T0  # market time when trading starts: the exchange's history ends here
GUARD_S = 20.0  # the most any condition may take before the test fails; never a synchronisation delay
NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}
FAST = LiveTuning(ccxt_overrides=NO_THROTTLE, backoff=Backoff(initial_s=0.01, cap_s=0.05), stall_timeout_s=None)
T = TypeVar("T")


class ManualClock:
    """The daemon's and the venue's now: market time, moved by the test."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def observe(self, event_ts: int) -> None:
        """Market time moves when the test says, not with the events."""


def history(minutes: int, seed: int = 3) -> list[MarketEvent]:
    """A random walk of BTC and ETH (spot index and perpetual alike), one price a minute, ending at START."""
    rng = random.Random(seed)
    btc, eth, events = 30_000.0, 2_000.0, []
    for ts in range(START - minutes * MS_PER_MINUTE, START + 1, MS_PER_MINUTE):
        btc, eth = round(btc * (1 + rng.gauss(0, 0.002)), 1), round(eth * (1 + rng.gauss(0, 0.003)), 2)
        events.extend(priced(ts, btc, eth))
    return events


def config_for(sim: ExchangeSim, state_dir: Path, **sections: Mapping[str, Any]) -> Config:
    """Live on the loopback exchange: 10 ETH held, hedged by beta on the ETH perpetual in one clip."""
    data: dict[str, Any] = {
        "bot": {"mode": "live", "state_dir": str(state_dir)},
        "market": {"source": "exchange"},
        "portfolio": {"holdings": {"ETH": 10.0}},
        "hedge": {
            "instruments": [BTC_PERP, ETH_PERP],
            "policy": "beta",
            "proxy": ETH_PERP,
            "window": "1h",
            "sample": "1m",
            "min_samples": 10,
            "rebalance_band": 0.05,
        },
        "risk": {"max_order_notional": 40_000.0, "max_price_age": "2m"},
        "execution": {"clip_notional": 40_000.0, "clip_interval": "30s", "on_shutdown": "leave"},
        "venue": {"endpoint": sim.base_url},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return parse_config(data)


async def until(probe: Callable[[], T | None], what: str) -> T:
    """The first truthy answer of `probe`, asked every 10 ms for at most GUARD_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not (answer := probe()):
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {GUARD_S:g}s waiting for {what}: {probe()!r}")
        await asyncio.sleep(0.01)  # a short pause between probes of a condition, not a synchronisation
    return answer


@dataclass
class Live:
    daemon: Daemon
    plan: LivePlan
    sim: ExchangeSim
    clock: ManualClock
    journal: Journal

    @property
    def venue(self) -> CcxtVenue:
        assert isinstance(self.plan.venue, CcxtVenue)
        return self.plan.venue

    def status(self) -> dict[str, Any]:
        return self.daemon.status()

    def sim_positions(self) -> dict[str, float]:
        return {p.symbol: round(p.qty, 3) for p in self.sim.exchange.account.positions()}

    def positions(self) -> dict[str, float]:
        return {s: round(q, 3) for s, q in self.status()["positions"].items()}

    async def at(self, minutes: float, eth: float, btc: float = 30_000.0, *, delivered: bool = True) -> None:
        """Prices at START + minutes reach the exchange (and, unless its streams are silent, the daemon); then the
        clock moves there and the daemon's timer ticks."""
        ts = START + int(minutes * MS_PER_MINUTE)
        for event in priced(ts, btc, eth):
            self.sim.push(event)
        if delivered:
            wanted = {ETH_PERP: eth, ETH: eth, BTC_PERP: btc}
            await until(
                lambda: all(self.status()["prices"].get(s) == p for s, p in wanted.items()),
                f"prices at {ts}",
            )
        self.clock.now = ts
        await self.daemon.tick()

    async def hedged(self, what: str) -> dict[str, float]:
        """Once the engine's positions are the exchange's, with no order open."""

        def done() -> dict[str, float] | None:
            positions, idle = self.positions(), self.status()["open_orders"] == 0
            return positions if idle and positions and positions == self.sim_positions() else None

        return await until(done, what)


@asynccontextmanager
async def trading(sim: ExchangeSim, config: Config, tmp_path: Path, tuning: LiveTuning = FAST) -> AsyncIterator[Live]:
    """A live session as `hedgebot run` wires it (venue, streams, warm-up, timer, venue events, ops)."""
    clock = ManualClock(START)
    journal = Journal(tmp_path / "journal.sqlite")
    plan = await open_live_plan(config, clock=clock, tuning=tuning)
    daemon = live_daemon(config, plan, journal)
    session = Session(daemon, plan.feed, realtime=True, warmup=plan.warmup)
    task = asyncio.create_task(session.run())
    ready = asyncio.create_task(session.ready.wait())
    try:
        await asyncio.wait({task, ready}, timeout=GUARD_S, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # it failed to start: show why
        assert session.ready.is_set(), "the session did not start in time"
        yield Live(daemon, plan, sim, clock, journal)
    finally:
        ready.cancel()
        session.stop()
        try:
            await asyncio.wait_for(task, GUARD_S)
        finally:
            await plan.close()
            journal.close()


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", DEFAULT_API_SECRET)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange, having played 70 minutes of prices up to START (replaces the shared fixture)."""
    async with running_sim(events=history(70)) as simulator:
        yield simulator


def created(sim: ExchangeSim) -> list[str]:
    """Client ids of the orders the exchange holds (accepted), in order."""
    return [order.client_id for order in sim.exchange.orders()]


# ---- the faults --------------------------------------------------------------------------------------------


async def test_dropped_websockets_reconnect_resync_and_the_hedge_follows_a_change_afterwards(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        first = await live.hedged("the first hedge")
        feed, venue = live.plan.feed, live.venue
        resyncs_before = feed.resyncs

        assert await sim.faults.drop_websockets() >= 2  # market streams and the user stream
        await until(lambda: feed.reconnects >= 1 and feed.resyncs > resyncs_before, "the market streams to resync")
        await asyncio.wait_for(sim.hub.wait_subscribed("ethusdt@markPrice@1s"), GUARD_S)  # on the new connection
        await asyncio.wait_for(venue.wait_user_stream_live(), GUARD_S)
        await live.at(2, eth=2_020.0)  # prices pushed after the drop arrive on the new connections
        await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
        await live.daemon.tick()
        after = await live.hedged("the hedge of 15 ETH, filled on the new user stream")

    assert first[ETH_PERP] < 0
    assert after[ETH_PERP] < first[ETH_PERP]
    assert sum(stats.reconnects for stats in venue.stats.values()) >= 1  # the user stream came back too
    assert venue.stats["my_trades"].updates >= 1  # fills came on the stream
    assert len(set(sim.sent_client_order_ids())) == len(sim.sent_client_order_ids()) == 2


async def test_silence_past_the_staleness_limit_stops_new_orders_until_prices_return(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        await live.hedged("the first hedge")
        sent = sim.sent_client_order_ids()

        sim.faults.silence(market=True, user=False)
        await live.at(2, eth=2_050.0, delivered=False)  # the exchange moves on, the streams say nothing
        await live.at(3.5, eth=2_050.0, delivered=False)  # 2.5 minutes after the last price: past max_price_age
        stale = live.status()
        await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
        await live.daemon.tick()
        held = live.status()
        assert sim.sent_client_order_ids() == sent  # nothing sent on prices it cannot trust

        sim.faults.speak()
        await live.at(5, eth=2_060.0)  # prices flow again, and a sampling step passes
        resumed = await live.hedged("the hedge of 15 ETH")

    assert (stale["state"], held["state"]) == ("reducing", "reducing")
    assert stale["state_reason"].startswith("stale:")
    assert ETH_PERP in stale["state_reason"]
    assert live.status()["state"] == "active"
    assert resumed[ETH_PERP] == pytest.approx(-15.0, abs=0.01)
    assert len(sim.sent_client_order_ids()) == len(sent) + 1


async def test_a_create_whose_answer_times_out_is_resolved_by_client_id_and_never_sent_twice(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    impatient = LiveTuning(ccxt_overrides={**NO_THROTTLE, "timeout": 1_000}, backoff=FAST.backoff, stall_timeout_s=None)
    sim.faults.timeout_after_accept()  # the exchange takes the first order and never answers
    async with trading(sim, config_for(sim, tmp_path), tmp_path, impatient) as live:
        await live.at(1, eth=2_010.0)
        positions = await live.hedged("the hedge, learnt by asking for the order")
        [client_id] = sim.sent_client_order_ids()
        journaled = live.journal.order(ClientOrderId(client_id))

    assert created(sim) == [client_id]
    assert journaled is not None
    assert journaled.status == "filled"
    assert positions[ETH_PERP] < 0


async def test_a_rate_limited_create_waits_as_asked_and_the_order_is_placed_once(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.faults.rate_limit(method="POST", path=ORDER_PATH)  # 429 with Retry-After: 1
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        positions = await live.hedged("the hedge after the rate limit")
        [client_id] = created(sim)
        journaled = live.journal.order(ClientOrderId(client_id))

    assert sim.sent_client_order_ids() == [client_id, client_id]  # refused unprocessed, then accepted
    assert journaled is not None
    assert journaled.status == "filled"
    assert positions[ETH_PERP] < 0


async def test_a_ban_longer_than_the_daemon_waits_rejects_the_clip_without_sending_it_again(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.faults.rate_limit(ban=True, method="POST", path=ORDER_PATH)  # 418 with Retry-After: 60
    async with trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        [client_id] = await until(sim.sent_client_order_ids, "the order to be sent")
        journaled = await until(lambda: rejected(live.journal, client_id), "the rejection journaled")
        status = live.status()

    assert journaled.filled_qty == 0
    assert sim.sent_client_order_ids() == [client_id]  # a long ban is not waited out under the daemon's lock
    assert created(sim) == []
    assert status["positions"] == {}


def rejected(journal: Journal, client_id: str) -> JournaledOrder | None:
    order = journal.order(ClientOrderId(client_id))
    return order if order is not None and order.status == "rejected" else None


@dataclass
class AlertInbox:
    """A local webhook that receives the daemon's alerts."""

    texts: list[str] = field(default_factory=list)
    url: str = ""

    async def receive(self, request: web.Request) -> web.Response:
        self.texts.append(str((await request.json())["text"]))
        return web.json_response({"ok": True})


@asynccontextmanager
async def alert_inbox() -> AsyncIterator[AlertInbox]:
    inbox = AlertInbox()
    app = web.Application()
    app.router.add_post("/hook", inbox.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    inbox.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield inbox
    finally:
        await runner.cleanup()


async def test_margin_insufficient_stops_the_clip_and_alerts_the_operator(sim: ExchangeSim, tmp_path: Path) -> None:
    sim.faults.margin_insufficient()  # -2019 on the first order
    async with alert_inbox() as inbox:
        alerts = {"enabled": True, "webhook_url": inbox.url, "min_interval": "0s"}
        async with trading(sim, config_for(sim, tmp_path, alerts=alerts), tmp_path) as live:
            await live.at(1, eth=2_010.0)
            [text] = await until(lambda: [t for t in inbox.texts if "rejected" in t], "the rejection alert")
            [client_id] = sim.sent_client_order_ids()
            status = live.status()
            journaled = live.journal.order(ClientOrderId(client_id))

    assert "Margin is insufficient" in text
    assert client_id in text
    assert created(sim) == []
    assert status["positions"] == {}
    assert status["working_parents"] == []
    assert status["open_orders"] == 0
    assert journaled is not None
    assert journaled.status == "rejected"
