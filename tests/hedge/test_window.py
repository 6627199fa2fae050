"""The sample window holds exactly the samples of (t − window, t], oldest first, however it grows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.hedge.window import SampleWindow

WINDOW = 100


@given(st.lists(st.integers(min_value=0, max_value=2 * WINDOW), min_size=1, max_size=300))
def test_the_window_holds_exactly_the_samples_newer_than_its_length_in_arrival_order(
    steps: list[int],
) -> None:
    window = SampleWindow(2, WINDOW)
    pushed: list[tuple[int, float]] = []
    ts = 0
    for k, step in enumerate(steps):
        ts += step
        gone = window.expire(ts)
        leaving = [value for t, value in pushed if t <= ts - WINDOW]
        pushed = [(t, value) for t, value in pushed if t > ts - WINDOW]
        assert gone[:, 0].tolist() == leaving
        window.push(ts, np.array([float(k), -float(k)]))
        pushed.append((ts, float(k)))
        assert window.times().tolist() == [t for t, _ in pushed]
        assert window.rows()[:, 0].tolist() == [value for _, value in pushed]
        assert window.first_seq == window.next_seq - len(pushed)


def test_a_sample_exactly_one_window_old_has_left_it() -> None:
    window = SampleWindow(1, WINDOW)
    window.push(0, np.array([1.0]))
    assert len(window.expire(WINDOW - 1)) == 0
    assert window.expire(WINDOW).tolist() == [[1.0]]
    assert len(window) == 0


def test_more_samples_than_the_buffer_ever_held_keep_their_order_across_the_wrap() -> None:
    window = SampleWindow(1, 10_000)
    for k in range(50):
        window.push(k, np.array([float(k)]))
    window.expire(10_030)  # drop the first 31, so the next pushes wrap around the ring
    for k in range(50, 500):
        window.push(10_030 + k, np.array([float(k)]))
    assert window.rows()[:, 0].tolist() == [float(k) for k in range(31, 500)]


def test_time_going_backwards_is_refused() -> None:
    window = SampleWindow(1, WINDOW)
    window.push(50, np.array([1.0]))
    with pytest.raises(ValueError, match="time never goes back"):
        window.expire(49)


@pytest.mark.parametrize(("n", "window_ms"), [(0, WINDOW), (1, 0), (1, -5)])
def test_a_window_without_series_or_length_is_refused(n: int, window_ms: int) -> None:
    with pytest.raises(ValueError, match=r"n=|window_ms="):
        SampleWindow(n, window_ms)
