from __future__ import annotations

from typing import Any

import pytest

from bot.domain import MS_PER_HOUR, BookObserved, FundingObserved, PriceObserved, Symbol
from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.market import MarketState
from bot.exchange_sim.settings import SimSettings

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
BTC_PERP = Symbol("BTC/USDT:USDT")


def make_market(**overrides: Any) -> MarketState:
    settings = SimSettings(bases=("BTC",), **overrides)
    return MarketState(Catalog(settings.bases, settings.quote, settings.quarterlies, T0), settings, T0)


def feed(market: MarketState, *events: PriceObserved | BookObserved | FundingObserved) -> list[float]:
    """Apply events; the funding rates settled on the way."""
    settled = []
    for event in events:
        settled += [d.rate for d in market.advance_to(event.ts)]
        settled += [d.rate for d in market.apply(event)[1]]
    return settled


def contract(market: MarketState, symbol_id: str) -> Contract:
    found = market.catalog.by_id(symbol_id)
    assert found is not None
    return found


def test_a_perpetual_without_prices_of_its_own_is_marked_at_the_index() -> None:
    market = make_market()
    feed(market, PriceObserved(T0, Symbol("BTC/USDT"), 30_000.0))
    assert market.mark(contract(market, "BTCUSDT")) == 30_000.0


def test_a_dated_contract_is_marked_at_a_basis_over_the_perpetual_that_decays_to_delivery() -> None:
    market = make_market(basis_annual=0.10)
    feed(market, PriceObserved(T0, BTC_PERP, 30_000.0))
    march = contract(market, "BTCUSDT_260327")
    early = market.mark(march)
    feed(market, PriceObserved(march.delivery_ms - 1, BTC_PERP, 30_000.0))
    late = market.mark(march)
    assert early is not None
    assert late is not None
    assert 30_000.0 < late < early < 30_000.0 * 1.10 * 0.25 + 30_000.0
    assert late == pytest.approx(30_000.0, rel=1e-9)


def test_without_an_observed_book_one_is_synthesised_around_the_mark_on_the_tick() -> None:
    market = make_market(spread_ticks=2, level_notional=60_000.0)
    feed(market, PriceObserved(T0, BTC_PERP, 30_000.0))
    top = market.top(contract(market, "BTCUSDT"))
    assert top is not None
    assert (top.bid, top.ask) == (29_999.9, 30_000.1)
    assert top.bid_size == top.ask_size == 2.0


def test_an_observed_book_is_used_until_a_newer_price_arrives() -> None:
    market = make_market()
    perp = contract(market, "BTCUSDT")
    feed(market, BookObserved(T0, BTC_PERP, 29_990.0, 0.5, 30_010.0, 0.7))
    top = market.top(perp)
    assert top is not None
    assert (top.bid, top.bid_size, top.ask, top.ask_size) == (29_990.0, 0.5, 30_010.0, 0.7)
    assert market.mark(perp) == 30_000.0
    feed(market, PriceObserved(T0 + 1, BTC_PERP, 31_000.0))
    moved = market.top(perp)
    assert moved is not None
    assert moved.bid < 31_000.0 <= moved.ask


def test_scheduled_funding_settles_once_per_time_when_market_time_moves_past_it() -> None:
    market = make_market()
    feed(market, PriceObserved(T0, BTC_PERP, 30_000.0))
    settle_at = T0 + 8 * MS_PER_HOUR
    feed(market, FundingObserved(T0 + 60_000, BTC_PERP, 0.0003, settle_at))
    assert feed(market, PriceObserved(settle_at, BTC_PERP, 30_000.0)) == []  # not yet: a rate may still come
    assert feed(market, PriceObserved(settle_at + 1, BTC_PERP, 30_000.0)) == [0.0003]
    assert feed(market, PriceObserved(settle_at + 2, BTC_PERP, 30_000.0)) == []
    state = market.funding(contract(market, "BTCUSDT"))
    assert state is not None
    assert state.next_ts == settle_at + 8 * MS_PER_HOUR


def test_a_replayed_funding_that_settles_now_is_settled_once_at_its_own_rate() -> None:
    market = make_market()
    settle_at = T0 + 8 * MS_PER_HOUR
    settled = feed(
        market,
        PriceObserved(settle_at, BTC_PERP, 30_000.0),
        FundingObserved(settle_at, BTC_PERP, -0.0002, settle_at),
        FundingObserved(settle_at, BTC_PERP, -0.0002, settle_at),
        PriceObserved(settle_at + 1, BTC_PERP, 30_000.0),
    )
    assert settled == [-0.0002]


def test_a_gap_in_the_feed_settles_every_funding_time_it_jumped_over() -> None:
    market = make_market()
    feed(market, PriceObserved(T0, BTC_PERP, 30_000.0))
    settled = feed(market, PriceObserved(T0 + 25 * MS_PER_HOUR, BTC_PERP, 30_000.0))
    state = market.funding(contract(market, "BTCUSDT"))
    assert state is not None
    assert [d.ts - T0 for d in state.history] == [8 * MS_PER_HOUR, 16 * MS_PER_HOUR, 24 * MS_PER_HOUR]
    assert len(settled) == 3


def test_events_for_unlisted_symbols_are_counted_and_ignored() -> None:
    market = make_market()
    moved, _ = market.apply(PriceObserved(T0, Symbol("DOGE/USDT"), 0.1))
    assert moved == []
    assert market.ignored_events == 1


def test_an_announcement_arriving_at_a_settlement_time_settles_that_one_first_at_the_old_rate() -> None:
    market = make_market()
    settle_at = T0 + 8 * MS_PER_HOUR
    settled = feed(
        market,
        FundingObserved(T0, BTC_PERP, 0.0001, settle_at),
        PriceObserved(settle_at, BTC_PERP, 30_000.0),
        FundingObserved(settle_at, BTC_PERP, 0.0009, settle_at + 8 * MS_PER_HOUR),
        PriceObserved(settle_at + 1, BTC_PERP, 30_000.0),
    )
    assert settled == [0.0001]
