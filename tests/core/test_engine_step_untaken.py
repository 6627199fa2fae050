"""`Engine.step_untaken`: a sampling step no instant has worked yet, asked without taking it (issue 18: the
wall-clock timer leaves such a step to its prints, `Daemon._timer_instant`)."""

from __future__ import annotations

from bot.domain import MS_PER_HOUR
from tests.core.test_engine_stale_proxy import _engine, _hour, _paths


def test_a_step_is_untaken_until_an_instant_of_it_is_worked_and_asking_takes_nothing() -> None:
    engine, paths = _engine(proxy_select=False), _paths()
    _hour(engine, paths, 0)
    assert engine.step_untaken(MS_PER_HOUR - 1) is None  # inside the step worked at hour 0
    later = MS_PER_HOUR + 1_500  # the wall clock just past the next step's start
    assert engine.step_untaken(later) == MS_PER_HOUR
    assert engine.step_untaken(later) == MS_PER_HOUR  # asking twice: still untaken
    samples = engine.estimator.sampler.samples
    _hour(engine, paths, 1)  # its prints arrive and the instant is worked
    assert engine.step_untaken(later) is None
    assert engine.estimator.sampler.samples == samples + 1
