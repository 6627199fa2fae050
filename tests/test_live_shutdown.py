"""A live session stopped as SIGTERM stops it (`Session.stop()`, what the signal handler calls) while a post-only
clip rests at the exchange: `[execution] on_shutdown` decides that clip's fate, seen from the exchange's side.

The daemon trades through the real ccxt client against the loopback exchange (bot/testing/live.py:
market time moved by the test, conditions polled with a deadline). At START it sells its 10 ETH hedge in one
post-only limit clip 10 bps over the mark (2,010): the clip rests. Then the session is stopped.

- cancel: the exchange has no open order of ours left, and the journal has the clip cancelled by the shutdown
  (its pause is in the audit trail).
- leave: the clip still rests at the exchange and the journal still has it open; a restart finds it there
  (start-up reconciliation), works it instead of sending it again, and its fill completes the hedge.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.domain import ClientOrderId
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.records import SimOrder
from bot.store.journal import Journal
from bot.testing.live import ETH_PERP, Live, config_for, exchange_with_history, ledger, trading, until

pytestmark = pytest.mark.asyncio

RESTING = {"order_type": "limit", "post_only": True, "limit_offset_bps": 10.0}  # the sell rests 10 bps over the mark


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange, having played 70 minutes of prices up to START (replaces the shared fixture)."""
    async with exchange_with_history() as simulator:
        yield simulator


def ours_open(sim: ExchangeSim) -> list[SimOrder]:
    """The orders resting at the exchange (every one of them is ours: nobody else trades this account)."""
    return sim.exchange.orders(open_only=True)


async def resting_then_stopped(live: Live) -> SimOrder:
    """Once the hedge's clip rests at the exchange and the daemon knows it is working there, stop the session
    as SIGTERM does; the clip as the exchange had it."""
    [resting] = await until(lambda: ours_open(live.sim), "the clip resting at the exchange")
    await until(lambda: live.status()["open_orders"] == 1, "the daemon to know the clip is working")
    live.session.stop()  # what the SIGTERM handler calls; `trading` then awaits the session's end
    return resting


async def test_stopping_with_on_shutdown_cancel_leaves_no_order_of_ours_at_the_exchange(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = config_for(sim, tmp_path, execution={**RESTING, "on_shutdown": "cancel"})
    async with trading(sim, config, tmp_path) as live:
        resting = await resting_then_stopped(live)

    assert (resting.side.value, resting.time_in_force) == ("sell", "GTX")  # a post-only clip of the hedge
    assert ours_open(sim) == []
    [at_exchange] = sim.exchange.orders()
    assert (at_exchange.client_id, at_exchange.status, at_exchange.executed_qty) == (resting.client_id, "CANCELED", 0)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journaled = journal.order(ClientOrderId(resting.client_id))
        commands = [(row["command"], json.loads(row["args"]), row["outcome"]) for row in journal.rows("commands")]
        assert journal.open_orders() == []
    finally:
        journal.close()
    assert journaled is not None
    assert (journaled.status, journaled.filled_qty) == ("cancelled", 0)
    assert commands == [("pause", {"on_shutdown": "cancel"}, "ok")]


async def test_stopping_with_on_shutdown_leave_keeps_the_order_resting_and_a_restart_adopts_it_unsent(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = config_for(sim, tmp_path, execution={**RESTING, "on_shutdown": "leave"})
    async with trading(sim, config, tmp_path) as live:
        resting = await resting_then_stopped(live)

    assert [order.client_id for order in ours_open(sim)] == [resting.client_id]  # still resting, untouched
    assert ours_open(sim)[0].executed_qty == 0
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        assert [order.request.client_id for order in journal.open_orders()] == [resting.client_id]
        assert journal.rows("commands") == []  # nothing cancelled it
    finally:
        journal.close()
    sent_before_restart = sim.sent_client_order_ids()
    assert sent_before_restart == [resting.client_id]

    async with trading(sim, config, tmp_path) as again:  # the restart: reconciliation, then START's decision
        adopted = again.status()
        reconciliations = again.journal.rows("reconciliations")
        await again.at(1.5, eth=2_020.0)  # the mark runs through the resting sell: it fills
        positions = await again.hedged("the adopted clip's fill, the hedge complete")
        book = ledger(again)

    assert adopted["open_orders"] == 1  # the order found resting is the one being worked
    assert reconciliations[0]["outcome"] == "ok"
    assert json.loads(reconciliations[0]["summary"])["adopted"] == 0  # the journal knew it: no stranger adopted
    assert sim.sent_client_order_ids() == sent_before_restart  # the restart sent nothing: no clip twice
    assert positions[ETH_PERP] == -resting.qty
    assert book.problems() == []
