"""Pre-trade limits shrink a clip to fit or block it, say why, and never shrink an order that only reduces."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Instrument, InstrumentKind, Symbol, round_to_step
from bot.risk.limits import (
    ClipVerdict,
    Limits,
    OrderRateWindow,
    PreTradeState,
    breached_limit,
    check_clip,
    reduces_position,
)
from bot.risk.state import TradingState

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
BTC_PERP = Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001, min_notional=5.0)
ETH_PERP = Instrument(ETH, "ETH", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.01, min_notional=5.0)
INSTRUMENTS = {BTC: BTC_PERP, ETH: ETH_PERP}
MARKS = {BTC: 50_000.0, ETH: 2_500.0}
LIMITS = Limits(
    max_leverage=2.0,
    max_instrument_leverage=2.0,
    max_position_notional=50_000.0,
    max_order_notional=10_000.0,
    max_orders_per_minute=10,
    price_band_bps=100.0,
    max_price_age_ms=60_000,
)
NOW = 1_000_000


def _check(
    qty: float,
    position: float = 0.0,
    equity: float = 100_000.0,
    age: int = 0,
    order_price: float = 50_000.0,
    orders: int = 0,
    trading: TradingState = TradingState.ACTIVE,
    others: dict[Symbol, float] | None = None,
    limits: Limits = LIMITS,
    instrument: Instrument = BTC_PERP,
) -> ClipVerdict:
    state = PreTradeState(
        now=NOW,
        trading=trading,
        positions={BTC: position, **(others or {})},
        marks=MARKS,
        mark_ts={BTC: NOW - age, ETH: NOW},
        instruments={**INSTRUMENTS, BTC: instrument},
        equity=equity,
        orders_last_minute=orders,
    )
    return check_clip(instrument, qty, order_price, state, limits)


def test_a_clip_over_the_order_notional_is_shrunk_to_it_and_says_so() -> None:
    verdict = _check(-1.0)
    assert verdict.qty == -0.2
    assert verdict.notes == ("max_order_notional: clip shrunk from 1 to 0.2 contracts",)


def test_a_clip_that_would_take_the_position_over_its_notional_cap_is_shrunk_to_the_room_left() -> None:
    assert _check(-0.2, position=-0.9).qty == -0.1


def test_total_leverage_counts_the_positions_in_other_instruments_after_the_clip() -> None:
    # 2 × 10,000 equity − 10,000 of ETH − 5,000 of BTC leaves 5,000 = 0.1 BTC
    assert _check(-0.2, position=-0.1, equity=10_000.0, others={ETH: -4.0}).qty == -0.1


def test_leverage_in_one_instrument_is_capped_on_its_own() -> None:
    limits = replace(LIMITS, max_instrument_leverage=1.0)
    verdict = _check(-0.2, position=-0.1, equity=10_000.0, limits=limits)  # 1 × 10,000 − 5,000 = 0.1 BTC
    assert verdict.qty == -0.1
    assert verdict.notes == ("max_instrument_leverage: clip shrunk from 0.2 to 0.1 contracts",)


def test_an_order_that_flips_the_position_is_capped_on_the_other_side() -> None:
    limits = replace(LIMITS, max_position_notional=10_000.0, max_order_notional=100_000.0)  # cap 0.2 BTC
    assert _check(0.5, position=-0.3, limits=limits).qty == 0.5  # from −0.3 to +0.2: exactly at the cap
    assert _check(0.6, position=-0.3, limits=limits).qty == 0.5


def test_an_order_that_only_reduces_the_position_is_never_shrunk_by_exposure_limits() -> None:
    assert _check(0.5, position=-2.0, equity=1_000.0) == ClipVerdict(0.5, ())


def test_without_known_equity_nothing_that_adds_exposure_passes_but_reducing_does() -> None:
    assert _check(-0.1, equity=0.0).blocked
    assert _check(0.1, position=-0.5, equity=0.0).qty == 0.1


def test_a_position_that_cannot_be_valued_blocks_orders_that_add_exposure() -> None:
    unpriced = Symbol("SOL/USDT:USDT")
    verdict = _check(-0.1, others={unpriced: -10.0})
    assert verdict.blocked
    assert verdict.notes == (
        "max_leverage (no mark for the position in SOL/USDT:USDT): clip of 0.1 contracts blocked (no room left)",
    )


def test_no_order_goes_out_on_a_stale_price_not_even_a_reducing_one() -> None:
    verdict = _check(0.1, position=-0.5, age=61_000)
    assert verdict.blocked
    assert verdict.notes == ("price of BTC/USDT:USDT is 61s old (stale)",)


def test_the_order_rate_limit_blocks_every_order_once_reached() -> None:
    assert _check(-0.1, orders=9).qty == -0.1
    assert _check(-0.1, orders=10).blocked
    reducing = _check(0.1, position=-0.5, orders=10)
    assert reducing.blocked
    assert reducing.notes == ("order rate: 10 orders in the last minute, limit 10",)


def test_the_order_rate_window_counts_only_the_last_minute() -> None:
    window = OrderRateWindow()
    for ts in (0, 10_000, 59_000, 60_000):
        window.record(ts)
    assert window.count(60_000) == 3  # the order at 0 is a full minute old
    assert window.count(118_999) == 2
    assert window.count(119_999) == 1
    assert window.count(120_000) == 0


@pytest.mark.parametrize(("qty", "price"), [(0.1, 50_600.0), (-0.1, 49_400.0)])
def test_an_order_priced_far_through_the_mark_is_blocked(qty: float, price: float) -> None:
    verdict = _check(qty, order_price=price)
    assert verdict.blocked
    assert "120 bps through the mark 50000, limit 100 bps" in verdict.notes[0]


@pytest.mark.parametrize(("qty", "price"), [(0.1, 50_400.0), (-0.1, 49_600.0), (0.1, 45_000.0), (-0.1, 55_000.0)])
def test_an_order_within_the_band_or_priced_away_from_the_market_passes(qty: float, price: float) -> None:
    assert _check(qty, order_price=price).qty == qty


def test_a_clip_off_the_lot_step_is_rounded_down_to_whole_lots() -> None:
    verdict = _check(-0.0157)
    assert verdict.qty == -0.015
    assert verdict.notes == ("lot_step: clip shrunk from 0.0157 to 0.015 contracts (lot 0.001)",)


def test_a_clip_shrunk_under_the_venue_minimum_notional_is_blocked() -> None:
    instrument = replace(BTC_PERP, min_notional=100.0)
    verdict = _check(-0.1, equity=25.0, instrument=instrument)  # leverage room: 50 of notional = 0.001 BTC
    assert verdict.blocked
    assert verdict.notes[0] == "max_leverage: clip shrunk from 0.1 to 0.001 contracts"
    assert "under the minimum" in verdict.notes[-1]


def test_a_reducing_clip_under_the_minimum_notional_still_goes_out_so_dust_can_be_closed() -> None:
    instrument = replace(BTC_PERP, min_notional=100.0)
    verdict = _check(0.001, position=-0.001, instrument=instrument)  # 0.001 BTC is ~30 of notional
    assert verdict.qty == 0.001


def test_halted_lets_no_order_through_and_reducing_only_orders_that_reduce() -> None:
    assert _check(0.1, position=-0.5, trading=TradingState.HALTED).blocked
    assert _check(-0.1, trading=TradingState.REDUCING).blocked
    assert _check(0.1, position=-0.5, trading=TradingState.REDUCING).qty == 0.1


_limits = st.builds(
    Limits,
    max_leverage=st.floats(0.1, 5),
    max_instrument_leverage=st.floats(0.1, 5),
    max_position_notional=st.floats(1_000, 200_000),
    max_order_notional=st.floats(100, 50_000),
    max_orders_per_minute=st.integers(1, 30),
    price_band_bps=st.floats(1, 500),
    max_price_age_ms=st.integers(1_000, 600_000),
)


@given(
    qty=st.floats(-5, -0.001) | st.floats(0.001, 5),
    position=st.floats(-3, 3),
    eth=st.floats(-40, 40),
    equity=st.floats(-1_000, 1_000_000),
    offset_bps=st.floats(-300, 300),
    limits=_limits,
)
def test_an_allowed_clip_never_leaves_a_limit_breached(
    qty: float, position: float, eth: float, equity: float, offset_bps: float, limits: Limits
) -> None:
    order_price = 50_000.0 * (1 + offset_bps / 1e4)
    verdict = _check(qty, position, equity, order_price=order_price, others={ETH: eth}, limits=limits)
    allowed = verdict.qty
    if not allowed:
        return
    assert allowed * qty > 0
    assert abs(allowed) <= abs(qty) + 1e-12
    assert abs(allowed / 0.001 - round(allowed / 0.001)) < 1e-6  # whole lots
    assert (order_price / 50_000.0 - 1) * 1e4 * (1 if qty > 0 else -1) <= limits.price_band_bps + 1e-9
    if reduces_position(position, qty):
        assert allowed == round_to_step(qty, 0.001)  # only ever rounded to whole lots, never shrunk
        return
    if reduces_position(position, allowed):
        return  # a flip shrunk into a reduction: exposure fell, whatever it was before
    slack = 1 + 1e-6
    after = abs(position + allowed) * 50_000.0
    assert abs(allowed) * order_price <= limits.max_order_notional * slack
    assert after <= limits.max_position_notional * slack
    assert after <= limits.max_instrument_leverage * equity * slack
    assert after + abs(eth) * 2_500.0 <= limits.max_leverage * equity * slack


@pytest.mark.parametrize(
    ("verdict", "limit"),
    [
        (lambda: _check(-1.0), "max_order_notional"),
        (lambda: _check(-0.2, position=-0.9), "max_position_notional"),
        (lambda: _check(-0.2, position=-0.1, equity=10_000.0, others={ETH: -4.0}), "max_leverage"),
        (lambda: _check(-0.1, others={Symbol("SOL/USDT:USDT"): -10.0}), "max_leverage"),
        (
            lambda: _check(-0.2, position=-0.1, equity=10_000.0, limits=replace(LIMITS, max_instrument_leverage=1.0)),
            "max_instrument_leverage",
        ),
        (lambda: _check(-0.1, orders=10), "max_orders_per_minute"),
        (lambda: _check(0.1, order_price=51_000.0), "price_band_bps"),
    ],
)
def test_a_note_of_a_breached_limit_names_its_risk_setting(verdict: Any, limit: str) -> None:
    [note] = verdict().notes
    assert breached_limit(note) == limit


def test_notes_that_breach_no_limit_name_none() -> None:
    notes = [
        *_check(-0.1, trading=TradingState.HALTED).notes,  # the trading state: its change is alerted on its own
        *_check(-0.1, age=61_000).notes,  # a stale mark: the staleness gate reports it
        *_check(-0.0001).notes,  # lot rounding to nothing, under the venue minimums
        *_check(-0.1005).notes,  # lot rounding
    ]
    assert [note.split(" ")[0] for note in notes] == ["trading", "price", "lot_step:", "venue", "lot_step:"]
    assert [breached_limit(note) for note in notes] == [None] * len(notes)
