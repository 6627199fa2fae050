"""`set-ratio --for` runs in market time; on a sped-up paper run the answer says so, with the wall-clock span."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.control.render import command_text, ratio_text

HOUR_MS = 3_600_000


def test_a_sped_up_runs_set_ratio_answer_names_market_time_and_the_wall_clock_span() -> None:
    status = {"ratio": 0.5, "config_ratio": 1.0, "now": 0, "speed": 60.0,
              "ratio_override": {"ratio": 0.5, "until": 2 * HOUR_MS}}  # fmt: skip
    assert ratio_text(status) == (
        "ratio 0.5 until 1970-01-01 02:00 UTC, then the config's 1"
        " (market time: this run is sped up 60×, so that is 2m of wall time from now)"
    )


def test_a_run_at_the_wall_clocks_pace_says_nothing_about_clocks() -> None:
    status = {"ratio": 0.5, "config_ratio": 1.0, "now": 0, "speed": 1.0,
              "ratio_override": {"ratio": 0.5, "until": 2 * HOUR_MS}}  # fmt: skip
    assert "market time" not in ratio_text(status)


@pytest.mark.asyncio
async def test_the_daemon_of_a_sped_up_session_reports_its_speed_with_the_set_ratio_answer(
    tmp_path: Path,
    start_live: Callable[[Path, Any], AbstractAsyncContextManager[Any]],
    config_data: Callable[..., dict[str, Any]],
) -> None:
    running: Any
    async with start_live(tmp_path, config_data(tmp_path)) as running:
        answer = await running.api.command("set-ratio", {"ratio": 0.5, "for": "2h"})
        assert answer["speed"] == 1200.0  # the fixture's session runs 1,200 simulated seconds a second
        assert "(market time: this run is sped up 1200×, so that is 6s of wall time from now)" in command_text(
            "set-ratio", answer
        )
