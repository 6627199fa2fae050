"""An account's user stream followed against the loopback exchange (real ccxt.pro, the simulator's WebSocket
API): a balance event makes the reader read at once, a change made while the stream was down is read when
it comes back, and a stream the exchange refuses leaves the scheduled reads alone."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
import pytest_asyncio

from bot.clock import WallClock
from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.feeds.account_stream import AccountStream
from bot.feeds.accounts import AccountRead, AccountReader
from bot.settings.accounts import SpotAccount
from bot.testing.live import until
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import make_spot_client
from bot.venues.ccxt_errors import Backoff

pytestmark = pytest.mark.asyncio
QUICK = Backoff(initial_s=0.05, cap_s=0.2)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    tape = [*priced(T0), PriceObserved(T0, Symbol("SOL/USDT"), 100.0)]
    async with running_sim(SimSettings(spot_only=("SOL",)), tape) as simulator:
        simulator.spot.deposit("SOL", Decimal("100"))
        yield simulator


class Following:
    """A reader on a schedule too long to matter (an hour), and its stream, running."""

    def __init__(self, reader: AccountReader, stream: AccountStream) -> None:
        self.reader = reader
        self.stream = stream
        self.reads: list[AccountRead] = []
        self.stream_task: asyncio.Task[None] | None = None

    def last_sol(self) -> float | None:
        good = [r.balances for r in self.reads if r.balances is not None]
        return good[-1]["SOL"] if good else None


@asynccontextmanager
async def following(sim: ExchangeSim, secret: str = DEFAULT_API_SECRET) -> AsyncIterator[Following]:
    account = SpotAccount(exchange="binance", assets=("SOL",), endpoint=f"{sim.base_url}/spot", interval="1h",
                          max_age="2h")  # fmt: skip
    client = make_spot_client("binance", account.endpoint, api_key=DEFAULT_API_KEY, secret=secret)
    reader = AccountReader(account, client, WallClock(), QUICK)
    stream = AccountStream(reader, QUICK, random.Random(1))
    run = Following(reader, stream)

    async def record(read: AccountRead) -> None:
        run.reads.append(read)

    reader.on_read = record
    run.stream_task = asyncio.create_task(stream.run())
    tasks = [asyncio.create_task(reader.run()), run.stream_task]
    try:
        yield run
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await reader.close()


async def settled(run: Following, sim: ExchangeSim) -> None:
    """The stream subscribed at the exchange: from now on each balance change is told."""
    await asyncio.wait_for(sim.spot.ws_api.wait_subscriptions(1), 10)


async def test_a_deposit_is_read_at_once_not_at_the_next_scheduled_read(sim: ExchangeSim) -> None:
    async with following(sim) as run:
        await until(lambda: run.last_sol() == 100.0, "the first read")
        await settled(run, sim)
        sim.spot.deposit("SOL", Decimal("50"))
        await until(lambda: run.last_sol() == 150.0, "the deposit, read on the stream's word")
        sim.spot.withdraw("SOL", Decimal("30"))
        await until(lambda: run.last_sol() == 120.0, "the withdrawal")
    assert run.stream.stats.reconnects == 0


async def test_a_change_made_while_the_stream_was_down_is_read_when_it_reconnects(sim: ExchangeSim) -> None:
    async with following(sim) as run:
        await until(lambda: run.last_sol() == 100.0, "the first read")
        await settled(run, sim)
        sim.spot.stream_faults.silence(market=False, user=True)
        sim.spot.deposit("SOL", Decimal("7"))  # no event: the stream says nothing of it
        sim.spot.stream_faults.speak()
        await sim.spot.ws_api.drop_all()
        await until(lambda: run.last_sol() == 107.0, "the re-sync read after the reconnection")
        assert run.stream.stats.reconnects == 1


async def test_a_refused_stream_ends_quietly_and_leaves_the_schedule_reading(sim: ExchangeSim) -> None:
    async with following(sim, secret="not-the-secret") as run:
        assert run.stream_task is not None
        await asyncio.wait_for(run.stream_task, 10)  # returned: refused for good, no exception escapes
        await until(lambda: run.reads, "the scheduled first read")
    assert run.reads[0].balances is None
    assert "Signature" in run.reads[0].error
