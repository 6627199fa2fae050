"""The daemon reconciles its journal against the loopback exchange before any order, and halts when it cannot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.clock import EventClock
from bot.config import VenueSection, parse_config
from bot.core.engine import PlaceOrder
from bot.domain import (
    MS_PER_MINUTE,
    ClientOrderId,
    DecisionId,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
)
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import ORDER_PATH
from bot.execution.ids import client_order_id
from bot.execution.venue_errors import UnknownOutcome
from bot.live.daemon import Daemon
from bot.ops.observer import Observer
from bot.risk.state import TradingState
from bot.store.journal import Journal
from bot.testing.loopback import T0
from bot.venues.ccxt_client import make_client, point_at
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings, open_ccxt_venue

pytestmark = pytest.mark.asyncio

PERP, ETH_PERP = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}  # loopback: no client-side pacing or close wait
FAST = Backoff(initial_s=0.005, cap_s=0.05)  # query retries without slowing the tests
RESTART = T0 + 10 * MS_PER_MINUTE  # the daemon comes back ten minutes after the orders were sent
OURS = client_order_id(DecisionId("19b77e9a000-0"), 0, 0)


class RecordingObserver(Observer):
    """The silent observer, but it keeps the alerts an operator would have received."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, str]] = []

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None:
        self.alerts.append((kind, message))


def config(sim: ExchangeSim, **execution: Any) -> Any:
    return parse_config(
        {
            "bot": {"mode": "live"},
            "market": {"source": "exchange"},
            "venue": {"endpoint": sim.base_url},
            "hedge": {"instruments": [PERP, ETH_PERP]},
            "execution": execution,
            # the default basket's altcoins priced by their perpetuals' index, as before [prices] existed
            "prices": {"sources": {"SOL": ["index"], "LINK": ["index"], "DOGE": ["index"]}},
        }
    )


def fast_venue(sim: ExchangeSim, timeout_ms: int = 10_000) -> CcxtVenue:
    """A ccxt venue whose query retries do not wait (the default backoff would make a test sleep seconds)."""
    client = make_client(
        VenueSection(endpoint=sim.base_url),
        api_key=sim.settings.api_key,
        secret=sim.settings.api_secret,
        timeout_ms=timeout_ms,
        overrides=NO_THROTTLE,
    )
    return CcxtVenue(client, [PERP, ETH_PERP], CcxtVenueSettings(backoff=FAST), clock=EventClock(T0))


@asynccontextmanager
async def daemon(
    sim: ExchangeSim, journal: Journal, *, venue: CcxtVenue | None = None, **execution: Any
) -> AsyncIterator[Daemon]:
    """A daemon on the loopback exchange, not yet started; its venue is closed afterwards."""
    settings = config(sim, **execution)
    live = venue or await open_ccxt_venue(settings, overrides=NO_THROTTLE)
    running = Daemon(settings, live, journal, EventClock(RESTART), trading_from_ms=T0)
    running.observer = RecordingObserver()
    try:
        yield running
    finally:
        await live.close()


@pytest.fixture(autouse=True)
def api_keys(sim: ExchangeSim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", sim.settings.api_key)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", sim.settings.api_secret)


def resting_buy(client_id: ClientOrderId, price: float = 29_000.0) -> OrderRequest:
    return OrderRequest(client_id, PERP, Side.BUY, 0.01, OrderType.LIMIT, price, decision_id=DecisionId("d"))


async def sent_before_the_crash(sim: ExchangeSim, journal: Journal, request: OrderRequest) -> None:
    """What the previous process did: journal the intent, mark it sent, send it, and lose the answer."""
    journal.record_intent(request, T0)
    journal.record_order_update(OrderUpdate(T0, request.client_id, request.symbol, OrderStatus.SUBMITTED))
    previous = fast_venue(sim, timeout_ms=300)
    sim.faults.timeout_after_accept()
    try:
        with pytest.raises(UnknownOutcome):
            await previous.create_order(request)
    finally:
        sim.faults.release()
        await previous.close()


def alerts(running: Daemon) -> list[tuple[str, str]]:
    observer = running.observer
    assert isinstance(observer, RecordingObserver)
    return observer.alerts


async def test_an_order_whose_acknowledgement_was_lost_is_adopted_at_restart_and_not_sent_again(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    await sent_before_the_crash(sim, journal, resting_buy(OURS))
    async with daemon(sim, journal) as running:
        engine = await running.start()
        tracked = engine.orders.get(OURS)
        assert tracked is not None
        assert tracked.status is OrderStatus.ACCEPTED
        assert engine.governor.state is TradingState.ACTIVE
        stored = journal.order(OURS)
        assert stored is not None
        assert stored.status is OrderStatus.ACCEPTED
    assert sim.sent_client_order_ids() == [OURS]


async def test_a_fill_made_while_the_daemon_was_down_is_applied_exactly_once(sim: ExchangeSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    await sent_before_the_crash(sim, journal, resting_buy(OURS))
    sim.push(PriceObserved(T0 + 1_000, PERP, 28_900.0))  # the resting buy fills while nobody listens
    for _restart in range(2):
        async with daemon(sim, journal) as running:
            engine = await running.start()
            assert engine.positions == {PERP: pytest.approx(0.01)}
            assert engine.governor.state is TradingState.ACTIVE
    assert [(row["client_id"], row["qty"]) for row in journal.rows("fills")] == [(OURS, 0.01)]
    stored = journal.order(OURS)
    assert stored is not None
    assert (stored.status, stored.filled_qty) == (OrderStatus.FILLED, 0.01)
    assert journal.count("position_adoptions") == 0  # the fill explains the position: nothing to adopt
    assert sim.sent_client_order_ids() == [OURS]


async def test_an_intent_that_never_left_is_abandoned_not_sent(sim: ExchangeSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.record_intent(resting_buy(OURS), T0)  # killed between the journal write and the send
    async with daemon(sim, journal) as running:
        engine = await running.start()
        assert engine.orders.open_orders() == []
    stored = journal.order(OURS)
    assert stored is not None
    assert stored.status is OrderStatus.CANCELLED
    assert sim.sent_client_order_ids() == []


async def test_a_position_opened_outside_the_bot_is_adopted_and_reported(sim: ExchangeSim, tmp_path: Path) -> None:
    sim.exchange.new_order({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.05"})
    journal = Journal(tmp_path / "journal.sqlite")
    async with daemon(sim, journal) as running:
        engine = await running.start()
        assert engine.positions == {PERP: pytest.approx(-0.05)}
        reported = alerts(running)
    [adoption] = journal.rows("position_adoptions")
    assert (adoption["symbol"], adoption["journal_qty"], adoption["venue_qty"]) == (PERP, 0.0, pytest.approx(-0.05))
    assert [kind for kind, _ in reported] == ["reconciliation_differences"]
    assert "position BTC/USDT:USDT: journal 0, venue -0.05" in reported[0][1]
    assert [row["outcome"] for row in journal.rows("reconciliations")] == ["ok"]


async def test_a_fill_made_outside_the_bot_just_before_start_counts_once_though_the_user_stream_replays_it(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.exchange.new_order({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.05"})
    journal = Journal(tmp_path / "journal.sqlite")
    venue = fast_venue(sim)  # its user stream re-syncs the last minute of fills when it connects
    running = Daemon(config(sim), venue, journal, EventClock(T0 + 30_000), trading_from_ms=T0)
    try:
        engine = await running.start()
        await asyncio.wait_for(venue.wait_user_stream_live(), 10.0)
        await running.tick()  # what the re-sync handed over reaches the engine
        positions = dict(engine.positions)
    finally:
        await venue.close()
    assert positions == {PERP: pytest.approx(-0.05)}  # the exchange's, not twice it
    assert len(journal.rows("fills")) == 1
    assert journal.rows("position_adoptions") == []  # the fill explains the position


async def test_an_exchange_down_at_start_halts_with_the_reason_and_recovers_when_it_returns(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    sim.faults.unavailable(times=None, path="/fapi/v1/openOrders")
    async with daemon(sim, journal, venue=fast_venue(sim)) as running:
        governor = (await running.start()).governor
        assert governor.state is TradingState.HALTED
        assert governor.reason.startswith("reconciliation failed, venue unreachable: ")
        assert [kind for kind, _ in alerts(running)] == ["reconciliation_failed"]

        sim.faults.clear()
        await running.reconcile_job()  # not due yet: the retry waits reconcile_retry
        states = [governor.state]
        running.clock.observe(RESTART + 30_000)
        await running.reconcile_job()
        states.append(governor.state)
        assert states == [TradingState.HALTED, TradingState.ACTIVE]
    changes = [(row["from_state"], row["to_state"]) for row in journal.rows("state_changes")]
    assert changes == [("active", "halted"), ("halted", "active")]
    assert [row["outcome"] for row in journal.rows("reconciliations")] == ["failed", "ok"]


@pytest.mark.parametrize(("choice", "still_open"), [("cancel", False), ("leave", True)])
async def test_a_foreign_open_order_is_cancelled_or_left_as_configured(
    sim: ExchangeSim, tmp_path: Path, choice: str, still_open: bool
) -> None:
    manual = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "20000"}
    sim.exchange.new_order({**manual, "timeInForce": "GTC", "newClientOrderId": "web_manual_1"})
    journal = Journal(tmp_path / "journal.sqlite")
    async with daemon(sim, journal, foreign_orders=choice) as running:
        engine = await running.start()
        assert engine.governor.state is TradingState.ACTIVE
        assert engine.orders.open_orders() == []  # never tracked as ours
        reported = alerts(running)
    assert [o.client_id for o in sim.exchange.orders(open_only=True)] == (["web_manual_1"] if still_open else [])
    assert "foreign order web_manual_1" in reported[0][1]


async def test_an_open_order_with_our_id_that_the_journal_lacks_keeps_the_daemon_halted(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    previous = fast_venue(sim)
    await previous.create_order(resting_buy(OURS))  # another hedgebot on the same account, or a lost journal
    await previous.close()
    journal = Journal(tmp_path / "journal.sqlite")
    async with daemon(sim, journal, foreign_orders="cancel") as running:
        engine = await running.start()
        assert engine.governor.state is TradingState.HALTED
        assert engine.governor.reason.startswith("reconciliation refused: ")
        assert "not in the journal" in engine.governor.reason
    assert [o.client_id for o in sim.exchange.orders(open_only=True)] == [OURS]


async def test_reconciliation_runs_again_every_interval_and_reports_what_changed_outside(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    async with daemon(sim, journal, reconcile_interval="5m") as running:
        engine = await running.start()
        sim.exchange.new_order({"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"})
        running.clock.observe(RESTART + 5 * MS_PER_MINUTE - 1)
        await running.reconcile_job()  # not due yet
        before = dict(engine.positions)
        running.clock.observe(RESTART + 5 * MS_PER_MINUTE)
        await running.reconcile_job()
        assert before == {}
        assert engine.positions == {ETH_PERP: pytest.approx(1.0)}
        assert [kind for kind, _ in alerts(running)] == ["reconciliation_differences"]
    assert [row["outcome"] for row in journal.rows("reconciliations")] == ["ok", "ok"]


# ---- outages while running: what only a later answer can settle ----------------------------------------------


def priced(running: Daemon, ts: int) -> None:
    assert running.engine is not None
    running.engine.on_market(PriceObserved(ts, PERP, 30_000.0))


async def test_a_create_the_venue_has_no_trace_of_yet_stays_open_and_halted_until_its_request_window_is_over(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    sim.faults.unavailable(method="POST", path=ORDER_PATH)  # 503 before the exchange saw it: outcome unknown
    async with daemon(sim, journal, venue=fast_venue(sim)) as running:
        engine = await running.start()
        priced(running, RESTART)
        await running.execute(RESTART, PlaceOrder(resting_buy(OURS), "test"))
        waiting = (journal.order(OURS), engine.governor.state, engine.governor.reason)
        running.clock.observe(RESTART + 30_000)  # reconcile_retry later; the request window (10 s + 2 s) is over
        await running.reconcile_job()
        lost = journal.order(OURS)
        state = engine.governor.state
    assert waiting[0] is not None
    assert waiting[0].status is OrderStatus.SUBMITTED  # not "rejected": it could still arrive
    assert waiting[1:] == (
        TradingState.HALTED,
        f"order {OURS} outcome unknown: no trace at the venue yet, it may arrive until its window closes",
    )
    assert lost is not None
    assert lost.status is OrderStatus.REJECTED
    assert state is TradingState.ACTIVE
    assert sim.sent_client_order_ids() == [OURS]


async def test_a_create_refused_for_rate_limits_holds_trading_halted_until_the_back_off_is_over(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    sim.faults.rate_limit(method="POST", path=ORDER_PATH, retry_after_s=0)
    async with daemon(sim, journal, venue=fast_venue(sim)) as running:
        engine = await running.start()
        priced(running, RESTART)
        await running.execute(RESTART, PlaceOrder(resting_buy(OURS), "test"))
        refused = (journal.order(OURS), engine.governor.state, engine.governor.reason)
        held = []
        for now in (RESTART + 9_999, RESTART + 10_000):  # the first back-off: 10 s
            running.clock.observe(now)
            await running.tick()
            held.append([hold.source for hold in engine.governor.holds if hold.source == "rate_limit"])
    assert refused[0] is not None
    assert refused[0].status is OrderStatus.REJECTED
    assert refused[1] is TradingState.HALTED
    assert refused[2].startswith("rate-limited by the venue (1 in a row: ")
    assert refused[2].endswith("no order for 10s, until 2026-01-01 00:10:10 UTC")
    assert held == [["rate_limit"], []]


async def test_a_create_that_cannot_reach_the_venue_is_rejected_and_holds_trading_halted_until_a_reconciliation(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    venue = fast_venue(sim)
    async with daemon(sim, journal, venue=venue) as running:
        engine = await running.start()
        priced(running, RESTART)
        point_at(venue.client, "http://127.0.0.1:1")  # nothing listens there: connection refused
        await running.execute(RESTART, PlaceOrder(resting_buy(OURS), "test"))
        refused = (journal.order(OURS), engine.governor.state, engine.governor.reason)
        point_at(venue.client, sim.base_url)  # the exchange is reachable again
        running.clock.observe(RESTART + 30_000)
        await running.reconcile_job()
        state = engine.governor.state
    assert refused[0] is not None
    assert refused[0].status is OrderStatus.REJECTED  # it never left: nothing to resolve
    assert refused[1] is TradingState.HALTED
    assert refused[2].startswith("the venue cannot be reached (")
    assert state is TradingState.ACTIVE
    assert sim.sent_client_order_ids() == []


async def test_a_tick_while_the_venue_is_unreachable_runs_the_engine_on_without_a_fresh_account(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    async with daemon(sim, journal, venue=fast_venue(sim)) as running:
        engine = await running.start()
        account_ts = engine.account_ts
        sim.faults.unavailable(times=None)
        running.clock.observe(RESTART + MS_PER_MINUTE)
        await running.tick()  # the hourly account refresh is due and fails: logged, not raised
        assert engine.now == RESTART + MS_PER_MINUTE
        assert engine.account_ts == account_ts
