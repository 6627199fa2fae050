"""ccxt structures → domain values: good payloads parse exactly, malformed ones raise MALFORMED and nothing else."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import (
    BookObserved,
    ClientOrderId,
    Fill,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderStatus,
    PriceObserved,
    Side,
    Symbol,
    TradeId,
)
from bot.venues.ccxt_parse import (
    MALFORMED,
    MAX_MAGNITUDE,
    BadPayload,
    account_from,
    book_from,
    client_id_of,
    fill_from_trade,
    funding_from_rate,
    funding_from_ticker,
    funding_settled_from,
    index_price_from,
    instrument_from_market,
    mark_price_from,
    order_update_from,
)

T0 = 1_767_225_600_000
PERP = Symbol("BTC/USDT:USDT")

MARK = {"symbol": PERP, "timestamp": T0, "markPrice": 30_000.0, "indexPrice": 29_990.0,
        "info": {"e": "markPriceUpdate", "r": "0.00010000", "T": T0 + 8 * 3_600_000}}  # fmt: skip
BOOK = {"symbol": PERP, "timestamp": T0, "bid": 29_999.9, "bidVolume": 1.5, "ask": 30_000.0, "askVolume": 2.0}
ORDER = {"id": "1000001", "clientOrderId": "hb-1", "symbol": PERP, "status": "closed", "filled": 0.01,
         "average": 30_000.0, "timestamp": T0, "lastUpdateTimestamp": T0 + 5, "info": {"status": "FILLED"}}  # fmt: skip
TRADE = {"id": "7", "order": "1000001", "symbol": PERP, "side": "buy", "amount": 0.01, "price": 30_000.0,
         "timestamp": T0, "fee": {"cost": 0.12, "currency": "USDT"}, "takerOrMaker": "taker",
         "info": {"c": "hb-1"}}  # fmt: skip

# what a malformed field looks like on the wire, after ccxt's own parsing
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([math.nan, math.inf, -math.inf, "NaN", "abc", "", "1e400", -1.0, -1e-9, 1e300, [], {}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.integers(min_value=-(10**20), max_value=10**20),
)


def spoiled(payload: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """`payload` with `key` set to `value`, or removed when value is the string 'MISSING'."""
    copy = dict(payload)
    if value == "MISSING":
        copy.pop(key, None)
    else:
        copy[key] = value
    return copy


def sound_price(event: PriceObserved | BookObserved) -> bool:
    prices = [event.price] if isinstance(event, PriceObserved) else [event.bid, event.ask]
    return all(math.isfinite(p) and 0 < p <= MAX_MAGNITUDE for p in prices)


# ---- good payloads ------------------------------------------------------------------------------


def test_a_mark_price_update_gives_the_mark_the_index_and_the_funding() -> None:
    assert mark_price_from(MARK) == PriceObserved(T0, PERP, 30_000.0)
    assert index_price_from(MARK, Symbol("BTC/USDT")) == PriceObserved(T0, Symbol("BTC/USDT"), 29_990.0)
    assert funding_from_ticker(MARK) == FundingObserved(T0, PERP, 0.0001, T0 + 8 * 3_600_000)


def test_a_dated_contract_carries_no_funding() -> None:
    dated = {**MARK, "info": {"e": "markPriceUpdate", "r": "", "T": 0}}
    assert funding_from_ticker(dated) is None
    assert funding_from_rate({"symbol": PERP, "fundingRate": None}, T0) is None


def test_a_funding_rate_structure_gives_the_rate_its_settlement_time_and_interval() -> None:
    rate = {
        "symbol": PERP,
        "fundingRate": -0.0002,
        "fundingTimestamp": T0 + 3_600_000,
        "timestamp": T0,
        "interval": "4h",
    }
    assert funding_from_rate(rate, 0) == FundingObserved(T0, PERP, -0.0002, T0 + 3_600_000, 4.0)


def test_an_order_answer_becomes_an_order_update_with_our_client_id() -> None:
    update = order_update_from(ORDER, now_ms=0)
    assert (update.client_id, update.status, update.filled_qty, update.avg_price) == (
        "hb-1",
        OrderStatus.FILLED,
        0.01,
        30_000.0,
    )
    assert (update.ts, update.exchange_id) == (T0 + 5, "1000001")


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("open", 0.0, OrderStatus.ACCEPTED),
        ("open", 0.004, OrderStatus.PARTIALLY_FILLED),
        (None, 0.0, OrderStatus.ACCEPTED),
        ("closed", 0.01, OrderStatus.FILLED),
        ("canceled", 0.004, OrderStatus.CANCELLED),
        ("expired", 0.0, OrderStatus.EXPIRED),
        ("rejected", 0.0, OrderStatus.REJECTED),
    ],
)
def test_ccxt_order_statuses_map_to_ours(status: str | None, filled: float, expected: OrderStatus) -> None:
    assert order_update_from({**ORDER, "status": status, "filled": filled}, 0).status is expected


def test_a_trade_becomes_a_fill_and_finds_our_client_id_by_exchange_order_id_when_it_lacks_one() -> None:
    expected = Fill(T0, TradeId("7"), ClientOrderId("hb-1"), PERP, Side.BUY, 0.01, 30_000.0, 0.12, "USDT")
    assert fill_from_trade(TRADE) == expected
    bare = {**TRADE, "info": {}}
    assert fill_from_trade(bare, {"1000001": ClientOrderId("hb-1")}).client_id == "hb-1"
    with pytest.raises(BadPayload, match="client order id"):
        client_id_of(bare, {})


def test_a_binance_market_becomes_an_instrument_with_its_steps() -> None:
    market = {"symbol": "BTC/USDT:USDT-260327", "base": "BTC", "quote": "USDT", "settle": "USDT", "type": "future",
              "inverse": False, "contractSize": 1, "precision": {"amount": 0.001, "price": 0.1},
              "limits": {"amount": {"min": 0.001}, "cost": {"min": 100}}, "expiry": 1_774_598_400_000}  # fmt: skip
    instrument = instrument_from_market(market)
    assert instrument == Instrument(
        Symbol("BTC/USDT:USDT-260327"), "BTC", "USDT", InstrumentKind.FUTURE, "USDT", False, 1.0, 0.001, 0.1,
        0.001, 100.0, 1_774_598_400_000,
    )  # fmt: skip
    decimal_places = instrument_from_market({**market, "precision": {"amount": 3, "price": 1}}, precision_mode=2)
    assert (decimal_places.lot_step, decimal_places.tick_size) == (0.001, 0.1)


def test_an_account_is_read_from_binance_totals_or_else_from_the_wallet_and_positions() -> None:
    positions = [{"symbol": PERP, "contracts": 0.1, "side": "short", "entryPrice": 30_000.0, "unrealizedPnl": 100.0,
                  "initialMargin": 600.0, "maintenanceMargin": 15.0}]  # fmt: skip
    totals = {"totalWalletBalance": "1000", "totalMarginBalance": "1100", "totalInitialMargin": "600",
              "totalMaintMargin": "15"}  # fmt: skip
    binance = account_from({"info": totals}, positions, "USDT", T0)
    generic = account_from({"USDT": {"total": 1000.0}}, positions, "USDT", T0)
    assert (binance.wallet_balance, binance.equity, binance.initial_margin, binance.maintenance_margin) == (
        1000,
        1100,
        600,
        15,
    )
    assert (generic.wallet_balance, generic.equity, generic.initial_margin, generic.maintenance_margin) == (
        1000,
        1100,
        600,
        15,
    )
    assert [(p.symbol, p.qty) for p in generic.positions] == [(PERP, -0.1)]


@pytest.mark.parametrize(("inverse", "contract_size", "qty"), [(False, 1.0, 0.01), (True, 100.0, -300.0)])
def test_a_funding_payment_tells_the_position_it_was_paid_on(inverse: bool, contract_size: float, qty: float) -> None:
    instrument = Instrument(PERP, "BTC", "USDT", InstrumentKind.PERPETUAL, "USDT", inverse, contract_size, 0.001)
    paid = -qty * contract_size * 0.0004 * (1 / 30_000.0 if inverse else 30_000.0)  # longs pay a positive rate
    payment = {"symbol": PERP, "timestamp": T0, "amount": paid}
    settled = funding_settled_from(payment, 0.0004, 30_000.0, instrument, "USDT")
    assert settled.position_qty == pytest.approx(qty)
    assert (settled.amount, settled.rate, settled.mark_price) == (paid, 0.0004, 30_000.0)


# ---- malformed payloads: dropped, never anything else -------------------------------------------


@given(key=st.sampled_from(["timestamp", "markPrice", "symbol"]), value=GARBAGE | st.just("MISSING"))
def test_a_mark_price_with_any_bad_field_is_malformed_or_still_sound(key: str, value: Any) -> None:
    payload = spoiled(MARK, key, value)
    try:
        event = mark_price_from(payload)
    except MALFORMED:
        return
    assert sound_price(event)


@given(
    key=st.sampled_from(["timestamp", "bid", "ask", "bidVolume", "askVolume", "symbol"]),
    value=GARBAGE | st.just("MISSING"),
)
def test_a_book_with_any_bad_field_is_malformed_or_still_sound(key: str, value: Any) -> None:
    try:
        book = book_from(spoiled(BOOK, key, value))
    except MALFORMED:
        return
    assert sound_price(book)
    assert book.bid <= book.ask
    assert 0 <= book.bid_size <= MAX_MAGNITUDE
    assert 0 <= book.ask_size <= MAX_MAGNITUDE


@given(key=st.sampled_from(["r", "T"]), value=GARBAGE | st.just("MISSING"))
def test_funding_with_any_bad_field_is_malformed_absent_or_plausible(key: str, value: Any) -> None:
    payload = {**MARK, "info": spoiled(MARK["info"], key, value)}  # type: ignore[arg-type]  # MARK's info is a dict
    try:
        funding = funding_from_ticker(payload)
    except MALFORMED:
        return
    if funding is not None:
        assert abs(funding.rate) <= 0.05
        assert funding.next_funding_ts > 0


@given(
    key=st.sampled_from(["id", "symbol", "side", "amount", "price", "timestamp", "fee"]),
    value=GARBAGE | st.just("MISSING"),
)
def test_a_trade_with_any_bad_field_is_malformed_or_a_sound_fill(key: str, value: Any) -> None:
    try:
        fill = fill_from_trade(spoiled(TRADE, key, value))
    except MALFORMED:
        return
    assert 0 < fill.qty <= MAX_MAGNITUDE
    assert 0 < fill.price <= MAX_MAGNITUDE
    assert math.isfinite(fill.fee)


@given(
    key=st.sampled_from(["status", "filled", "average", "symbol", "clientOrderId", "lastUpdateTimestamp"]),
    value=GARBAGE | st.just("MISSING"),
)
def test_an_order_with_any_bad_field_is_malformed_or_a_sound_update(key: str, value: Any) -> None:
    try:
        update = order_update_from(spoiled(ORDER, key, value), now_ms=T0)
    except MALFORMED:
        return
    assert 0 <= update.filled_qty <= MAX_MAGNITUDE
    assert 0 <= update.avg_price <= MAX_MAGNITUDE
    assert update.client_id
    assert update.ts > 0


@given(payload=st.dictionaries(st.sampled_from([*MARK, "last", "bid", "ask"]), GARBAGE, max_size=6))
def test_an_arbitrary_ticker_never_raises_anything_but_malformed(payload: dict[str, Any]) -> None:
    for parse in (mark_price_from, book_from, funding_from_ticker):
        with contextlib.suppress(*MALFORMED):
            parse(payload)
