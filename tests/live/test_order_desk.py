"""The order desk on its own: driven through its ports (a journal, a venue, an event path), no daemon."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_config
from bot.core.engine import Action, Engine
from bot.domain import (
    ClientOrderId,
    DecisionId,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
    VenueEvent,
)
from bot.execution.actions import PlaceOrder
from bot.execution.venue_errors import UnknownOutcome
from bot.live.assembly import paper_venue
from bot.live.order_desk import OrderDesk
from bot.logs import get_logger
from bot.store.journal import Journal
from bot.venues.paper import PaperVenue

START = 1_704_067_200_000
BTC_PERP = Symbol("BTC/USDT:USDT")


class RecordingPath:
    """An `EventPath` that journals nothing itself and records what the desk hands back."""

    def __init__(self, engine: Engine, venue: PaperVenue) -> None:
        self.engine = engine
        self.venue = venue
        self.events: list[VenueEvent] = []
        self.settled: list[str] = []

    def running_engine(self) -> Engine:
        return self.engine

    async def apply_venue_event(self, event: VenueEvent) -> None:
        self.events.append(event)

    async def execute(self, now: int, action: Action) -> None:
        raise AssertionError(f"the desk executed {action!r}")

    async def drain(self) -> None:
        self.events.extend(self.venue.drain())

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None:
        pass

    def say(self, line: str) -> None:
        pass


class SilentVenue(PaperVenue):
    """The paper venue whose create answers never arrive (it took the order)."""

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        await super().create_order(request)
        raise UnknownOutcome("no answer in time")


async def _desk(tmp_path: Path, venue_class: type[PaperVenue] = PaperVenue) -> tuple[OrderDesk, RecordingPath, Journal]:
    config = parse_config({"bot": {"state_dir": str(tmp_path)}, "hedge": {"instruments": [BTC_PERP]}})
    venue = venue_class(paper_venue(config).settings)
    await venue.start()
    instruments = await venue.load_instruments([BTC_PERP])
    engine = Engine(config, instruments, START)
    price = PriceObserved(START, BTC_PERP, 50_000.0)
    engine.on_market(price)
    venue.on_market(price)
    journal = Journal(tmp_path / "journal.sqlite")
    path = RecordingPath(engine, venue)
    settled: list[str] = []

    async def settle_later(_now: int, reason: str) -> None:
        settled.append(reason)

    path.settled = settled
    return OrderDesk(journal, venue, path, get_logger(component="test"), settle_later), path, journal


def _order(client_id: str) -> PlaceOrder:
    request = OrderRequest(ClientOrderId(client_id), BTC_PERP, Side.SELL, 0.01, decision_id=DecisionId("d1"))
    return PlaceOrder(request, "test")


@pytest.mark.asyncio
async def test_the_desk_journals_an_order_before_sending_it_and_hands_the_fill_to_the_event_path(
    tmp_path: Path,
) -> None:
    desk, path, journal = await _desk(tmp_path)
    await desk.place(START, _order("c1"))
    statuses = [event.status for event in path.events if isinstance(event, OrderUpdate)]
    assert statuses[0] is OrderStatus.SUBMITTED  # marked sent before the venue answered
    assert OrderStatus.FILLED in statuses
    assert journal.order(ClientOrderId("c1")) is not None


@pytest.mark.asyncio
async def test_the_desk_never_sends_a_client_order_id_the_journal_already_holds(tmp_path: Path) -> None:
    desk, path, _journal = await _desk(tmp_path)
    await desk.place(START, _order("c1"))
    sent_before = len(path.events)
    await desk.place(START + 1, _order("c1"))
    assert len(path.events) == sent_before  # nothing sent, nothing applied: the engine drops its copy


@pytest.mark.asyncio
async def test_an_unanswered_create_is_learned_by_its_client_id_not_sent_again(tmp_path: Path) -> None:
    desk, path, _journal = await _desk(tmp_path, SilentVenue)
    await desk.place(START, _order("c1"))
    updates = [event for event in path.events if isinstance(event, OrderUpdate)]
    assert updates[-1].status is OrderStatus.FILLED  # learned from the venue's record of the order
    assert not path.settled
