"""Tiers raise cover in stress and lower it in calm, without flapping at a boundary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.hedge.tiers import Tier, TierSelector

TABLE = [Tier(0.0, 0.3), Tier(0.6, 0.7), Tier(1.0, 1.0)]


def test_calm_volatility_gives_small_cover_and_stress_gives_full_cover() -> None:
    selector = TierSelector(TABLE, hysteresis=0.1)
    assert selector.ratio == 0.3
    change = selector.update(1.2)
    assert change is not None
    assert (change.old, change.new) == (0, 2)
    assert selector.ratio == 1.0


def test_a_metric_hovering_at_a_boundary_does_not_flap() -> None:
    selector = TierSelector(TABLE, hysteresis=0.1)
    selector.update(0.61)
    changes = [selector.update(v) for v in (0.59, 0.61, 0.58, 0.6, 0.55)]
    assert changes == [None] * 5
    assert selector.ratio == 0.7
    assert selector.update(0.53) is not None  # below 0.6 × 0.9: back to calm
    assert selector.ratio == 0.3


def test_thresholds_must_rise() -> None:
    with pytest.raises(ValueError, match="must rise strictly"):
        TierSelector([Tier(0.5, 0.3), Tier(0.2, 0.7)], 0.1)


@given(st.lists(st.floats(0, 3), max_size=50))
def test_the_tier_is_always_one_the_metric_is_within_hysteresis_of(metrics: list[float]) -> None:
    selector = TierSelector(TABLE, hysteresis=0.1)
    for metric in metrics:
        selector.update(metric)
        tier = selector.current
        assert metric >= TABLE[tier].above * 0.9
        if tier + 1 < len(TABLE):
            assert metric <= TABLE[tier + 1].above
