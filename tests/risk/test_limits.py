"""Pre-trade limits shrink a clip to fit, block stale prices, and never block a reducing order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Instrument, InstrumentKind, Symbol
from bot.risk.limits import Limits, check_clip

BTC = Symbol("BTC/USDT:USDT")
INSTRUMENT = Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
LIMITS = Limits(max_leverage=2.0, max_position_notional=50_000.0, max_order_notional=10_000.0, max_price_age_ms=60_000)


def _check(qty: float, position: float = 0.0, equity: float = 100_000.0, age: int = 0) -> float:
    verdict = check_clip(
        INSTRUMENT, qty, 50_000.0, age, {BTC: position}, {BTC: 50_000.0}, {BTC: INSTRUMENT}, equity, LIMITS
    )
    return verdict.qty


def test_a_clip_over_the_order_notional_is_shrunk_to_it() -> None:
    assert _check(-1.0) == -0.2


def test_a_clip_that_would_take_the_position_over_its_notional_cap_is_shrunk_to_the_room_left() -> None:
    assert _check(-0.2, position=-0.9) == -0.1


def test_leverage_counts_the_position_after_the_clip_against_equity() -> None:
    assert _check(-0.2, position=-0.3, equity=10_000.0) == -0.1  # 2 × 10,000 − 15,000 leaves 5,000 = 0.1 BTC


def test_no_order_goes_out_on_a_stale_price() -> None:
    assert _check(-0.1, age=61_000) == 0.0


def test_an_order_that_only_reduces_the_position_is_never_shrunk_by_exposure_limits() -> None:
    assert _check(0.5, position=-2.0, equity=1_000.0) == 0.5


@given(
    qty=st.floats(-5, 5).filter(lambda q: abs(q) >= 0.001),
    position=st.floats(-3, 3),
    equity=st.floats(1_000, 1_000_000),
)
def test_an_allowed_clip_that_adds_exposure_never_breaches_any_limit(
    qty: float, position: float, equity: float
) -> None:
    allowed = _check(qty, position=position, equity=equity)
    assert abs(allowed) <= abs(qty) + 1e-12
    adds = position * allowed >= 0 or abs(allowed) > abs(position)
    if allowed and adds:
        assert abs(allowed) * 50_000 <= LIMITS.max_order_notional + 1e-6
        assert abs(position + allowed) * 50_000 <= max(LIMITS.max_position_notional, abs(position) * 50_000) + 1e-6
        gross_after = (abs(position) + abs(allowed)) * 50_000
        assert gross_after <= max(LIMITS.max_leverage * equity, abs(position) * 50_000) + 1e-6
