"""The distance to liquidation solved segment by segment equals a plain bisection of the same margin equation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Symbol
from bot.risk.brackets import table_for
from bot.risk.buffer import MAX_MOVE, Leg, adverse_move

BASES = ("BTC", "ETH", "SOL")


def bisected(equity: float, legs: tuple[Leg, ...], moving: frozenset[Symbol] | None) -> float | None:
    """The reference: sixty halvings of the range, from the definition (equity + P&L = maintenance margin)."""
    moved = [leg for leg in legs if moving is None or leg.symbol in moving]
    direction = -1.0 if sum(leg.notional for leg in moved) > 0 else 1.0
    ceiling = MAX_MOVE if direction > 0 else 1.0

    def left(move: float) -> float:
        factor = 1.0 + direction * move
        pnl = sum(leg.notional * direction * move for leg in moved)
        return equity + pnl - sum(leg.maintenance(factor if leg in moved else 1.0) for leg in legs)

    if not left(0.0) > 0:
        return 0.0
    if left(ceiling) > 0:
        return None
    low, high = 0.0, ceiling
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if left(middle) > 0 else (low, middle)
    return low


legs_strategy = st.lists(
    st.tuples(st.sampled_from(BASES), st.floats(-5e7, 5e7).filter(lambda n: abs(n) > 1.0)),
    min_size=1,
    max_size=3,
    unique_by=lambda leg: leg[0],
).map(lambda drawn: tuple(Leg(Symbol(f"{b}/USDT:USDT"), n, 100.0, table_for(b)) for b, n in drawn))


@settings(max_examples=400, deadline=None)
@given(legs=legs_strategy, equity=st.floats(-1e5, 5e7), alone=st.booleans())
def test_the_buffer_is_the_root_of_the_margin_equation_a_bisection_finds(
    legs: tuple[Leg, ...], equity: float, alone: bool
) -> None:
    moving = frozenset({legs[0].symbol}) if alone else None
    exact, reference = adverse_move(equity, legs, moving), bisected(equity, legs, moving)
    if reference is None or exact is None:
        assert exact == reference
    else:
        assert abs(exact - reference) <= 1e-9 * max(1.0, reference)


def test_a_short_on_thin_collateral_is_liquidated_by_a_rally_of_equity_over_notional_less_maintenance() -> None:
    table = table_for("BTC")
    short = (Leg(Symbol("BTC/USDT:USDT"), -10_000.0, 20_000.0, table),)  # first bracket: 0.4 % maintenance
    move = adverse_move(1_000.0, short)
    assert move is not None
    # 1,000 − 10,000·m = 0.004 · 10,000 · (1 + m)  →  m = 960 / 10,040
    assert abs(move - 960 / 10_040) < 1e-12
