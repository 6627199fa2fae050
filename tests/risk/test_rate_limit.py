"""Backing off after the venue rate-limits an order: the wait it asks for, or a doubling back-off, capped."""

from __future__ import annotations

import pytest

from bot.domain import MS_PER_MINUTE, MS_PER_SECOND
from bot.risk.rate_limit import RateLimitBackoff

T = 1_767_225_600_000


def test_each_refusal_in_a_row_doubles_the_back_off_up_to_its_cap() -> None:
    backoff = RateLimitBackoff()
    waits = [backoff.refused(T, retry_after_s=None) - T for _ in range(8)]
    assert [w // MS_PER_SECOND for w in waits] == [10, 20, 40, 80, 160, 320, 600, 600]


def test_a_longer_wait_the_venue_asks_for_is_honoured() -> None:
    backoff = RateLimitBackoff()
    assert backoff.refused(T, retry_after_s=60.0) == T + MS_PER_MINUTE  # a 418 ban's Retry-After


def test_an_order_the_venue_takes_ends_the_streak() -> None:
    backoff = RateLimitBackoff()
    backoff.refused(T, None)
    later = backoff.refused(T, None)
    backoff.placed()
    assert backoff.refused(later, None) == later + 10 * MS_PER_SECOND


def test_the_back_off_is_over_once_at_its_end() -> None:
    backoff = RateLimitBackoff()
    until = backoff.refused(T, None)
    assert [backoff.over(until - 1), backoff.over(until), backoff.over(until + 1)] == [False, True, False]


def test_a_refusal_during_a_back_off_never_shortens_it() -> None:
    backoff = RateLimitBackoff(initial_ms=10 * MS_PER_SECOND)
    first = backoff.refused(T, retry_after_s=120.0)
    assert backoff.refused(T + 1, retry_after_s=0.0) == first


def test_the_reason_says_how_many_refusals_and_until_when() -> None:
    backoff = RateLimitBackoff()
    backoff.refused(T, None)
    assert backoff.reason(T, "429 -1003") == (
        "rate-limited by the venue (1 in a row: 429 -1003); no order for 10s, until 2026-01-01 00:00:10 UTC"
    )


def test_a_back_off_needs_a_positive_start_under_its_cap() -> None:
    with pytest.raises(ValueError, match="initial_ms"):
        RateLimitBackoff(initial_ms=0)
