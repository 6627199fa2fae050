"""The paper venue: fills, fees, slippage, resting orders, refusals, funding, P&L, expiry, liquidation."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    MS_PER_HOUR,
    BookObserved,
    ClientOrderId,
    Fill,
    FundingObserved,
    FundingSettled,
    InstrumentKind,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
    VenueEvent,
)
from bot.execution.market_rules import default_instrument, expiry_ms_of
from bot.execution.venue import Venue
from bot.execution.venue_errors import Fatal, InsufficientMargin, OrderNotFound, Rejected
from bot.venues.paper import PaperSettings, PaperVenue

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
BTC_INVERSE = Symbol("BTC/USD:BTC")
BTC_MARCH = Symbol("BTC/USDT:USDT-240329")
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FRICTIONLESS = PaperSettings(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0, impact_bps_per_10k=0.0)


def paper(settings: PaperSettings | None = None, *symbols: Symbol) -> PaperVenue:
    chosen = symbols or (BTC, ETH)
    return PaperVenue(settings or PaperSettings(), {s: default_instrument(s) for s in chosen})


def market(cid: str, side: Side, qty: float, symbol: Symbol = BTC, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), symbol, side, qty, reduce_only=reduce_only)


def limit(
    cid: str, side: Side, qty: float, price: float, post_only: bool = False, reduce_only: bool = False
) -> OrderRequest:
    return OrderRequest(
        ClientOrderId(cid),
        BTC,
        side,
        qty,
        OrderType.LIMIT,
        price,
        reduce_only=reduce_only,
        post_only=post_only,
    )


def price(venue: PaperVenue, value: float, ts: int = T0, symbol: Symbol = BTC) -> None:
    venue.on_market(PriceObserved(ts, symbol, value))


def fills_in(events: list[VenueEvent]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def updates_in(events: list[VenueEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def funding_in(events: list[VenueEvent]) -> list[FundingSettled]:
    return [e for e in events if isinstance(e, FundingSettled)]


def test_the_paper_venue_is_a_venue() -> None:
    venue: Venue = paper()
    assert venue.name == "paper"


# ---- market orders ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_market_order_without_a_book_fills_at_once_with_slippage_impact_and_taker_fee() -> None:
    venue = paper()
    price(venue, 50_000.0)
    update = await venue.create_order(market("b1", Side.BUY, 0.1))
    [fill] = fills_in(venue.drain())
    # 1 bp + 0.5 bp per 10,000 of a 5,000 notional = 1.25 bp → 50,006.25, rounded up to the 0.1 tick
    assert (update.status, update.filled_qty) == (OrderStatus.FILLED, 0.1)
    assert update.avg_price == pytest.approx(50_006.3)
    assert (fill.price, fill.liquidity, fill.fee_currency) == (50_006.3, "taker", "USDT")
    assert fill.fee == pytest.approx(0.1 * 50_006.3 * 4e-4)
    sell = await venue.create_order(market("s1", Side.SELL, 0.1))
    assert sell.avg_price == pytest.approx(49_993.7)


@pytest.mark.asyncio
async def test_a_market_order_walks_the_book_and_fills_partly_at_each_level() -> None:
    venue = paper()
    venue.on_market(BookObserved(T0, BTC, 49_999.9, 0.05, 50_000.0, 0.05))
    update = await venue.create_order(market("b1", Side.BUY, 0.12))
    fills = fills_in(venue.drain())
    assert [(f.qty, f.price) for f in fills] == [(0.05, 50_000.0), (0.05, 50_000.1), (0.02, 50_000.2)]
    assert len({f.trade_id for f in fills}) == 3
    assert update.status is OrderStatus.FILLED
    assert update.avg_price == pytest.approx((0.05 * 50_000.0 + 0.05 * 50_000.1 + 0.02 * 50_000.2) / 0.12)


@pytest.mark.asyncio
async def test_a_market_order_beyond_the_modelled_depth_expires_with_what_it_got_when_not_sweeping() -> None:
    venue = paper(PaperSettings(book_levels=2, sweep_beyond_depth=False))
    venue.on_market(BookObserved(T0, BTC, 49_999.9, 0.05, 50_000.0, 0.05))
    update = await venue.create_order(market("b1", Side.BUY, 0.12))
    assert (update.status, update.filled_qty) == (OrderStatus.EXPIRED, 0.1)
    assert update.reason == "book depth exhausted"
    assert venue.account.position(BTC).qty == pytest.approx(0.1)


@pytest.mark.asyncio
async def test_a_book_older_than_the_latest_price_is_not_walked() -> None:
    venue = paper(FRICTIONLESS)
    venue.on_market(BookObserved(T0, BTC, 49_999.9, 5.0, 50_000.0, 5.0))
    price(venue, 51_000.0, T0 + 1)
    update = await venue.create_order(market("b1", Side.BUY, 0.1))
    assert update.avg_price == 51_000.0


# ---- limit orders -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_limit_order_rests_then_fills_as_maker_when_the_price_trades_through_it() -> None:
    venue = paper()
    price(venue, 50_000.0)
    accepted = await venue.create_order(limit("l1", Side.BUY, 0.1, 49_900.0))
    assert accepted.status is OrderStatus.ACCEPTED
    assert venue.drain() == []
    price(venue, 49_900.0, T0 + 1)  # touching is not enough
    assert venue.drain() == []
    price(venue, 49_850.0, T0 + 2)
    [fill, update] = venue.drain()
    assert isinstance(fill, Fill)
    assert (fill.price, fill.liquidity, fill.ts) == (49_900.0, "maker", T0 + 2)
    assert fill.fee == pytest.approx(0.1 * 49_900.0 * 2e-4)
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.filled_qty, update.avg_price) == (OrderStatus.FILLED, 0.1, 49_900.0)
    assert await venue.fetch_open_orders() == []


@pytest.mark.asyncio
async def test_a_resting_limit_fills_partly_against_the_size_the_book_shows_then_completes() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(limit("l1", Side.SELL, 0.1, 50_100.0))
    venue.on_market(BookObserved(T0 + 1, BTC, 50_100.0, 0.04, 50_100.1, 1.0))
    [partial] = updates_in(venue.drain())
    assert (partial.status, partial.filled_qty) == (OrderStatus.PARTIALLY_FILLED, 0.04)
    venue.on_market(BookObserved(T0 + 2, BTC, 50_150.0, 1.0, 50_150.1, 1.0))
    events = venue.drain()
    assert [f.qty for f in fills_in(events)] == [pytest.approx(0.06)]
    assert updates_in(events)[-1].status is OrderStatus.FILLED


@pytest.mark.asyncio
async def test_a_marketable_limit_takes_up_to_its_price_and_rests_the_remainder() -> None:
    venue = paper()
    venue.on_market(BookObserved(T0, BTC, 49_999.9, 0.05, 50_000.0, 0.05))
    update = await venue.create_order(limit("l1", Side.BUY, 0.2, 50_000.1))
    taken = fills_in(venue.drain())
    assert [(f.qty, f.price) for f in taken] == [(0.05, 50_000.0), (0.05, 50_000.1)]
    assert {f.liquidity for f in taken} == {"taker"}
    assert (update.status, update.filled_qty) == (OrderStatus.PARTIALLY_FILLED, 0.1)
    [still_open] = await venue.fetch_open_orders()
    assert still_open.client_id == "l1"
    price(venue, 49_990.0, T0 + 1)
    events = venue.drain()
    assert [(f.qty, f.price, f.liquidity) for f in fills_in(events)] == [(0.1, 50_000.1, "maker")]
    assert updates_in(events)[-1].status is OrderStatus.FILLED


@pytest.mark.asyncio
async def test_a_marketable_limit_without_a_book_fills_at_the_slipped_price_capped_at_its_limit() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(limit("l1", Side.BUY, 0.1, 50_010.0))
    await venue.create_order(limit("l2", Side.BUY, 0.1, 50_002.0))
    assert [f.price for f in fills_in(venue.drain())] == [50_006.3, 50_002.0]


@pytest.mark.asyncio
async def test_a_post_only_order_that_would_take_is_rejected_and_one_that_would_not_rests() -> None:
    venue = paper()
    venue.on_market(BookObserved(T0, BTC, 49_999.9, 1.0, 50_000.0, 1.0))
    with pytest.raises(Rejected) as refused:
        await venue.create_order(limit("p1", Side.BUY, 0.1, 50_000.0, post_only=True))
    assert refused.value.code == "post_only"
    resting = await venue.create_order(limit("p2", Side.BUY, 0.1, 49_999.9, post_only=True))
    assert resting.status is OrderStatus.ACCEPTED
    assert venue.drain() == []


@pytest.mark.asyncio
async def test_cancelling_a_resting_order_stops_it_filling_and_cannot_be_done_twice() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(limit("l1", Side.BUY, 0.1, 49_000.0))
    cancelled = await venue.cancel_order(ClientOrderId("l1"), BTC)
    assert cancelled.status is OrderStatus.CANCELLED
    price(venue, 48_000.0, T0 + 1)
    assert venue.drain() == []
    with pytest.raises(Rejected, match="already cancelled"):
        await venue.cancel_order(ClientOrderId("l1"), BTC)
    with pytest.raises(OrderNotFound):
        await venue.cancel_order(ClientOrderId("nope"), BTC)
    assert (await venue.fetch_order(ClientOrderId("l1"), BTC)).status is OrderStatus.CANCELLED
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(ClientOrderId("l1"), ETH)


# ---- refusals -----------------------------------------------------------------------------------


async def refusal(venue: PaperVenue, request: OrderRequest) -> str:
    with pytest.raises(Rejected) as refused:
        await venue.create_order(request)
    return refused.value.code


@pytest.mark.asyncio
async def test_quantities_off_the_lot_step_below_the_minimum_or_prices_off_the_tick_are_rejected() -> None:
    venue = paper()
    price(venue, 50_000.0)
    assert await refusal(venue, market("a", Side.BUY, 0.0015)) == "lot_size"
    assert await refusal(venue, market("b", Side.BUY, 0.0)) == "quantity"
    assert await refusal(venue, market("c", Side.BUY, 0.001)) == "min_notional"  # 50 USDT < 100
    assert await refusal(venue, limit("d", Side.BUY, 0.01, 49_000.05)) == "tick_size"
    assert venue.drain() == []
    assert venue.account.positions() == ()


@pytest.mark.asyncio
async def test_a_lot_multiple_with_float_noise_is_accepted() -> None:
    venue = paper()
    price(venue, 50_000.0)
    update = await venue.create_order(market("a", Side.BUY, 0.1 + 0.2))  # 0.30000000000000004
    assert update.status is OrderStatus.FILLED


@pytest.mark.asyncio
async def test_a_reduce_only_order_that_would_add_or_flip_is_rejected() -> None:
    venue = paper()
    price(venue, 50_000.0)
    assert await refusal(venue, market("flat", Side.SELL, 0.1, reduce_only=True)) == "reduce_only"
    await venue.create_order(market("open", Side.BUY, 0.1))
    assert await refusal(venue, market("add", Side.BUY, 0.1, reduce_only=True)) == "reduce_only"
    assert await refusal(venue, market("flip", Side.SELL, 0.2, reduce_only=True)) == "reduce_only"
    closed = await venue.create_order(market("close", Side.SELL, 0.1, reduce_only=True))
    assert closed.status is OrderStatus.FILLED
    assert venue.account.positions() == ()


@pytest.mark.asyncio
async def test_a_reduce_only_order_may_be_below_the_minimum_notional_so_a_remainder_can_be_closed() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(market("open", Side.BUY, 0.003))
    closed = await venue.create_order(market("rest", Side.SELL, 0.001, reduce_only=True))  # 50 USDT
    assert closed.status is OrderStatus.FILLED


@pytest.mark.asyncio
async def test_a_resting_reduce_only_order_expires_unfilled_once_its_position_is_gone() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(market("open", Side.BUY, 0.1))
    await venue.create_order(limit("tp", Side.SELL, 0.1, 51_000.0, reduce_only=True))
    await venue.create_order(market("close", Side.SELL, 0.1))
    venue.drain()
    price(venue, 52_000.0, T0 + 1)
    [update] = venue.drain()
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.filled_qty) == (OrderStatus.EXPIRED, 0.0)
    assert venue.account.positions() == ()


@pytest.mark.asyncio
async def test_an_order_needing_more_margin_than_is_available_is_rejected_as_insufficient_margin() -> None:
    venue = paper(PaperSettings(collateral=1_000.0, leverage=5.0))
    price(venue, 50_000.0)
    with pytest.raises(InsufficientMargin):
        await venue.create_order(market("big", Side.BUY, 0.1))  # 5,000 / 5 = 1,000, plus the fee
    assert (await venue.create_order(limit("rest", Side.BUY, 0.09, 49_000.0))).status is OrderStatus.ACCEPTED
    assert (await venue.create_order(market("some", Side.BUY, 0.01))).status is OrderStatus.FILLED
    with pytest.raises(InsufficientMargin):  # the resting order holds 882 of the 1,000, the fill 100
        await venue.create_order(market("more", Side.BUY, 0.01))


@pytest.mark.asyncio
async def test_a_reused_client_order_id_is_rejected_even_after_its_order_filled() -> None:
    venue = paper()
    price(venue, 50_000.0)
    await venue.create_order(market("same", Side.BUY, 0.01))
    assert await refusal(venue, market("same", Side.BUY, 0.01)) == "duplicate_id"
    assert venue.account.position(BTC).qty == pytest.approx(0.01)


@pytest.mark.asyncio
async def test_an_unknown_symbol_or_a_market_without_a_price_is_rejected_rather_than_filled_blind() -> None:
    venue = paper()
    unlisted = Symbol("SOL/USDT:USDT")
    assert await refusal(venue, market("x", Side.BUY, 1.0, symbol=unlisted)) == "unknown_symbol"
    assert await refusal(venue, market("y", Side.BUY, 0.01)) == "no_price"
    price(venue, 3_000.0, symbol=ETH)
    assert await refusal(venue, market("z", Side.BUY, 0.01)) == "no_price"


# ---- instruments --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_load_instruments_gives_binance_like_steps_dated_expiries_and_inverse_face_values() -> None:
    venue = PaperVenue(PaperSettings())
    loaded = await venue.load_instruments([BTC, Symbol("SOL/USDT:USDT"), Symbol("ETH/USDT:USDT-261225")])
    btc, sol, eth_dated = loaded.values()
    assert (btc.lot_step, btc.tick_size, btc.min_qty, btc.min_notional) == (0.001, 0.1, 0.001, 100.0)
    assert (sol.lot_step, sol.tick_size, sol.min_notional) == (1.0, 0.001, 5.0)
    assert eth_dated.kind is InstrumentKind.FUTURE
    assert eth_dated.expiry_ms == 1_798_185_600_000  # 2026-12-25 08:00 UTC
    inverse = default_instrument(BTC_INVERSE)
    assert (inverse.inverse, inverse.contract_size, inverse.settle) == (True, 100.0, "BTC")
    assert default_instrument(Symbol("ETH/USD:ETH")).contract_size == 10.0
    generic = default_instrument(Symbol("NEWCOIN/USDT:USDT"))
    assert (generic.lot_step, generic.min_notional) == (1.0, 5.0)


@pytest.mark.asyncio
async def test_a_bad_symbol_or_one_settling_in_another_currency_is_fatal() -> None:
    venue = PaperVenue(PaperSettings(currency="USDT"))
    with pytest.raises(Fatal, match="not a ccxt symbol"):
        await venue.load_instruments([Symbol("BTCUSDT")])
    with pytest.raises(Fatal, match="settles in BTC"):
        await venue.load_instruments([BTC_INVERSE])
    with pytest.raises(ValueError, match="YYMMDD"):
        expiry_ms_of("BTC/USDT:USDT-251340")


# ---- funding ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_funding_settles_once_per_eight_hour_settlement_and_a_short_receives_a_positive_rate() -> None:
    venue = paper(FRICTIONLESS)
    price(venue, 50_000.0)
    price(venue, 2_000.0, symbol=ETH)
    await venue.create_order(market("short", Side.SELL, 0.1, symbol=BTC))
    await venue.create_order(market("long", Side.BUY, 1.0, symbol=ETH))
    venue.drain()
    settled: list[FundingSettled] = []
    for hour in range(1, 20):  # a live-like feed: the accruing rate and the next settlement time, every hour
        ts = T0 + hour * MS_PER_HOUR
        due = T0 + (hour // 8 + 1) * 8 * MS_PER_HOUR
        for symbol, mark in ((BTC, 50_000.0), (ETH, 2_000.0)):
            venue.on_market(FundingObserved(ts, symbol, 0.0001, due))
            price(venue, mark, ts, symbol)
        settled += funding_in(venue.drain())
    assert [(f.symbol, f.ts) for f in settled] == [
        (BTC, T0 + 8 * MS_PER_HOUR),
        (ETH, T0 + 8 * MS_PER_HOUR),
        (BTC, T0 + 16 * MS_PER_HOUR),
        (ETH, T0 + 16 * MS_PER_HOUR),
    ]
    assert [round(f.amount, 9) for f in settled] == [0.5, -0.2, 0.5, -0.2]
    assert venue.account.funding_total == pytest.approx(0.6)
    assert (await venue.fetch_account()).wallet_balance == pytest.approx(50_000.6)


@pytest.mark.asyncio
async def test_a_replayed_rate_settles_at_its_own_time_once_even_when_seen_twice() -> None:
    venue = paper(FRICTIONLESS)
    price(venue, 50_000.0)
    await venue.create_order(market("short", Side.SELL, 0.1))
    settle_at = T0 + 8 * MS_PER_HOUR
    price(venue, 40_000.0, settle_at)
    venue.on_market(FundingObserved(settle_at, BTC, -0.0002, settle_at))
    venue.on_market(FundingObserved(settle_at, BTC, -0.0002, settle_at))
    [paid] = funding_in(venue.drain())
    assert (paid.ts, paid.mark_price) == (settle_at, 40_000.0)
    assert paid.amount == pytest.approx(-0.8)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4)), min_size=1, max_size=60))
@pytest.mark.asyncio
async def test_however_often_and_late_a_rate_is_observed_each_settlement_time_is_paid_exactly_once(
    sightings: list[tuple[int, int]],
) -> None:
    venue = paper(FRICTIONLESS)
    price(venue, 50_000.0)
    await venue.create_order(market("short", Side.SELL, 0.1))
    period = 8 * MS_PER_HOUR
    for hour, periods_ahead in sorted(sightings):  # seen at `hour`, announcing a settlement 0-4 periods on
        ts = T0 + hour * MS_PER_HOUR
        venue.on_market(FundingObserved(ts, BTC, 0.0001, ts - ts % period + periods_ahead * period))
    price(venue, 50_000.0, T0 + 60 * MS_PER_HOUR)
    paid = [f.ts for f in funding_in(venue.drain())]
    assert len(paid) == len(set(paid))
    assert paid == sorted(paid)
    assert all(t <= T0 + 60 * MS_PER_HOUR for t in paid)


@pytest.mark.asyncio
async def test_a_flat_account_pays_no_funding() -> None:
    venue = paper()
    price(venue, 50_000.0)
    venue.on_market(FundingObserved(T0, BTC, 0.0001, T0))
    assert venue.drain() == []


# ---- P&L ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_realised_and_unrealised_pnl_and_equity_follow_an_open_add_reduce_flip_close() -> None:
    venue = paper(FRICTIONLESS)
    steps = [  # price, side, qty → position, entry, realised, unrealised at that price
        (50_000.0, Side.BUY, 0.2, 0.2, 50_000.0, 0.0, 0.0),
        (53_000.0, Side.BUY, 0.1, 0.3, 51_000.0, 0.0, 600.0),
        (54_000.0, Side.SELL, 0.1, 0.2, 51_000.0, 300.0, 600.0),
        (52_000.0, Side.SELL, 0.5, -0.3, 52_000.0, 500.0, 0.0),
        (50_000.0, Side.BUY, 0.3, 0.0, 0.0, 1_100.0, 0.0),
    ]
    for n, (mark, side, qty, held, entry, realised, unrealised) in enumerate(steps):
        price(venue, mark, T0 + n)
        await venue.create_order(market(f"o{n}", side, qty))
        position = venue.account.position(BTC)
        assert position.qty == pytest.approx(held)
        assert position.entry_price == pytest.approx(entry)
        assert position.realized_pnl == pytest.approx(realised)
        assert venue.account.unrealized_pnl() == pytest.approx(unrealised)
        snapshot = await venue.fetch_account()
        assert snapshot.equity == pytest.approx(50_000.0 + realised + unrealised)
        assert snapshot.wallet_balance == pytest.approx(50_000.0 + realised)


@pytest.mark.asyncio
async def test_an_inverse_contract_is_margined_charged_and_settled_in_coin() -> None:
    coin = PaperSettings(currency="BTC", collateral=1.0, slippage_bps=0.0, impact_bps_per_10k=0.0)
    venue = PaperVenue(coin)
    await venue.load_instruments([BTC_INVERSE])
    price(venue, 50_000.0, symbol=BTC_INVERSE)
    await venue.create_order(market("b", Side.BUY, 10.0, symbol=BTC_INVERSE))  # 10 × 100 USD
    [opened] = fills_in(venue.drain())
    assert opened.fee_currency == "BTC"
    assert opened.fee == pytest.approx(1_000 / 50_000 * 4e-4)
    price(venue, 55_000.0, T0 + 1, symbol=BTC_INVERSE)
    snapshot = await venue.fetch_account()
    gain = 1_000 * (1 / 50_000 - 1 / 55_000)
    assert snapshot.currency == "BTC"
    assert snapshot.equity == pytest.approx(1.0 - opened.fee + gain)
    assert snapshot.initial_margin == pytest.approx(1_000 / 55_000 / 5)
    await venue.create_order(market("s", Side.SELL, 10.0, symbol=BTC_INVERSE))
    assert venue.account.realized_pnl == pytest.approx(gain)


# ---- expiry and liquidation ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_dated_contract_is_delivered_at_expiry_and_its_resting_orders_expire() -> None:
    venue = paper(FRICTIONLESS, BTC_MARCH)
    expiry = expiry_ms_of(BTC_MARCH)
    assert expiry is not None
    price(venue, 70_000.0, expiry - MS_PER_HOUR, BTC_MARCH)
    await venue.create_order(market("long", Side.BUY, 0.01, symbol=BTC_MARCH))
    bid = OrderRequest(ClientOrderId("bid"), BTC_MARCH, Side.BUY, 0.01, OrderType.LIMIT, 60_000.0)
    await venue.create_order(bid)
    venue.drain()
    price(venue, 71_000.0, expiry, BTC_MARCH)
    events = venue.drain()
    [expired] = updates_in(events)
    [delivered] = fills_in(events)
    assert (expired.client_id, expired.status) == ("bid", OrderStatus.EXPIRED)
    assert (delivered.side, delivered.qty, delivered.price) == (Side.SELL, 0.01, 71_000.0)
    assert delivered.ts == expiry
    assert venue.account.position(BTC_MARCH).realized_pnl == pytest.approx(10.0)
    assert venue.account.positions() == ()
    assert await refusal(venue, market("late", Side.BUY, 0.01, symbol=BTC_MARCH)) == "expired"


@pytest.mark.asyncio
async def test_an_account_whose_equity_falls_below_maintenance_is_liquidated_at_the_mark() -> None:
    venue = paper(replace(FRICTIONLESS, collateral=1_000.0, leverage=20.0))
    price(venue, 50_000.0)
    await venue.create_order(market("long", Side.BUY, 0.35))
    await venue.create_order(limit("tp", Side.SELL, 0.35, 55_000.0))
    venue.drain()
    liquidation = venue.account.liquidation_price(BTC)
    assert liquidation is not None
    assert 47_000.0 < liquidation < 47_500.0
    price(venue, 47_500.0, T0 + 1)
    assert venue.drain() == []
    price(venue, 47_100.0, T0 + 2)
    events = venue.drain()
    [cancelled] = updates_in(events)
    [closed] = fills_in(events)
    assert (cancelled.client_id, cancelled.status) == ("tp", OrderStatus.CANCELLED)
    assert cancelled.reason == "liquidation"
    assert (closed.side, closed.qty, closed.price) == (Side.SELL, 0.35, 47_100.0)
    assert venue.account.positions() == ()
    assert venue.account.wallet_balance == pytest.approx(1_000.0 - 0.35 * 2_900.0)


# ---- history and determinism --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fills_can_be_fetched_since_a_time_and_carry_unique_counting_trade_ids() -> None:
    venue = paper()
    for n in range(3):
        price(venue, 50_000.0, T0 + n * 1_000)
        await venue.create_order(market(f"o{n}", Side.BUY, 0.01))
    assert [f.trade_id for f in await venue.fetch_fills(0)] == ["1", "2", "3"]
    assert [f.client_id for f in await venue.fetch_fills(T0 + 1_000)] == ["o1", "o2"]


@pytest.mark.asyncio
async def test_two_venues_fed_the_same_events_and_orders_report_exactly_the_same() -> None:
    async def session() -> list[VenueEvent]:
        venue = paper()
        events: list[VenueEvent] = []
        for n, mark in enumerate([50_000.0, 50_500.0, 49_700.0, 51_200.0]):
            venue.on_market(BookObserved(T0 + n, BTC, mark - 0.1, 0.03, mark, 0.03))
            events.append(await venue.create_order(market(f"o{n}", Side.BUY if n % 2 else Side.SELL, 0.05)))
            events += venue.drain()
        return events

    assert await session() == await session()


# ---- invariant ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trade:
    side: Side
    lots: int  # of 0.001 BTC
    mark: float  # the price observed before the order


@settings(max_examples=60)
@given(
    st.lists(
        st.builds(Trade, st.sampled_from(Side), st.integers(4, 300), st.floats(30_000, 70_000)),
        min_size=1,
        max_size=25,
    )
)
@pytest.mark.asyncio
async def test_any_sequence_of_orders_conserves_money_and_the_position_is_the_sum_of_its_fills(
    trades: list[Trade],
) -> None:
    venue = paper(PaperSettings(collateral=10_000_000.0))
    instrument = default_instrument(BTC)
    fills: list[Fill] = []
    for n, trade in enumerate(trades):
        price(venue, trade.mark, T0 + n * MS_PER_HOUR)
        venue.on_market(FundingObserved(T0 + n * MS_PER_HOUR, BTC, 0.0001, T0 + n * MS_PER_HOUR))
        await venue.create_order(market(f"o{n}", trade.side, trade.lots * 0.001))
        fills += fills_in(venue.drain())
    last = trades[-1].mark
    price_pnl = sum(instrument.pnl(f.signed_qty, f.price, last) for f in fills)
    fees = sum(f.fee for f in fills)
    snapshot = await venue.fetch_account()
    expected = 10_000_000.0 + price_pnl - fees + venue.account.funding_total
    assert snapshot.equity == pytest.approx(expected, rel=1e-12, abs=1e-6)
    assert venue.account.position(BTC).qty == pytest.approx(sum(f.signed_qty for f in fills), abs=1e-9)
