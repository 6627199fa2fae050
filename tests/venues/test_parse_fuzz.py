"""Hostile REST and stream payloads: whatever arrives, parsing gives a sound value, None, or MALFORMED.

Good ccxt structures are mutated many fields at a time: keys deleted (truncated messages), values replaced by
any JSON (wrong types, NaN, infinities, negative or huge numbers, nested lists and objects), extra keys added.
No other exception may escape, no event may carry a non-finite or non-positive price, and the venue counts
every order or trade it drops.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.config import VenueSection
from bot.domain import BookObserved, Fill, FundingObserved, Instrument, OrderUpdate, PriceObserved, Symbol
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_parse import (
    MALFORMED,
    MAX_MAGNITUDE,
    account_from,
    book_from,
    fill_from_trade,
    funding_from_rate,
    funding_from_ticker,
    index_price_from,
    instrument_from_market,
    mark_price_from,
    position_from,
)
from bot.venues.ccxt_venue import CcxtVenue

T0 = 1_767_225_600_000
PERP = Symbol("BTC/USDT:USDT")
EXAMPLES = 250

MARK: dict[str, Any] = {"symbol": PERP, "timestamp": T0, "markPrice": 30_000.0, "indexPrice": 29_990.0,
                        "info": {"e": "markPriceUpdate", "r": "0.00010000", "T": T0 + 8 * 3_600_000}}  # fmt: skip
BOOK: dict[str, Any] = {"symbol": PERP, "timestamp": T0, "bid": 29_999.9, "bidVolume": 1.5, "ask": 30_000.0,
                        "askVolume": 2.0}  # fmt: skip
RATE: dict[str, Any] = {"symbol": PERP, "fundingRate": 0.0001, "fundingTimestamp": T0 + 3_600_000,
                        "timestamp": T0, "interval": "8h"}  # fmt: skip
ORDER: dict[str, Any] = {"id": "1000001", "clientOrderId": "hb-1", "symbol": PERP, "status": "open",
                         "filled": 0.004, "average": 30_000.0, "timestamp": T0, "lastUpdateTimestamp": T0 + 5,
                         "info": {"status": "PARTIALLY_FILLED", "c": "hb-1"}}  # fmt: skip
TRADE: dict[str, Any] = {"id": "7", "order": "1000001", "symbol": PERP, "side": "buy", "amount": 0.01,
                         "price": 30_000.0, "timestamp": T0, "fee": {"cost": 0.12, "currency": "USDT"},
                         "takerOrMaker": "taker", "info": {"c": "hb-1"}}  # fmt: skip
MARKET: dict[str, Any] = {"symbol": "BTC/USDT:USDT-260327", "base": "BTC", "quote": "USDT", "settle": "USDT",
                          "type": "future", "inverse": False, "contractSize": 1,
                          "precision": {"amount": 0.001, "price": 0.1},
                          "limits": {"amount": {"min": 0.001}, "cost": {"min": 100}},
                          "expiry": 1_774_598_400_000}  # fmt: skip
POSITION: dict[str, Any] = {"symbol": PERP, "contracts": 0.1, "side": "short", "entryPrice": 30_000.0,
                            "unrealizedPnl": 100.0, "initialMargin": 600.0, "maintenanceMargin": 15.0}  # fmt: skip
BINANCE_TOTALS = {"totalWalletBalance": "1000", "totalMarginBalance": "1100", "totalInitialMargin": "600",
                  "totalMaintMargin": "15"}  # fmt: skip
BALANCE: dict[str, Any] = {"USDT": {"total": 1000.0}, "info": BINANCE_TOTALS}

# what a hostile or broken exchange can put in a field once ccxt has decoded the JSON
TRICKY = st.sampled_from(
    ["NaN", "nan", "inf", "-Infinity", "1e400", "-1", "0", "", " ", "1e12", "1e13", "9" * 400, "9" * 400 + "h",
     "8 hours", "0h", "-8h", "8h", "buy", "sell", "long", "short", "open", "closed", "swap", "future", "spot",
     math.nan, math.inf, -math.inf, -0.0, 1e308, -1e-300, 10**40, 400, 1e12, 0.5]
)  # fmt: skip
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    TRICKY,
)
ANY_JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


FATES = st.sampled_from(["keep"] * 6 + ["drop", "replace", "nested", "nested"])  # most fields survive each round


@st.composite
def mutated(draw: st.DrawFn, good: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """`good` with each key kept, dropped, replaced by any JSON, or (for an object) mutated in turn, and maybe
    some unexpected keys added."""
    result: dict[str, Any] = {}
    for key, value in good.items():
        fate = draw(FATES)
        if fate == "keep":
            result[key] = value
        elif fate == "replace":
            result[key] = draw(ANY_JSON)
        elif fate == "nested" and isinstance(value, dict) and depth < 2:
            result[key] = draw(mutated(value, depth + 1))
        elif fate == "nested":
            result[key] = draw(TRICKY)
    extra = draw(st.dictionaries(st.sampled_from([*good, "last", "info", "c", "interval"]), ANY_JSON, max_size=2))
    return {**result, **extra} if draw(st.booleans()) else result


def finite(value: float, *, low: float = 0.0, strictly: bool = False) -> bool:
    return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE and (value > low if strictly else value >= low)


def plausible_ts(ts: int) -> bool:
    return 946_684_800_000 <= ts <= 7_258_118_400_000


def sound_event(event: PriceObserved | BookObserved | FundingObserved) -> bool:
    if isinstance(event, PriceObserved):
        return finite(event.price, strictly=True) and plausible_ts(event.ts)
    if isinstance(event, BookObserved):
        prices_ok = finite(event.bid, strictly=True) and finite(event.ask, strictly=True) and event.bid <= event.ask
        return prices_ok and finite(event.bid_size) and finite(event.ask_size) and plausible_ts(event.ts)
    return (
        math.isfinite(event.rate)
        and abs(event.rate) <= 0.05
        and finite(event.interval_hours, strictly=True)
        and plausible_ts(event.next_funding_ts)
    )


def parsed_or_malformed(parse: Callable[[], Any]) -> Any | None:
    """What `parse` returns, or None when it refuses the payload as MALFORMED; anything else propagates."""
    try:
        return parse()
    except MALFORMED:
        return None


# ---- market data ----------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(payload=mutated(MARK))
def test_a_mutated_mark_price_update_gives_sound_events_or_is_malformed(payload: dict[str, Any]) -> None:
    for parse in (
        lambda: mark_price_from(payload),
        lambda: mark_price_from(payload, PERP),
        lambda: index_price_from(payload, Symbol("BTC/USDT")),
        lambda: funding_from_ticker(payload),
    ):
        event = parsed_or_malformed(parse)
        assert event is None or sound_event(event), (payload, event)


@settings(max_examples=EXAMPLES)
@given(payload=mutated(BOOK))
def test_a_mutated_best_bid_and_ask_gives_a_sound_uncrossed_book_or_is_malformed(payload: dict[str, Any]) -> None:
    book = parsed_or_malformed(lambda: book_from(payload))
    assert book is None or sound_event(book), (payload, book)


@settings(max_examples=EXAMPLES)
@given(payload=mutated(RATE))
def test_a_mutated_funding_rate_gives_a_plausible_rate_none_or_is_malformed(payload: dict[str, Any]) -> None:
    funding = parsed_or_malformed(lambda: funding_from_rate(payload, T0))
    assert funding is None or sound_event(funding), (payload, funding)


@settings(max_examples=EXAMPLES)
@given(payload=mutated(MARKET), precision_mode=st.sampled_from([4, 2]))
@example(payload={**MARKET, "precision": {"amount": 400, "price": 1}}, precision_mode=2)  # 1e-400 is 0.0
def test_a_mutated_market_gives_an_instrument_with_positive_steps_or_is_malformed(
    payload: dict[str, Any], precision_mode: int
) -> None:
    instrument: Instrument | None = parsed_or_malformed(lambda: instrument_from_market(payload, precision_mode))
    if instrument is None:
        return
    assert finite(instrument.lot_step, strictly=True), (payload, instrument)
    assert finite(instrument.tick_size, strictly=True), (payload, instrument)
    assert finite(instrument.contract_size, strictly=True)
    assert finite(instrument.min_qty)
    assert finite(instrument.min_notional)


# ---- account ---------------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(balance=mutated(BALANCE), positions=st.lists(mutated(POSITION), max_size=3))
def test_a_mutated_balance_and_positions_give_a_finite_snapshot_or_are_malformed(
    balance: dict[str, Any], positions: list[dict[str, Any]]
) -> None:
    for position in positions:
        held = parsed_or_malformed(lambda p=position: position_from(p))  # type: ignore[misc]  # bound per loop
        assert held is None or (math.isfinite(held.qty) and held.qty != 0 and finite(held.entry_price))
    snapshot = parsed_or_malformed(lambda: account_from(balance, positions, "USDT", T0))
    if snapshot is not None:
        numbers = (snapshot.wallet_balance, snapshot.equity, snapshot.initial_margin, snapshot.maintenance_margin)
        assert all(math.isfinite(n) for n in numbers), (balance, positions, snapshot)


# ---- orders and fills, through the live venue's own parsing ----------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A ccxt client that never connects: only the venue's payload parsing is exercised."""
    made = make_client(VenueSection())
    yield made
    asyncio.run(made.close())


def dropped(venue: CcxtVenue, stream: str) -> int:
    stats = venue.stats.get(f"{stream}_payloads")
    return 0 if stats is None else stats.dropped


@settings(max_examples=EXAMPLES)
@given(payload=mutated(ORDER))
def test_a_mutated_order_update_is_a_sound_update_or_dropped_and_counted(client: Any, payload: dict[str, Any]) -> None:
    venue = CcxtVenue(client, [PERP])  # fresh: the first report of an order is always news to it
    update: OrderUpdate | None = venue.parse_order(payload)
    if update is None:
        assert dropped(venue, "orders") == 1
        return
    assert dropped(venue, "orders") == 0
    assert update.client_id
    assert update.symbol
    assert finite(update.filled_qty), (payload, update)
    assert finite(update.avg_price), (payload, update)
    assert plausible_ts(update.ts)


@settings(max_examples=EXAMPLES)
@given(payload=mutated(TRADE))
def test_a_mutated_trade_is_a_sound_fill_or_dropped_and_counted(client: Any, payload: dict[str, Any]) -> None:
    venue = CcxtVenue(client, [PERP])
    fill: Fill | None = venue.parse_fill(payload)
    if fill is None:
        assert dropped(venue, "fills") == 1
        return
    assert dropped(venue, "fills") == 0
    assert finite(fill.qty, strictly=True), (payload, fill)
    assert finite(fill.price, strictly=True), (payload, fill)
    assert math.isfinite(fill.fee)
    assert plausible_ts(fill.ts)
    assert fill.trade_id
    assert fill.client_id
    assert fill.symbol


@settings(max_examples=EXAMPLES)
@given(payload=mutated(TRADE))
def test_a_mutated_trade_parsed_directly_is_a_fill_or_malformed(payload: dict[str, Any]) -> None:
    fill = parsed_or_malformed(lambda: fill_from_trade(payload, {"1000001": "hb-1"}))  # type: ignore[dict-item]
    assert fill is None or (finite(fill.qty, strictly=True) and finite(fill.price, strictly=True))
