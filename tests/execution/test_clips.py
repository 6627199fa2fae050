"""A parent change becomes lot-rounded clips of the configured notional, reduce-only when they only reduce."""

from __future__ import annotations

import pytest

from bot.domain import Instrument, InstrumentKind, Symbol
from bot.execution.clips import plan_clip
from bot.execution.ids import client_order_id, decision_id

BTC = Instrument(
    Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001, min_notional=100.0
)


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
