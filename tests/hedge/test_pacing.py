"""Rebalances are paced by a cooldown and an hourly cap."""

from __future__ import annotations

from bot.domain import MS_PER_MINUTE
from bot.hedge.pacing import RebalancePacer


def test_a_second_rebalance_inside_the_cooldown_is_held_back_with_the_reason() -> None:
    pacer = RebalancePacer(cooldown_ms=10 * MS_PER_MINUTE, max_per_hour=6)
    pacer.record(0)
    reason = pacer.blocked_reason(5 * MS_PER_MINUTE)
    assert reason is not None
    assert reason.startswith("cooldown")
    assert pacer.blocked_reason(10 * MS_PER_MINUTE) is None


def test_the_hourly_cap_holds_back_rebalances_until_the_oldest_is_an_hour_old() -> None:
    pacer = RebalancePacer(cooldown_ms=0, max_per_hour=3)
    for minute in (0, 1, 2):
        pacer.record(minute * MS_PER_MINUTE)
    assert (pacer.blocked_reason(30 * MS_PER_MINUTE) or "").startswith("hourly cap")
    assert pacer.blocked_reason(60 * MS_PER_MINUTE) is None


def test_a_cooldown_longer_than_an_hour_still_holds() -> None:
    pacer = RebalancePacer(cooldown_ms=6 * 60 * MS_PER_MINUTE, max_per_hour=60)
    pacer.record(0)
    assert (pacer.blocked_reason(2 * 60 * MS_PER_MINUTE) or "").startswith("cooldown")
