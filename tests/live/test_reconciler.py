"""Reconciliation's survey of the venue, against the loopback exchange through the real ccxt client: one
consistent picture of orders, fills and positions, even when a fill happens while it is being taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_config
from bot.domain import ClientOrderId, DecisionId, OrderRequest, OrderStatus, OrderType, PriceObserved, Side, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import Phase
from bot.execution.reconcile_plan import ForeignOrders, plan_reconciliation
from bot.live.reconciler import survey
from bot.store.journal import Journal
from bot.testing.loopback import T0
from bot.venues.ccxt_venue import open_ccxt_venue

pytestmark = pytest.mark.asyncio

PERP = Symbol("BTC/USDT:USDT")


async def test_a_fill_made_while_the_venue_is_surveyed_is_seen_once_and_never_taken_for_a_position_difference(
    sim: ExchangeSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", sim.settings.api_key)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", sim.settings.api_secret)
    config = parse_config({"venue": {"endpoint": sim.base_url, "rate_limit": False}, "hedge": {"instruments": [PERP]}})
    venue = await open_ccxt_venue(config)
    journal = Journal(tmp_path / "journal.sqlite")
    resting = OrderRequest(
        ClientOrderId("hb-1-0-1"), PERP, Side.BUY, 0.01, OrderType.LIMIT, 29_900.0,
        decision_id=DecisionId("1"), clip_no=1,
    )  # fmt: skip
    try:
        journal.record_intent(resting, T0)
        journal.record_order_update(await venue.create_order(resting))

        def price_falls_through_the_bid_while_fills_are_fetched(phase: Phase, method: str, path: str) -> bool:
            if phase is Phase.BEFORE and path == "/fapi/v1/userTrades" and not sim.exchange.trades():
                sim.push(PriceObserved(T0 + 1_000, PERP, 29_800.0))  # the resting buy fills now
            return False

        sim.taps.append(price_falls_through_the_bid_while_fills_are_fetched)
        journal_view, venue_view = await survey(journal, venue, T0 + 2_000, {PERP: 0.001})
        plan = plan_reconciliation(journal_view, venue_view, ForeignOrders.LEAVE)
    finally:
        await venue.close()
        journal.close()

    assert len(sim.exchange.trades()) == 1
    assert [f.client_id for f in plan.fills] == [resting.client_id]  # the fill, applied once
    assert [(u.client_id, u.status) for u in plan.updates] == [(resting.client_id, OrderStatus.FILLED)]
    assert plan.positions == ()  # the account read agrees with the fills: nothing to adopt
    assert {p.symbol: p.qty for p in venue_view.account.positions} == {PERP: 0.01}
