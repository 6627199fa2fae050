"""The paper account is durable: its state, taken as a record and restored into a new venue, continues it exactly
(balances, positions with their entries, resting orders, trade and order ids); a liquidation is an event."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.domain import AccountSnapshot, ClientOrderId, Liquidated, OrderRequest, OrderType, PriceObserved, Side, Symbol
from bot.execution.market_rules import default_instrument
from bot.venues.paper import PaperSettings, PaperVenue

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
T0 = 1_704_067_200_000


def paper(settings: PaperSettings | None = None) -> PaperVenue:
    return PaperVenue(settings or PaperSettings(), {s: default_instrument(s) for s in (BTC, ETH)})


def price(venue: PaperVenue, value: float, ts: int, symbol: Symbol = BTC) -> None:
    venue.on_market(PriceObserved(ts, symbol, value))


def market(cid: str, side: Side, qty: float, symbol: Symbol = BTC) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), symbol, side, qty)


async def traded() -> PaperVenue:
    """Long then short some BTC (realising P&L and fees), short ETH, and rest a buy limit below the market."""
    venue = paper()
    price(venue, 50_000.0, T0)
    price(venue, 2_500.0, T0, ETH)
    await venue.create_order(market("a", Side.BUY, 0.3))
    price(venue, 51_000.0, T0 + 1_000)
    await venue.create_order(market("b", Side.SELL, 0.1))
    await venue.create_order(market("c", Side.SELL, 2.0, ETH))
    limit = OrderRequest(ClientOrderId("d"), BTC, Side.BUY, 0.05, OrderType.LIMIT, 49_000.0)
    await venue.create_order(limit)
    venue.drain()
    return venue


@pytest.mark.asyncio
async def test_a_restored_venue_holds_the_same_balances_positions_entries_and_resting_orders() -> None:
    venue = await traded()
    record = json.loads(json.dumps(venue.state()))  # what the journal stores: plain JSON
    restored = paper()
    restored.restore(record)
    assert restored.account.positions() == venue.account.positions()
    assert restored.account.wallet_balance == pytest.approx(venue.account.wallet_balance)
    assert restored.account.equity == pytest.approx(venue.account.equity)
    assert (restored.account.realized_pnl, restored.account.fees_paid) == (
        pytest.approx(venue.account.realized_pnl),
        pytest.approx(venue.account.fees_paid),
    )
    assert [u.client_id for u in await restored.fetch_open_orders()] == ["d"]


@pytest.mark.asyncio
async def test_a_restored_venue_continues_its_trade_and_order_ids_and_fills_its_resting_order() -> None:
    venue = await traded()
    restored = paper()
    restored.restore(venue.state())
    price(restored, 51_000.0, T0 + 2_000)
    update = await restored.create_order(market("e", Side.BUY, 0.01))
    price(restored, 48_900.0, T0 + 3_000)  # trades through the resting buy at 49,000
    fills = [event for event in restored.drain() if not isinstance(event, AccountSnapshot)]
    trade_ids = [getattr(event, "trade_id", None) for event in fills if hasattr(event, "trade_id")]
    assert update.exchange_id == "paper-5"
    assert trade_ids == ["4", "5"]  # the first venue used 1, 2 and 3
    assert restored.account.position(BTC).qty == pytest.approx(0.3 - 0.1 + 0.01 + 0.05)
    assert await restored.fetch_open_orders() == []


@pytest.mark.asyncio
async def test_the_durable_state_is_offered_only_after_something_changed_the_account() -> None:
    venue = paper()
    venue.durable = True
    price(venue, 50_000.0, T0)
    venue.drain()
    assert venue.durable_state() is None  # a price alone: nothing to journal
    await venue.create_order(market("a", Side.BUY, 0.01))
    venue.drain()
    state = venue.durable_state()
    assert state is not None
    assert state["account"]["trade_seq"] == 1
    assert venue.durable_state() is None


@pytest.mark.asyncio
async def test_a_liquidation_is_reported_as_an_event_naming_what_it_closed_and_what_it_cost() -> None:
    frictionless = PaperSettings(taker_fee_bps=0.0, slippage_bps=0.0, impact_bps_per_10k=0.0)
    venue = paper(replace(frictionless, collateral=1_000.0, leverage=20.0))
    price(venue, 50_000.0, T0)
    await venue.create_order(market("short", Side.SELL, 0.35))
    venue.drain()
    price(venue, 53_000.0, T0 + 1)  # a rally through the liquidation price of the short
    [liquidation] = [event for event in venue.drain() if isinstance(event, Liquidated)]
    assert liquidation.ts == T0 + 1
    assert [(c.symbol, c.qty, c.price) for c in liquidation.closed] == [(BTC, -0.35, 53_000.0)]
    assert liquidation.equity_before == pytest.approx(1_000.0 - 0.35 * 3_000.0)
    assert liquidation.positions == ()
    assert venue.liquidations == [liquidation]


@pytest.mark.asyncio
async def test_a_restored_account_below_maintenance_is_liquidated_at_the_next_event_even_of_another_symbol() -> None:
    # the margin check runs again only after what moves the ratio (a mark, a fill, funding, a transfer): a restore
    settings = replace(PaperSettings(taker_fee_bps=0.0, slippage_bps=0.0), collateral=1_000.0, leverage=20.0)
    venue = paper(settings)
    price(venue, 50_000.0, T0)
    await venue.create_order(market("short", Side.SELL, 0.35))
    record = json.loads(json.dumps(venue.state()))
    record["account"]["collateral"] = 10.0  # at the same mark, equity below the maintenance margin
    restored = paper(settings)
    price(restored, 50_000.0, T0)  # checked once: flat, nothing to liquidate
    restored.restore(record)
    price(restored, 20.0, T0 + 1, Symbol("SOL/USDT"))  # a price the account does not mark
    [liquidation] = [event for event in restored.drain() if isinstance(event, Liquidated)]
    assert [(c.symbol, c.qty) for c in liquidation.closed] == [(BTC, -0.35)]
