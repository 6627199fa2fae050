"""A live session in-process, for tests: the daemon trades through the real ccxt client against the loopback
exchange (bot/exchange_sim), wired as `hedgebot run` wires it (venue, streams, warm-up, timer, ops).

Market time is the test's: a `ManualClock` is the daemon's and the venue's "now", and the prices a test pushes
to the exchange carry it (`Live.at`), so sampling steps, clip intervals and staleness limits pass when the test
says so, never by waiting for the wall clock. Conditions are awaited with `until()`, which polls with a deadline.

    async with exchange_with_history() as sim, trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        # started, user stream live, and its first instant (START) done: the hedge of 10 ETH at 2,010 is sent
        await live.hedged("the first hedge")       # the engine's positions are the exchange's, nothing open
        await live.at(1, eth=2_020.0)              # a minute after START: prices reach the daemon, it ticks

Shipped with the package (like `bot.testing.loopback`) so every suite that runs a live session against the
loopback exchange runs it the same way.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.config import Config, parse_config
from bot.domain import MS_PER_MINUTE, ClientOrderId, MarketEvent
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.live.daemon import Daemon
from bot.live.exchange_plan import LivePlan, LiveTuning, live_daemon, open_live_plan
from bot.live.session import Session
from bot.store.journal import Journal, JournaledOrder
from bot.testing.loopback import BTC_PERP, ETH, ETH_PERP, LOOPBACK_HEDGE, T0, priced, running_sim
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.venue_set import VenueSet

__all__ = [
    "BTC_PERP",
    "ETH",
    "ETH_PERP",
    "FAST",
    "GUARD_S",
    "NO_THROTTLE",
    "START",
    "AlertInbox",
    "Ledger",
    "Live",
    "ManualClock",
    "alert_inbox",
    "config_for",
    "created",
    "exchange_with_history",
    "history",
    "ledger",
    "rejected",
    "serving",
    "trading",
    "until",
]

START = T0  # market time when trading starts: the exchange's history ends here
GUARD_S = 20.0  # the most any condition may take before the test fails; never a synchronisation delay
NO_THROTTLE: Mapping[str, Any] = {"enableRateLimit": False, "timeout_on_exit": 0}  # loopback: no pacing
FAST = LiveTuning(ccxt_overrides=NO_THROTTLE, backoff=Backoff(initial_s=0.01, cap_s=0.05), stall_timeout_s=None)
_KEY_ENV = "HEDGEBOT_LIVE_TESTKIT_API_KEY"  # names no test sets: the keys come from the 0600 files config_for writes
_SECRET_ENV = "HEDGEBOT_LIVE_TESTKIT_API_SECRET"  # noqa: S105 -- the name of a variable, not a secret
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
    """A random walk of BTC and ETH (spot index and perpetual alike), one price a minute, ending at START with
    BTC at 30,000 and ETH at 2,010: the prices the session starts trading at."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible price path, not cryptography
    btc, eth, events = 30_000.0, 2_000.0, []
    for ts in range(START - minutes * MS_PER_MINUTE, START, MS_PER_MINUTE):
        btc, eth = round(btc * (1 + rng.gauss(0, 0.002)), 1), round(eth * (1 + rng.gauss(0, 0.003)), 2)
        events.extend(priced(ts, btc, eth))
    return [*events, *priced(START, 30_000.0, 2_010.0)]


def exchange_with_history(
    minutes: int = 70, settings: SimSettings | None = None
) -> AbstractAsyncContextManager[ExchangeSim]:
    """The loopback exchange, having played `minutes` of prices up to START (enough to warm the estimators)."""
    return running_sim(settings, events=history(minutes))


def _key_file(state_dir: Path, name: str, value: str) -> Path:
    path = state_dir / name
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return path


def config_for(sim: ExchangeSim, state_dir: Path, **sections: Mapping[str, Any]) -> Config:
    """Live on the loopback exchange: 10 ETH held, hedged by beta on the ETH perpetual in one clip; `sections`
    override keys section by section. The simulator's keys are written to 0600 files in `state_dir`."""
    data: dict[str, Any] = {
        "bot": {"mode": "live", "state_dir": str(state_dir)},
        "market": {"source": "exchange"},
        "portfolio": {"holdings": {"ETH": 10.0}},
        "hedge": {**LOOPBACK_HEDGE, "rebalance_band": 0.05},
        "risk": {"max_order_notional": 40_000.0, "max_price_age": "2m"},
        "execution": {"clip_notional": 40_000.0, "clip_interval": "30s", "on_shutdown": "leave"},
        "venue": {
            "endpoint": sim.base_url,
            "api_key_env": _KEY_ENV,
            "api_secret_env": _SECRET_ENV,
            "api_key_file": str(_key_file(state_dir, "api-key", DEFAULT_API_KEY)),
            "api_secret_file": str(_key_file(state_dir, "api-secret", DEFAULT_API_SECRET)),
        },
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
    """A running live session: the daemon, what it was wired to, the exchange and the test's clock."""

    daemon: Daemon
    plan: LivePlan
    sim: ExchangeSim
    clock: ManualClock
    journal: Journal
    session: Session

    @property
    def venue(self) -> CcxtVenue:
        assert isinstance(self.plan.venue, CcxtVenue)
        return self.plan.venue

    def status(self) -> dict[str, Any]:
        return self.daemon.status()

    def streaming(self) -> bool:
        """The streams have delivered START's marks and funding, and the user stream is live: no fill can go
        unheard from here, and market time moved by the test never finds it still connecting."""
        engine = self.daemon.engine
        assert engine is not None
        fed = all(engine.price_ts.get(s, 0) >= START for s in (BTC_PERP, ETH_PERP, ETH))
        funded = all(s in engine.funding for s in (BTC_PERP, ETH_PERP))
        return fed and funded and self.user_streams_live()

    def user_streams_live(self) -> bool:
        """Every venue's user stream is live (`[venues]`: each member's)."""
        venue = self.plan.venue
        members = list(venue.members.values()) if isinstance(venue, VenueSet) else [venue]
        return all(isinstance(m, CcxtVenue) and m.user_stream_down() is None for m in members)

    def settled(self) -> bool:
        """Started as far as it can: streaming, or trading held halted (the exchange was down at start)."""
        return self.streaming() or self.status()["state"] == "halted"

    def sim_positions(self) -> dict[str, float]:
        return {p.symbol: round(p.qty, 3) for p in self.sim.exchange.account.positions()}

    def positions(self) -> dict[str, float]:
        return {s: round(q, 3) for s, q in self.status()["positions"].items()}

    async def at(
        self, minutes: float, eth: float, btc: float = 30_000.0, *, delivered: bool = True, silent: Iterable[str] = ()
    ) -> None:
        """The clock moves to START + minutes, prices of that time reach the exchange (and, unless its streams are
        silent, the daemon: awaited by value and time, but for the `silent` symbols, whose venue's streams are
        down under `[venues]`), then the daemon's timer ticks. The clock moves first, as
        a wall clock is never behind the exchange's event times: the daemon decides an instant on the print that
        completes it, and what it fetches then (the account) is stamped at that time, not at the last minute's."""
        ts = START + int(minutes * MS_PER_MINUTE)
        self.clock.now = max(self.clock.now, ts)
        for event in priced(ts, btc, eth):
            self.sim.push(event)
        if delivered:
            wanted = {s: p for s, p in {ETH_PERP: eth, ETH: eth, BTC_PERP: btc}.items() if s not in silent}
            engine = self.daemon.engine
            assert engine is not None
            await until(
                lambda: all(engine.prices.get(s) == p and engine.price_ts.get(s, 0) >= ts for s, p in wanted.items()),
                f"prices at {ts}",
            )
        await self.daemon.tick()

    async def hedged(self, what: str) -> dict[str, float]:
        """Once the engine's positions are the exchange's, with no order open."""

        def done() -> dict[str, float] | None:
            positions, idle = self.positions(), self.status()["open_orders"] == 0
            return positions if idle and positions and positions == self.sim_positions() else None

        return await until(done, what)


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the exchange received and did, beside what the daemon made of it."""

    sent: tuple[str, ...]  # client ids of every create the exchange received, repeats included
    created: tuple[str, ...]  # client ids of the orders the exchange took
    exchange_trades: tuple[tuple[str, str], ...]  # (client id, trade id) of every execution, sorted
    journaled_trades: tuple[tuple[str, str], ...]  # the journal's fills, sorted
    fills_applied: int  # fills the daemon applied to its engine
    positions: Mapping[str, float]  # the engine's
    exchange_positions: Mapping[str, float]
    journal_positions: Mapping[str, float]  # journaled fills plus adopted positions

    def problems(self, *, resent: Iterable[str] = ()) -> list[str]:
        """Everything that breaks "no client order id sent twice, every fill applied exactly once, positions
        equal to the exchange's"; `resent`: ids a refusal before processing (429) allowed to be sent again."""
        found = []
        twice = sorted({cid for cid in self.sent if self.sent.count(cid) > 1} - set(resent))
        if twice:
            found.append(f"sent more than once: {twice}")
        if len(set(self.created)) != len(self.created):
            found.append(f"created more than once: {self.created}")
        if self.journaled_trades != self.exchange_trades:
            found.append(f"journaled fills {self.journaled_trades} are not the exchange's {self.exchange_trades}")
        if self.fills_applied != len(self.exchange_trades):
            found.append(f"{self.fills_applied} fills applied for {len(self.exchange_trades)} executions")
        if not self.positions == self.exchange_positions == self.journal_positions:
            found.append(
                f"positions: engine {dict(self.positions)}, exchange {dict(self.exchange_positions)}, "
                f"journal {dict(self.journal_positions)}"
            )
        return found


def ledger(live: Live) -> Ledger:
    """The ledger of a session (see `Ledger.problems`)."""
    exchange = sorted((t.client_id, str(t.trade_id)) for t in live.sim.exchange.trades())
    journaled = sorted((str(row["client_id"]), str(row["trade_id"])) for row in live.journal.rows("fills"))
    journal_positions = {str(s): round(q, 3) for s, q in live.journal.positions().items() if round(q, 3)}
    return Ledger(
        sent=tuple(live.sim.sent_client_order_ids()),
        created=tuple(created(live.sim)),
        exchange_trades=tuple(exchange),
        journaled_trades=tuple(journaled),
        fills_applied=live.daemon.totals.fills,
        positions=live.positions(),
        exchange_positions=live.sim_positions(),
        journal_positions=journal_positions,
    )


@asynccontextmanager
async def trading(sim: ExchangeSim, config: Config, tmp_path: Path, tuning: LiveTuning = FAST) -> AsyncIterator[Live]:
    """A live session as `hedgebot run` wires it (venue, streams, warm-up, timer, venue events, ops), once it has
    started as far as it can (`Live.settled`) and, when streaming, lived its first trading instant, START: a
    hedge the config calls for is decided then, at the history's last prices (BTC 30,000, ETH 2,010)."""
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
        live = Live(daemon, plan, sim, clock, journal, session)
        await until(live.settled, "the streams to be live (or trading held halted at start)")
        if live.streaming():
            await daemon.tick()  # the first trading instant, START, here rather than whenever the timer fires first
        yield live
    finally:
        ready.cancel()
        session.stop()
        try:
            await asyncio.wait_for(task, GUARD_S)
        finally:
            await plan.close()
            journal.close()


def created(sim: ExchangeSim) -> list[str]:
    """Client ids of the orders the exchange holds (accepted), in order."""
    return [order.client_id for order in sim.exchange.orders()]


def rejected(journal: Journal, client_id: str) -> JournaledOrder | None:
    """The journaled order once it is rejected, else None (a probe for `until`)."""
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

    def containing(self, word: str) -> list[str]:
        return [text for text in self.texts if word in text]


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` served on 127.0.0.1 at a free port while the block runs; its base URL ("http://127.0.0.1:PORT")."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def alert_inbox() -> AsyncIterator[AlertInbox]:
    """A webhook on 127.0.0.1 (`inbox.url`) collecting every alert posted to it."""
    inbox = AlertInbox()
    app = web.Application()
    app.router.add_post("/hook", inbox.receive)
    async with serving(app) as base:
        inbox.url = f"{base}/hook"
        yield inbox
