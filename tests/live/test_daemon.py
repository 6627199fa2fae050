"""The daemon hedges a synthetic market in paper mode, journaling every order before it leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.clock import EventClock
from bot.config import Config, parse_config
from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    ClientOrderId,
    DecisionId,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    Symbol,
)
from bot.execution.actions import CancelOrder
from bot.execution.roll_plan import RollPair, quarterly_expiry_ms, roll_window, start_roll
from bot.execution.venue_errors import Retryable, UnknownOutcome
from bot.live.assembly import Plan, as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.store.journal import Journal

START = 1_704_067_200_000


def small_config(tmp_path: Path, **hedge: Any) -> Config:
    return parse_config(
        {
            "bot": {"state_dir": str(tmp_path), "span": "4d"},
            "hedge": {"window": "2d", "min_samples": 24, **hedge},
        }
    )


class JournalCheckingVenue:
    """The paper venue, but every create_order first checks that the journal already holds the intent."""

    def __init__(self, config: Config, journal: Journal) -> None:
        self.inner = paper_venue(config)
        self.journal = journal
        self.name = "journal-checking paper"
        self.intents_seen_before_send: list[bool] = []

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        self.intents_seen_before_send.append(self.journal.order(request.client_id) is not None)
        return await self.inner.create_order(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _run(config: Config, plan: Plan, venue: Any, journal: Journal) -> Any:
    daemon = Daemon(config, venue, journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    return asyncio.run(daemon.run(as_fast_as_possible(plan.events)))


def test_every_order_is_in_the_journal_before_it_is_sent(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    journal = Journal(tmp_path / "journal.sqlite")
    venue = JournalCheckingVenue(config, journal)
    summary = _run(config, synthetic_plan(config, START, config.span_ms, realtime=False), venue, journal)
    assert summary.clips > 0
    assert venue.intents_seen_before_send == [True] * summary.clips


def test_a_paper_run_hedges_and_every_journaled_order_ends_filled(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    journal = Journal(tmp_path / "journal.sqlite")
    summary = _run(config, synthetic_plan(config, START, config.span_ms, realtime=False), paper_venue(config), journal)
    assert summary.decisions >= 1
    assert summary.totals.fills == journal.count("fills") > 0
    assert {row["status"] for row in journal.rows("orders")} == {OrderStatus.FILLED.value}
    assert all(qty < 0 for qty in summary.positions.values())  # the hedge is short
    assert journal.count("decisions") == summary.decisions


def test_a_replayed_run_produces_the_same_client_order_ids(tmp_path: Path) -> None:
    ids = []
    for run in ("a", "b"):
        config = small_config(tmp_path / run)
        journal = Journal(tmp_path / run / "journal.sqlite")
        _run(config, synthetic_plan(config, START, config.span_ms, realtime=False), paper_venue(config), journal)
        ids.append([row["client_id"] for row in journal.rows("orders")])
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == len(ids[0])


class TimingOutVenue(JournalCheckingVenue):
    """The paper venue behind a connection that times out on every create (after the venue took the order),
    and whose order query either works or is down too."""

    def __init__(self, config: Config, journal: Journal, query_works: bool) -> None:
        super().__init__(config, journal)
        self.query_works = query_works
        self.sent: list[str] = []

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        self.sent.append(request.client_id)
        await self.inner.create_order(request)
        raise UnknownOutcome(f"{request.client_id}: no answer in time")

    async def fetch_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        if not self.query_works:
            raise Retryable("venue unreachable")
        return await self.inner.fetch_order(client_id, symbol)


def test_a_timed_out_order_is_resolved_by_its_client_id_and_never_sent_twice(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    journal = Journal(tmp_path / "journal.sqlite")
    venue = TimingOutVenue(config, journal, query_works=True)
    summary = _run(config, synthetic_plan(config, START, config.span_ms, realtime=False), venue, journal)
    assert venue.sent
    assert len(set(venue.sent)) == len(venue.sent)
    assert {row["status"] for row in journal.rows("orders")} == {OrderStatus.FILLED.value}
    assert summary.totals.fills == len(venue.sent)


def test_an_order_whose_fate_cannot_be_learned_stays_open_and_blocks_its_instrument(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    journal = Journal(tmp_path / "journal.sqlite")
    venue = TimingOutVenue(config, journal, query_works=False)
    _run(config, synthetic_plan(config, START, config.span_ms, realtime=False), venue, journal)
    sent_per_instrument = {row["symbol"] for row in journal.rows("orders")}
    assert len(venue.sent) == len(sent_per_instrument)  # one order each, then nothing until its fate is known
    assert {row["status"] for row in journal.rows("orders")} == {OrderStatus.SUBMITTED.value}


def test_a_restart_resumes_an_unfinished_roll_from_the_journal_and_never_reuses_its_client_ids(
    tmp_path: Path,
) -> None:
    leg = Symbol("BTC/USDT:USDT@quarterly")
    now = quarterly_expiry_ms(2024, 3) - 2 * MS_PER_DAY  # inside the 3-day roll window
    config = small_config(tmp_path, instruments=[leg, "ETH/USDT:USDT"])
    journal = Journal(tmp_path / "journal.sqlite")
    state = start_roll(roll_window(leg, now, 3 * MS_PER_DAY, 3), -1.0, 0.0, now - MS_PER_HOUR)
    for pair_no in range(1, 5):  # four pairs went out before the crash
        state = state.sent(RollPair(pair_no, 1, 0.1, -0.1, True))
        journal.record_execution(now, "roll_pair", leg, state.to_record())
    daemon = Daemon(config, paper_venue(config), journal, EventClock(now), trading_from_ms=now)
    engine = asyncio.run(daemon.start())
    resumed = engine.roller.states[leg]
    assert resumed.next_pair_no == 5
    assert resumed.near_start == -1.0
    journal.close()


def test_a_working_order_the_venue_no_longer_knows_when_cancelled_expires_and_frees_its_contract(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[list[str], str | None]:
        config = small_config(tmp_path)
        journal = Journal(tmp_path / "journal.sqlite")
        daemon = Daemon(config, paper_venue(config), journal, EventClock(START), trading_from_ms=START)
        engine = await daemon.start()
        request = OrderRequest(ClientOrderId("hb-1-0-1"), Symbol("BTC/USDT:USDT"), Side.BUY, 0.01,
                               OrderType.LIMIT, 20_000.0, decision_id=DecisionId("1"), clip_no=1)  # fmt: skip
        journal.record_intent(request, START)  # a working order of an earlier run, since purged by the venue
        engine.orders.adopt(request, OrderUpdate(START, request.client_id, request.symbol, OrderStatus.ACCEPTED))
        await daemon.execute(START, CancelOrder(request.client_id, request.symbol, "escalating"))
        order = journal.order(request.client_id)
        return [o.request.client_id for o in engine.orders.open_orders()], None if order is None else order.status

    open_orders, status = asyncio.run(scenario())
    assert open_orders == []  # the contract is free for the next clip
    assert status == OrderStatus.EXPIRED.value
