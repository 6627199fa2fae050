"""A parent change becomes lot-rounded clips of the configured notional, reduce-only when they only reduce."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Config, ConfigError, parse_config
from bot.domain import ClientOrderId, Instrument, InstrumentKind, OrderRequest, OrderStatus, OrderType, Side, Symbol
from bot.execution.clips import (
    ClipPolicy,
    OrderTerms,
    Parent,
    escalation_due,
    min_clip_qty,
    order_terms,
    plan_clip,
    slippage_hold,
    stale_clips,
)
from bot.execution.ids import client_order_id, decision_id
from bot.execution.order_states import TrackedOrder

BTC = Instrument(
    Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001, min_notional=100.0
)
BTC_TICK = replace(BTC, tick_size=0.1)


def test_a_large_change_is_cut_into_a_clip_of_the_configured_notional() -> None:
    clip = plan_clip(BTC, remaining=-1.0, position=0.0, price=50_000.0, clip_notional=5_000.0)
    assert clip is not None
    assert clip.qty == pytest.approx(-0.1)
    assert not clip.reduce_only


def test_the_last_clip_is_the_remainder_rounded_down_to_the_lot() -> None:
    clip = plan_clip(BTC, remaining=-0.0456, position=-0.9, price=50_000.0, clip_notional=5_000.0)
    assert clip is not None
    assert clip.qty == pytest.approx(-0.045)


def test_a_remainder_below_the_minimum_notional_ends_the_parent() -> None:
    assert plan_clip(BTC, remaining=-0.0015, position=0.0, price=50_000.0, clip_notional=5_000.0) is None


def test_a_clip_that_only_reduces_a_short_is_reduce_only() -> None:
    clip = plan_clip(BTC, remaining=0.05, position=-0.3, price=50_000.0, clip_notional=5_000.0)
    assert clip is not None
    assert clip.reduce_only


def test_client_order_ids_are_deterministic_and_fit_binances_rule() -> None:
    first = client_order_id(decision_id(1_704_067_200_000, 12), 1, 3)
    assert first == client_order_id(decision_id(1_704_067_200_000, 12), 1, 3)
    assert len(first) <= 36
    assert first != client_order_id(decision_id(1_704_067_200_000, 12), 1, 4)
    assert first != client_order_id(decision_id(1_704_067_200_000, 12), 0, 3)


# ---- book share, pricing, slippage hold, escalation, re-planning ---------------------------------


POLICY = ClipPolicy(clip_notional=5_000.0, interval_ms=30_000)


def test_the_default_execution_config_keeps_market_clips_without_caps_holds_or_escalation() -> None:
    policy = ClipPolicy.from_config(Config().execution)
    assert policy == ClipPolicy(
        clip_notional=5_000.0, interval_ms=30_000, order_type=OrderType.MARKET, limit_offset_bps=2.0
    )
    assert order_terms(policy, BTC, Side.SELL, 50_000.0) == OrderTerms(OrderType.MARKET, None)


def test_post_only_without_a_limit_order_type_is_refused_by_the_config() -> None:
    with pytest.raises(ConfigError, match=r"post_only = true needs order_type = 'limit'"):
        parse_config({"execution": {"post_only": True}})


def test_a_clip_takes_no_more_than_its_share_of_the_visible_book() -> None:
    clip = plan_clip(BTC, -1.0, 0.0, 50_000.0, 5_000.0, book_size=0.2, book_share=0.25)
    assert clip is not None
    assert clip.qty == pytest.approx(-0.05)


def test_a_thin_book_slows_a_clip_to_the_venue_minimum_but_never_ends_the_parent() -> None:
    clip = plan_clip(BTC, -1.0, 0.0, 50_000.0, 5_000.0, book_size=0.0001, book_share=0.25)
    assert clip is not None
    assert clip.qty == pytest.approx(-min_clip_qty(BTC, 50_000.0))
    assert abs(clip.qty) * 50_000.0 >= BTC.min_notional


def test_a_marketable_limit_buy_is_priced_through_the_mark_and_rounded_up_to_the_tick() -> None:
    policy = replace(POLICY, order_type=OrderType.LIMIT, limit_offset_bps=2.0)
    terms = order_terms(policy, BTC_TICK, Side.BUY, 50_000.03)
    assert (terms.order_type, terms.post_only) == (OrderType.LIMIT, False)
    assert terms.price == pytest.approx(50_010.1)


def test_a_post_only_sell_rests_above_the_mark_and_is_rounded_away_from_the_touch() -> None:
    policy = replace(POLICY, order_type=OrderType.LIMIT, limit_offset_bps=2.0, post_only=True)
    terms = order_terms(policy, BTC_TICK, Side.SELL, 50_000.03)
    assert terms.post_only
    assert terms.price == pytest.approx(50_010.1)
    buy = order_terms(policy, BTC_TICK, Side.BUY, 50_000.03)
    assert buy.price == pytest.approx(49_990.0)  # 49,990.02 rounded down, away from the ask


def test_an_escalated_post_only_clip_goes_out_as_configured_escalation() -> None:
    passive = replace(POLICY, order_type=OrderType.LIMIT, post_only=True, escalate_after_ms=60_000)
    assert order_terms(passive, BTC_TICK, Side.BUY, 50_000.0, escalated=True) == OrderTerms(OrderType.MARKET, None)
    to_limit = replace(passive, escalate_to=OrderType.LIMIT)
    escalated = order_terms(to_limit, BTC_TICK, Side.BUY, 50_000.0, escalated=True)
    assert escalated.order_type is OrderType.LIMIT
    assert not escalated.post_only
    assert escalated.price is not None
    assert escalated.price > 50_000.0


def test_a_resting_limit_clip_escalates_only_after_the_configured_wait() -> None:
    policy = replace(POLICY, order_type=OrderType.LIMIT, post_only=True, escalate_after_ms=60_000)
    assert not escalation_due(policy, OrderType.LIMIT, rested_since=1_000, now=60_999)
    assert escalation_due(policy, OrderType.LIMIT, rested_since=1_000, now=61_000)
    assert not escalation_due(policy, OrderType.MARKET, rested_since=1_000, now=999_000)
    assert not escalation_due(POLICY, OrderType.LIMIT, rested_since=1_000, now=999_000)


def test_an_escalating_parent_prices_its_replacement_marketable_and_then_returns_to_normal() -> None:
    parent = Parent(decision_id(0, 0), 0, BTC.symbol, -1.0, "band", 0, 0)
    placed = parent.placed(1_000, 30_000)
    assert (placed.next_due_ts, placed.next_clip_no) == (31_000, 2)
    escalating = placed.escalating(61_000)
    assert escalating.escalated
    assert escalating.next_due_ts == 61_000
    assert not escalating.placed(61_500, 30_000).escalated


def test_a_parent_holds_while_the_mark_runs_past_the_slippage_limit_from_arrival() -> None:
    policy = replace(POLICY, max_slippage_bps=50.0)
    assert slippage_hold(policy, Side.BUY, arrival_price=50_000.0, mark=50_200.0) is None  # 40 bps
    reason = slippage_hold(policy, Side.BUY, arrival_price=50_000.0, mark=50_300.0)  # 60 bps against a buy
    assert reason is not None
    assert "60.0 bps" in reason
    assert slippage_hold(policy, Side.SELL, arrival_price=50_000.0, mark=50_300.0) is None  # in a sell's favour
    assert slippage_hold(POLICY, Side.BUY, arrival_price=50_000.0, mark=99_000.0) is None  # off by default


def _open_order(cid: str, signed_qty: float) -> TrackedOrder:
    request = OrderRequest(ClientOrderId(cid), BTC.symbol, Side.of(signed_qty), abs(signed_qty))
    return TrackedOrder(request, OrderStatus.ACCEPTED)


def test_a_new_target_cancels_the_in_flight_clips_that_would_carry_the_position_past_it() -> None:
    orders = [_open_order("a", -0.1), _open_order("b", -0.1)]
    assert stale_clips(-0.55, position=-0.5, open_orders=orders) == (ClientOrderId("a"), ClientOrderId("b"))
    assert stale_clips(-0.65, position=-0.5, open_orders=orders) == (ClientOrderId("b"),)
    assert stale_clips(-0.7, position=-0.5, open_orders=orders) == ()
    assert stale_clips(0.0, position=-0.5, open_orders=orders) == (ClientOrderId("a"), ClientOrderId("b"))
