"""Where simulated orders fill: walking modelled depth, the slippage model, and resting maker orders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import BookObserved, ClientOrderId, Side, Symbol
from bot.execution.market_rules import default_instrument, is_multiple
from bot.venues.simulation.book import (
    BookModel,
    MakerFill,
    PostOnlyWouldCross,
    RestingOrder,
    RestingOrders,
    WhenDepthRunsOut,
    crosses,
    slipped_price,
    taker_fills,
    takes_liquidity,
)

BTC = Symbol("BTC/USDT:USDT")
INSTRUMENT = default_instrument(BTC)  # lot 0.001, tick 0.1


def model(
    levels: int = 3,
    spacing_ticks: float = 1.0,
    level_size_notional: float | None = None,
    when_exhausted: WhenDepthRunsOut = WhenDepthRunsOut.LEAVE_UNFILLED,
) -> BookModel:
    return BookModel(INSTRUMENT, levels, spacing_ticks, level_size_notional, when_exhausted)


def resting(cid: str, side: Side, qty: float, price: float) -> RestingOrder:
    return RestingOrder(ClientOrderId(cid), BTC, side, qty, price, INSTRUMENT.lot_step)


# ---- walking the book ---------------------------------------------------------------------------


def test_a_buy_walks_up_the_asks_level_by_level() -> None:
    fills = model().walk(Side.BUY, 0.7, 49_999.9, 50_000.0, 1.0, 0.3)
    assert fills == [(0.3, 50_000.0), (0.3, 50_000.1), (0.1, 50_000.2)]


def test_a_sell_walks_down_the_bids() -> None:
    fills = model().walk(Side.SELL, 0.5, 49_999.9, 50_000.0, 0.2, 1.0)
    assert fills == [(0.2, 49_999.9), (0.2, 49_999.8), (0.1, 49_999.7)]


def test_what_the_levels_cannot_fill_stays_unfilled_by_default() -> None:
    fills = model(levels=2).walk(Side.BUY, 1.0, 49_999.9, 50_000.0, 0.3, 0.3)
    assert fills == [(0.3, 50_000.0), (0.3, 50_000.1)]


def test_a_sweep_fills_the_remainder_one_level_beyond_the_last() -> None:
    sweeping = model(levels=2, when_exhausted=WhenDepthRunsOut.SWEEP)
    assert sweeping.walk(Side.BUY, 1.0, 49_999.9, 50_000.0, 0.3, 0.3)[-1] == (0.4, 50_000.2)


def test_a_limit_price_stops_the_walk_even_when_sweeping() -> None:
    bounded = model(levels=5, when_exhausted=WhenDepthRunsOut.SWEEP)
    fills = bounded.walk(Side.BUY, 1.0, 49_999.9, 50_000.0, 0.3, 0.3, limit_price=50_000.1)
    assert fills == [(0.3, 50_000.0), (0.3, 50_000.1)]


def test_deeper_levels_hold_the_configured_notional_in_whole_lots() -> None:
    deep = model(levels=3, level_size_notional=10_000.0, spacing_ticks=10)
    fills = deep.walk(Side.BUY, 1.0, 49_999.0, 50_000.0, 0.05, 0.05)
    assert fills == [(0.05, 50_000.0), (0.199, 50_001.0), (0.199, 50_002.0)]  # 10,000 / 50,001 = 0.19999…


def test_a_book_model_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="levels"):
        model(levels=0)
    with pytest.raises(ValueError, match="level_size_notional"):
        model(level_size_notional=0.0)


@given(
    side=st.sampled_from([Side.BUY, Side.SELL]),
    lots=st.integers(1, 5_000),
    top_lots=st.integers(0, 800),
    levels=st.integers(1, 8),
    sweep=st.booleans(),
)
def test_a_walk_never_overfills_and_its_prices_only_get_worse(
    side: Side, lots: int, top_lots: int, levels: int, sweep: bool
) -> None:
    exhausted = WhenDepthRunsOut.SWEEP if sweep else WhenDepthRunsOut.LEAVE_UNFILLED
    walker = model(levels=levels, when_exhausted=exhausted)
    qty, size = lots * 0.001, top_lots * 0.001
    fills = walker.walk(side, qty, 49_999.9, 50_000.0, size, size)
    assert sum(q for q, _ in fills) <= qty + 1e-9
    assert all(q > 0 and is_multiple(q, 0.001) for q, _ in fills)
    prices = [p for _, p in fills]
    assert prices == sorted(prices, reverse=side is Side.SELL)
    if sweep:
        assert sum(q for q, _ in fills) == pytest.approx(qty)


# ---- without a book -----------------------------------------------------------------------------


def test_without_a_book_a_taker_pays_fixed_slippage_plus_impact_rounded_against_it() -> None:
    # 1 bp + 0.5 bp per 10,000 of a 5,000 notional = 1.25 bp of 50,000 = 6.25
    assert slipped_price(Side.BUY, 50_000.0, 5_000.0, 1.0, 0.5, 0.1) == 50_006.3
    assert slipped_price(Side.SELL, 50_000.0, 5_000.0, 1.0, 0.5, 0.1) == 49_993.7
    assert slipped_price(Side.BUY, 50_000.0, 5_000.0, 1.0, 0.5) == pytest.approx(50_006.25)


def test_a_price_already_on_the_tick_is_not_pushed_a_tick_further() -> None:
    assert slipped_price(Side.BUY, 50_000.0, 0.0, 2.0, 0.0, 0.1) == 50_010.0


def test_taker_fills_use_the_slippage_model_when_the_book_shows_no_size() -> None:
    empty = BookObserved(1, BTC, 49_999.9, 0.0, 50_000.0, 0.0)
    assert taker_fills(model(), Side.BUY, 0.1, 50_000.0, empty, 1.0, 0.0) == [(0.1, 50_005.0)]
    capped = taker_fills(model(), Side.BUY, 0.1, 50_000.0, None, 1.0, 0.0, limit_price=50_002.0)
    assert capped == [(0.1, 50_002.0)]


def test_taker_fills_walk_the_book_when_it_shows_size() -> None:
    book = BookObserved(1, BTC, 49_999.9, 0.1, 50_000.0, 0.1)
    fills = taker_fills(model(), Side.SELL, 0.15, 50_000.0, book, 1.0, 0.0)
    assert fills == [(0.1, 49_999.9), (0.05, 49_999.8)]


def test_a_limit_takes_liquidity_when_it_reaches_the_opposite_best_price() -> None:
    assert crosses(Side.BUY, 50_000.0, 49_999.9, 50_000.0)
    assert not crosses(Side.BUY, 49_999.9, 49_999.9, 50_000.0)
    assert crosses(Side.SELL, 49_999.9, 49_999.9, 50_000.0)
    assert takes_liquidity(Side.BUY, 50_000.0, 50_000.0, None)
    assert not takes_liquidity(Side.SELL, 50_000.1, 50_000.0, None)


# ---- resting orders -----------------------------------------------------------------------------


def test_a_trade_through_a_resting_limit_fills_it_in_full_at_its_own_price() -> None:
    orders = RestingOrders()
    orders.add(resting("b", Side.BUY, 0.5, 49_000.0))
    orders.add(resting("s", Side.SELL, 0.5, 51_000.0))
    assert orders.match_price(BTC, 49_000.0) == []  # touching is not trading through
    assert orders.match_price(BTC, 48_000.0) == [MakerFill(ClientOrderId("b"), BTC, Side.BUY, 0.5, 49_000.0)]
    assert orders.match_price(BTC, 52_000.0) == [MakerFill(ClientOrderId("s"), BTC, Side.SELL, 0.5, 51_000.0)]
    assert len(orders) == 0


def test_a_book_reaching_resting_bids_fills_them_best_price_then_oldest_first_up_to_the_size_shown() -> None:
    orders = RestingOrders()
    orders.add(resting("old", Side.BUY, 0.2, 49_990.0))
    orders.add(resting("best", Side.BUY, 0.2, 49_995.0))
    orders.add(resting("young", Side.BUY, 0.2, 49_990.0))
    fills = orders.match_book(BTC, 49_980.0, 49_985.0, 1.0, 0.35)
    filled = [(f.client_id, f.qty, f.price) for f in fills]
    assert filled == [("best", 0.2, 49_995.0), ("old", 0.15, 49_990.0)]
    remaining = orders.get(ClientOrderId("old"))
    assert remaining is not None
    assert remaining.qty == pytest.approx(0.05)
    assert [o.client_id for o in orders.for_symbol(BTC)] == ["old", "young"]


def test_a_book_size_of_zero_means_unknown_and_fills_a_reached_order_in_full() -> None:
    orders = RestingOrders()
    orders.add(resting("s", Side.SELL, 0.4, 50_010.0))
    assert [f.qty for f in orders.match_book(BTC, 50_010.0, 50_010.5, 0.0, 1.0)] == [0.4]


def test_a_post_only_order_that_would_take_is_refused_and_one_that_would_not_rests() -> None:
    orders = RestingOrders()
    with pytest.raises(PostOnlyWouldCross):
        orders.add(resting("x", Side.BUY, 0.1, 50_000.0), post_only=True, bid=49_999.9, ask=50_000.0)
    orders.add(resting("y", Side.BUY, 0.1, 49_999.9), post_only=True, bid=49_999.9, ask=50_000.0)
    assert ClientOrderId("x") not in orders
    assert ClientOrderId("y") in orders


def test_a_client_id_rests_only_once_and_cancelling_removes_it() -> None:
    orders = RestingOrders()
    orders.add(resting("a", Side.SELL, 0.1, 50_100.0))
    with pytest.raises(ValueError, match="already resting"):
        orders.add(resting("a", Side.SELL, 0.1, 50_100.0))
    cancelled = orders.cancel(ClientOrderId("a"))
    assert cancelled is not None
    assert cancelled.seq == 1
    assert orders.cancel(ClientOrderId("a")) is None
    assert orders.match_price(BTC, 60_000.0) == []


def test_cancelling_a_symbol_removes_only_its_orders() -> None:
    orders = RestingOrders()
    orders.add(resting("a", Side.SELL, 0.1, 50_100.0))
    orders.add(RestingOrder(ClientOrderId("e"), Symbol("ETH/USDT:USDT"), Side.BUY, 1.0, 2_000.0))
    assert [o.client_id for o in orders.cancel_symbol(BTC)] == ["a"]
    assert [o.client_id for o in orders] == ["e"]
