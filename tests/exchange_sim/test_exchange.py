from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_HOUR, BookObserved, FundingObserved, PriceObserved, Symbol
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.settings import SimSettings

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SPOT, PERP = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


def make_exchange(**overrides: Any) -> SimExchange:
    exchange = SimExchange(SimSettings(bases=("BTC",), quarterlies=True, **overrides), T0)
    price(exchange, T0, 30_000.0)
    return exchange


def price(exchange: SimExchange, ts: int, value: float) -> None:
    exchange.on_event(PriceObserved(ts, SPOT, value))
    exchange.on_event(PriceObserved(ts, PERP, value))


def book(exchange: SimExchange, ts: int, bid: float, bid_size: float, ask: float, ask_size: float) -> None:
    exchange.on_event(BookObserved(ts, PERP, bid, bid_size, ask, ask_size))


def order(exchange: SimExchange, side: str, qty: str, **extra: str) -> Any:
    kind = {"type": "LIMIT", "timeInForce": "GTC"} if "price" in extra else {"type": "MARKET"}
    params = {"symbol": extra.pop("symbol", "BTCUSDT"), "side": side, "quantity": qty, **kind, **extra}
    return exchange.new_order(params)


def rejection(exchange: SimExchange, side: str, qty: str, **extra: str) -> tuple[int, str]:
    with pytest.raises(BinanceError) as caught:
        order(exchange, side, qty, **extra)
    return caught.value.code, caught.value.msg


def test_a_market_order_walks_the_depth_and_expires_what_the_book_could_not_fill() -> None:
    exchange = make_exchange(book_levels=2, level_notional=3_010.0)
    book(exchange, T0 + 1, 29_999.9, 0.05, 30_000.0, 0.05)
    placed = order(exchange, "BUY", "0.3", newClientOrderId="walk")
    assert placed.status == "EXPIRED"
    assert placed.executed_qty == pytest.approx(0.15)
    assert [(t.qty, t.price) for t in exchange.trades()] == [(0.05, 30_000.0), (0.1, 30_000.1)]
    assert exchange.account.position(PERP).qty == pytest.approx(0.15)


def test_a_crossing_limit_order_takes_up_to_its_price_then_rests_and_fills_later_as_maker() -> None:
    exchange = make_exchange(book_levels=3, level_notional=3_000.0)
    book(exchange, T0 + 1, 29_999.9, 0.05, 30_000.0, 0.05)
    placed = order(exchange, "BUY", "0.2", price="30000.0", newClientOrderId="limit")
    assert (placed.status, placed.executed_qty) == ("PARTIALLY_FILLED", 0.05)
    book(exchange, T0 + 2, 29_990.0, 1.0, 29_995.0, 0.1)
    assert (placed.status, placed.executed_qty) == ("PARTIALLY_FILLED", pytest.approx(0.15))
    book(exchange, T0 + 3, 29_980.0, 1.0, 29_985.0, 1.0)
    assert placed.status == "FILLED"
    makers = [t for t in exchange.trades() if t.maker]
    assert [t.price for t in makers] == [30_000.0, 30_000.0]
    assert makers[0].commission == pytest.approx(0.1 * 30_000.0 * 2 / 1e4)


def test_an_ioc_remainder_expires_and_a_fok_that_cannot_fill_entirely_fills_nothing() -> None:
    exchange = make_exchange(book_levels=1, level_notional=3_000.0)
    book(exchange, T0 + 1, 29_999.9, 0.05, 30_000.0, 0.05)
    ioc = order(exchange, "BUY", "0.1", price="30000.0", timeInForce="IOC")
    fok = order(exchange, "BUY", "0.1", price="30000.0", timeInForce="FOK")
    assert (ioc.status, ioc.executed_qty) == ("EXPIRED", 0.05)
    assert (fok.status, fok.executed_qty) == ("EXPIRED", 0.0)


def test_user_events_report_new_then_each_trade_then_the_account() -> None:
    exchange = make_exchange()
    exchange.drain_user_events()
    order(exchange, "SELL", "0.01", newClientOrderId="events")
    events = exchange.drain_user_events()
    kinds = [(e["e"], e["o"]["x"] if "o" in e else e["a"]["m"]) for e in events]
    assert kinds == [
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"),
        ("ACCOUNT_UPDATE", "ORDER"),
    ]
    assert events[1]["o"]["c"] == "events"
    assert events[2]["a"]["P"][0]["pa"] == "-0.010"


def test_a_client_order_id_is_refused_while_its_order_is_open_and_free_again_once_it_is_final() -> None:
    exchange = make_exchange()
    resting = order(exchange, "BUY", "0.01", price="29000.0", newClientOrderId="reused")
    assert rejection(exchange, "BUY", "0.01", newClientOrderId="reused")[0] == -4116
    exchange.cancel_order({"symbol": "BTCUSDT", "origClientOrderId": "reused"})
    again = order(exchange, "BUY", "0.01", newClientOrderId="reused")  # Binance: unique among open orders only
    assert (resting.status, again.status) == ("CANCELED", "FILLED")
    assert exchange.query_order({"symbol": "BTCUSDT", "origClientOrderId": "reused"}) is again
    assert order(exchange, "SELL", "0.01", newClientOrderId="reused").status == "FILLED"  # a filled one's id too


def test_a_reduce_only_order_that_would_add_to_the_position_is_refused() -> None:
    exchange = make_exchange()
    assert rejection(exchange, "SELL", "0.01", reduceOnly="true")[0] == -2022
    order(exchange, "BUY", "0.01")
    assert rejection(exchange, "BUY", "0.01", reduceOnly="true")[0] == -2022
    assert rejection(exchange, "SELL", "0.02", reduceOnly="true")[0] == -2022
    assert order(exchange, "SELL", "0.01", reduceOnly="true").status == "FILLED"
    assert exchange.account.position(PERP).qty == 0


def test_an_order_beyond_the_margin_is_refused_with_2019_and_nothing_happens() -> None:
    exchange = make_exchange(collateral=1_000.0, leverage=5)
    assert rejection(exchange, "BUY", "0.2")[0] == -2019
    assert exchange.trades() == []
    assert order(exchange, "BUY", "0.1").status == "FILLED"


def test_order_numbers_breaking_the_filters_are_refused_naming_the_filter() -> None:
    exchange = make_exchange()
    assert rejection(exchange, "BUY", "0.0015") == (-1111, "Precision is over the maximum defined for this asset.")
    assert "LOT_SIZE" in rejection(exchange, "BUY", "5000")[1]  # above maxQty
    assert "PRICE_FILTER" in rejection(exchange, "BUY", "0.01", price="29000.05")[1]
    assert rejection(exchange, "BUY", "0.001")[0] == -4164  # 30 USDT < the 100 USDT minimum notional
    assert rejection(exchange, "BUY", "0.01", price="30010.0", timeInForce="GTX")[0] == -5022
    assert rejection(exchange, "BUY", "0.01", symbol="DOGEUSDT")[0] == -1121


def test_cancelling_a_final_order_is_2011_and_querying_an_unknown_one_is_2013() -> None:
    exchange = make_exchange()
    order(exchange, "BUY", "0.01", newClientOrderId="done")
    with pytest.raises(BinanceError) as cancel:
        exchange.cancel_order({"symbol": "BTCUSDT", "origClientOrderId": "done"})
    with pytest.raises(BinanceError) as query:
        exchange.query_order({"symbol": "BTCUSDT", "origClientOrderId": "never-sent"})
    assert (cancel.value.code, query.value.code) == (-2011, -2013)


def test_a_short_receives_positive_funding_at_the_settlement() -> None:
    exchange = make_exchange()
    order(exchange, "SELL", "1")
    settle_at = T0 + 8 * MS_PER_HOUR
    exchange.on_event(FundingObserved(T0 + 5, PERP, 0.0005, settle_at))
    exchange.drain_user_events()
    price(exchange, settle_at + 1, 30_000.0)
    assert exchange.account.funding_total == pytest.approx(30_000.0 * 0.0005)
    reasons = [e["a"]["m"] for e in exchange.drain_user_events() if e["e"] == "ACCOUNT_UPDATE"]
    assert reasons == ["FUNDING_FEE"]


def test_a_dated_contract_delivers_at_the_index_and_expires_its_resting_orders() -> None:
    exchange = make_exchange()
    march = exchange.catalog.by_id("BTCUSDT_260327")
    assert march is not None
    order(exchange, "BUY", "0.01", symbol=march.id)
    resting = order(exchange, "BUY", "0.01", symbol=march.id, price="20000.0")
    price(exchange, march.delivery_ms - 60_000, 32_000.0)
    price(exchange, march.delivery_ms + 60_000, 33_000.0)
    assert exchange.account.position(march.symbol).qty == 0
    assert resting.status == "EXPIRED"
    assert rejection(exchange, "BUY", "0.01", symbol=march.id)[0] == -4140
    assert exchange.catalog.by_id("BTCUSDT_260925") is not None


def test_a_crash_through_maintenance_margin_liquidates_with_an_autoclose_order() -> None:
    exchange = make_exchange(collateral=1_000.0, leverage=20)
    order(exchange, "BUY", "0.6")
    order(exchange, "BUY", "0.05", price="25000.0", newClientOrderId="resting")
    price(exchange, T0 + 60_000, 28_400.0)
    assert exchange.account.position(PERP).qty == 0
    assert exchange.liquidations == 1
    liquidation = [o for o in exchange.orders() if o.orig_type == "LIQUIDATION"]
    assert [(o.client_id.startswith("autoclose-"), o.status) for o in liquidation] == [(True, "FILLED")]
    assert exchange.query_order({"symbol": "BTCUSDT", "origClientOrderId": "resting"}).status == "CANCELED"


moves = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(min_value=4, max_value=60), st.floats(-0.02, 0.02)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60)
@given(moves)
def test_positions_fees_and_order_fills_always_add_up_to_the_trades(
    steps: list[tuple[str, int, float]],
) -> None:
    exchange = make_exchange(collateral=1_000_000.0, book_levels=3, level_notional=30_000.0)
    last, refusals = 30_000.0, set()
    for n, (side, lots, change) in enumerate(steps, start=1):
        last = round(last * (1 + change), 1)
        price(exchange, T0 + n * 60_000, last)
        try:
            order(exchange, side, f"{lots * 0.01:.3f}")
        except BinanceError as refused:
            refusals.add(refused.code)
    assert refusals <= {-2019, -4164}
    trades = exchange.trades()
    assert exchange.account.position(PERP).qty == pytest.approx(sum(t.side.sign * t.qty for t in trades), abs=1e-9)
    assert exchange.account.fees_paid == pytest.approx(sum(t.commission for t in trades))
    assert exchange.account.realized_pnl == pytest.approx(sum(t.realized_pnl for t in trades))
    for placed in exchange.orders():
        assert placed.executed_qty == pytest.approx(sum(t.qty for t in trades if t.order_id == placed.order_id))
