"""A held series (its feed stopped, the caller can do without it) does not hold up the others' returns."""

from __future__ import annotations

import numpy as np

from bot.hedge.sampling import ReturnSampler

HOUR = 3_600_000


def test_a_held_series_is_sampled_as_unmoved_and_the_others_keep_their_returns() -> None:
    sampler = ReturnSampler(["A", "B"], HOUR)
    for step, (a, b) in enumerate([(100.0, 10.0), (110.0, 11.0)]):
        sampler.on_price(step * HOUR, "A", a)
        sampler.on_price(step * HOUR, "B", b)
        sampler.sample(step * HOUR)
    sampler.hold(["B"])  # B's feed stops
    sampler.on_price(2 * HOUR, "A", 121.0)
    returns = sampler.sample(2 * HOUR)
    assert returns is not None
    np.testing.assert_allclose(returns, [0.1, 0.0])


def test_a_released_series_does_not_return_the_whole_outage_in_one_step() -> None:
    sampler = ReturnSampler(["A", "B"], HOUR)
    sampler.on_price(0, "A", 100.0)
    sampler.on_price(0, "B", 10.0)
    sampler.sample(0)
    sampler.hold(["B"])
    for step in (1, 2):
        sampler.on_price(step * HOUR, "A", 100.0 * 1.1**step)
        sampler.sample(step * HOUR)
    sampler.hold([])  # B is back, 50 % higher than before the outage
    sampler.on_price(3 * HOUR, "A", 100.0 * 1.1**3)
    sampler.on_price(3 * HOUR, "B", 15.0)
    back = sampler.sample(3 * HOUR)
    assert back is not None
    np.testing.assert_allclose(back, [0.1, 0.0])  # the jump across the outage is not a one-step return
    sampler.on_price(4 * HOUR, "A", 100.0 * 1.1**4)
    sampler.on_price(4 * HOUR, "B", 16.5)
    after = sampler.sample(4 * HOUR)
    assert after is not None
    np.testing.assert_allclose(after, [0.1, 0.1])


def test_without_a_hold_a_silent_series_still_stops_every_sample() -> None:
    sampler = ReturnSampler(["A", "B"], HOUR)
    sampler.on_price(0, "A", 100.0)
    sampler.on_price(0, "B", 10.0)
    sampler.sample(0)
    sampler.on_price(HOUR, "A", 110.0)
    assert sampler.sample(HOUR) is None
    assert sampler.gaps == 1
