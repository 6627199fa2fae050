"""Dated futures are rolled (or closed) on a quarterly calendar, in staggered paired steps, and a roll survives
a restart: what is left to do is derived from the journaled state and the positions."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR, ClientOrderId, Fill, Rounding, Side, Symbol, TradeId, round_to_step
from bot.execution.ids import client_order_id
from bot.execution.roll_plan import (
    RollState,
    expiry_of,
    hedge_contract,
    next_roll_pair,
    pair_cap,
    quarterly_expiries_after,
    resolve_quarterly,
    roll_complete,
    roll_targets,
    roll_window,
    start_roll,
)

LOT = 0.001
MIN_QTY = 0.002  # 100 USDT minimum notional at ~60,000 (2 % margin), in whole lots
SPEC = "BTC/USDT:USDT@quarterly"
MARCH, JUNE = Symbol("BTC/USDT:USDT-250328"), Symbol("BTC/USDT:USDT-250627")
MARCH_EXPIRY = 1_743_148_800_000  # 2025-03-28 08:00 UTC
WINDOW_MS = 3 * MS_PER_DAY


def _ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


def _roll(near: float = -0.9, far: float = 0.0) -> RollState:
    window = roll_window(SPEC, _ms(2025, 3, 1), WINDOW_MS, 3)
    return start_roll(window, near, far, window.start_ms)


# ---- calendar -----------------------------------------------------------------------------------


@given(st.integers(_ms(2019, 1, 1), _ms(2035, 1, 1)))
def test_quarterly_expiries_are_the_next_last_fridays_of_quarter_months_at_0800_utc(now_ms: int) -> None:
    first, second = quarterly_expiries_after(now_ms, 2)
    assert now_ms < first < second
    for expiry in (first, second):
        day = datetime.fromtimestamp(expiry / 1000, tz=UTC)
        assert (day.hour, day.minute, day.weekday()) == (8, 0, calendar.FRIDAY)
        assert day.month in (3, 6, 9, 12)
        assert day.day > calendar.monthrange(day.year, day.month)[1] - 7
    assert second - first < 100 * MS_PER_DAY


def test_the_quarterly_spec_resolves_to_the_front_contract_until_its_expiry_instant() -> None:
    assert resolve_quarterly(SPEC, MARCH_EXPIRY - 1) == MARCH
    assert resolve_quarterly(SPEC, MARCH_EXPIRY) == JUNE
    assert expiry_of(MARCH) == MARCH_EXPIRY
    assert expiry_of("BTC/USDT:USDT") is None


def test_a_spec_that_is_not_quarterly_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'BTC/USDT@quarterly' is not a quarterly spec"):
        resolve_quarterly("BTC/USDT@quarterly", 0)
    with pytest.raises(ValueError, match=r"'BTC/USDT:USDT' is neither a dated symbol nor a quarterly spec"):
        roll_window("BTC/USDT:USDT", 0, WINDOW_MS, 3)


def test_new_exposure_goes_to_the_next_quarterly_once_the_roll_window_opens() -> None:
    assert hedge_contract(SPEC, MARCH_EXPIRY - WINDOW_MS - 1, WINDOW_MS) == MARCH
    assert hedge_contract(SPEC, MARCH_EXPIRY - WINDOW_MS, WINDOW_MS) == JUNE


def test_the_roll_is_staggered_evenly_with_its_last_step_a_step_before_expiry() -> None:
    window = roll_window(SPEC, _ms(2025, 3, 1), WINDOW_MS, 3)
    assert (window.near, window.far) == (MARCH, JUNE)
    assert window.step_times() == (_ms(2025, 3, 25, 8), _ms(2025, 3, 26, 8), _ms(2025, 3, 27, 8))
    assert window.fraction_due(_ms(2025, 3, 25, 7)) == 0.0
    assert window.fraction_due(_ms(2025, 3, 26, 9)) == pytest.approx(2 / 3)
    assert window.fraction_due(MARCH_EXPIRY) == 1.0


def test_a_plain_dated_contract_has_a_window_but_nothing_to_roll_into() -> None:
    window = roll_window(str(MARCH), _ms(2025, 3, 1), WINDOW_MS, 2)
    assert (window.near, window.far, window.expiry_ms) == (MARCH, None, MARCH_EXPIRY)


# ---- pairs --------------------------------------------------------------------------------------


def test_nothing_moves_before_the_first_step_is_due() -> None:
    state = _roll()
    assert next_roll_pair(state, -0.9, 0.0, state.window.start_ms - 1, max_qty=0.1, lot=LOT, min_qty=MIN_QTY) is None


def test_a_step_is_a_pair_that_closes_near_reduce_only_and_opens_the_same_on_far() -> None:
    state = _roll()
    pair = next_roll_pair(state, -0.9, 0.0, state.window.start_ms, max_qty=0.1, lot=LOT, min_qty=MIN_QTY)
    assert pair is not None
    assert (pair.near_qty, pair.far_qty, pair.near_reduce_only, pair.step) == (0.1, -0.1, True, 1)
    assert roll_targets(state, -0.9, -0.9, state.window.start_ms, LOT) == pytest.approx((-0.6, -0.3))


def test_a_pair_is_capped_by_the_rebalance_band_so_one_leg_alone_stays_inside_it() -> None:
    assert pair_cap(clip_qty=0.5, band=0.1, total=-0.9) == pytest.approx(0.09)
    assert pair_cap(clip_qty=0.05, band=0.1, total=-0.9) == 0.05


def test_a_leg_left_behind_is_completed_alone_before_the_next_pair() -> None:
    state = _roll()
    now = state.window.start_ms
    pair = next_roll_pair(state, -0.8, 0.0, now, max_qty=0.1, lot=LOT, min_qty=MIN_QTY)  # near closed, far not
    assert pair is not None
    assert (pair.near_qty, pair.far_qty) == (0.0, -0.1)


def test_a_restarted_engine_finishes_a_half_done_pair_from_the_journaled_state_and_positions() -> None:
    state = _roll()
    pair = next_roll_pair(state, -0.9, 0.0, state.window.start_ms, max_qty=0.1, lot=LOT, min_qty=MIN_QTY)
    assert pair is not None
    state = state.sent(pair)  # journaled before the pair went out; then near filled half, far fully, and a crash
    restored = RollState.from_record(json.loads(json.dumps(state.to_record())))
    assert restored == state
    assert restored.client_ids(restored.next_pair_no) != state.client_ids(pair.pair_no)
    resumed = next_roll_pair(restored, -0.85, -0.1, restored.window.start_ms, max_qty=0.1, lot=LOT, min_qty=MIN_QTY)
    assert resumed is not None
    assert (resumed.near_qty, resumed.far_qty) == pytest.approx((0.05, 0.0))


def test_a_plain_dated_contract_is_closed_in_reduce_only_steps() -> None:
    window = roll_window(str(MARCH), _ms(2025, 3, 1), WINDOW_MS, 3)
    state = start_roll(window, -0.9, 0.0, window.start_ms)
    pair = next_roll_pair(state, -0.9, 0.0, window.start_ms, max_qty=1.0, lot=LOT, min_qty=MIN_QTY)
    assert pair is not None
    assert (pair.near_qty, pair.far_qty) == pytest.approx((0.3, 0.0))
    assert pair.near_reduce_only


def test_a_larger_hedge_target_during_the_roll_goes_to_the_far_contract() -> None:
    state = _roll()
    now = state.window.start_ms
    assert roll_targets(state, -0.9, -1.2, now, LOT) == pytest.approx((-0.6, -0.6))
    pair = next_roll_pair(state, -0.9, 0.0, now, max_qty=0.1, lot=LOT, min_qty=MIN_QTY, total=-1.2)
    assert pair is not None
    assert (pair.near_qty, pair.far_qty) == (0.0, -0.1)


def test_roll_ids_differ_per_contract_and_fit_the_venue_rule() -> None:
    btc = _roll()
    eth_window = roll_window("ETH/USDT:USDT@quarterly", _ms(2025, 3, 1), WINDOW_MS, 3)
    eth = start_roll(eth_window, -5.0, 0.0, eth_window.start_ms)
    assert btc.roll_id != eth.roll_id
    assert btc.client_ids(7) == (client_order_id(btc.roll_id, 0, 7), client_order_id(btc.roll_id, 1, 7))
    assert all(len(cid) <= 36 for cid in (*btc.client_ids(999_999), *eth.client_ids(999_999)))


def test_a_short_hedge_rolled_in_contango_earns_the_basis_and_pays_fees_and_slippage() -> None:
    state = _roll()
    near_close = Fill(0, TradeId("1"), ClientOrderId("a"), MARCH, Side.BUY, 0.1, 60_010.0, 2.4, "USDT")
    far_open = Fill(0, TradeId("2"), ClientOrderId("b"), JUNE, Side.SELL, 0.1, 61_190.0, 2.4, "USDT")
    state = state.with_fill(near_close, 60_000.0, 1.0, 2.4).with_fill(far_open, 61_200.0, 1.0, 2.4)
    assert state.cost.basis == pytest.approx(-120.0)  # 0.1 × (60,000 − 61,200): earned
    assert state.cost.slippage == pytest.approx(2.0)  # bought 10 above, sold 10 below the marks
    assert state.cost.fees == pytest.approx(4.8)
    assert state.cost.total == pytest.approx(-113.2)
    assert state.moved_qty == pytest.approx(0.1)


def test_a_one_legged_roll_move_costs_its_fees_and_slippage_but_no_basis() -> None:
    restore = Fill(0, TradeId("3"), ClientOrderId("c"), JUNE, Side.SELL, 0.1, 61_190.0, 2.4, "USDT")
    state = _roll().with_fill(restore, 61_200.0, 1.0, 2.4, paired=False)
    assert state.cost.basis == 0.0  # the far leg alone changed the hedge: its notional is not a roll cost
    assert state.cost.slippage == pytest.approx(1.0)
    assert state.cost.fees == pytest.approx(2.4)


# ---- a whole roll through partial fills and restarts ----------------------------------------------

legs = st.tuples(st.sampled_from([0.0, 0.3, 1.0, 1.0]), st.sampled_from([0.0, 0.5, 1.0, 1.0]), st.booleans())


@settings(max_examples=150)
@given(
    near_lots=st.integers(-2_000, 2_000),
    band=st.sampled_from([0.05, 0.1, 0.25]),
    clip_qty=st.sampled_from([0.01, 0.05, 0.2]),
    outcomes=st.lists(legs, min_size=1, max_size=40),
    restarts=st.sets(st.integers(0, 60), max_size=5),
)
def test_a_roll_keeps_net_exposure_within_a_pair_never_grows_near_and_ends_flat_on_near(
    near_lots: int, band: float, clip_qty: float, outcomes: list[tuple[float, float, bool]], restarts: set[int]
) -> None:
    near = round_to_step(near_lots * LOT, LOT, Rounding.NEAREST)
    total = near
    state = _roll(near)
    cap = pair_cap(clip_qty, band, total)
    far, now, round_no = 0.0, state.window.start_ms, 0
    sent: set[ClientOrderId] = set()
    while not roll_complete(state, near, far, now, LOT, MIN_QTY):
        assert round_no < 2_000, "the roll never completed"
        if round_no in restarts:
            state = RollState.from_record(json.loads(json.dumps(state.to_record())))
        pair = next_roll_pair(state, near, far, now, cap, LOT, MIN_QTY)
        now += MS_PER_HOUR // 2  # a pair (or a look at the schedule) every half hour
        round_no += 1
        if pair is None:
            continue
        ids = state.client_ids(pair.pair_no)
        assert not sent & set(ids)
        sent |= set(ids)
        state = state.sent(pair)
        # before expiry the venue fills as drawn; at expiry whatever is left of the pair fills
        near_share, far_share, far_first = outcomes[round_no % len(outcomes)] if now < state.expiry_ms else (1, 1, 0)
        fills = [("far", pair.far_qty * far_share), ("near", pair.near_qty * near_share)]
        for leg, qty in fills if far_first else reversed(fills):
            qty = round_to_step(qty, LOT, Rounding.DOWN)
            if not qty:
                continue
            if leg == "near":
                assert pair.near_reduce_only
                assert abs(near + qty) <= abs(near) + 1e-12
                near = round_to_step(near + qty, LOT, Rounding.NEAREST)
            else:
                far = round_to_step(far + qty, LOT, Rounding.NEAREST)
            # one pair (never below the venue minimum) plus dust the far contract is too coarse to mirror
            assert abs(near + far - total) <= max(cap, MIN_QTY) + MIN_QTY + 1e-9
    assert near == 0.0
    assert abs(far - total) < MIN_QTY
