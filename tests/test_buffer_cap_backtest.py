"""No cut-and-re-add flapping: after a collateral cut the decider does not add back hedge that would take the
buffer below the top-up step again, so a steady rally walks the ladder down step by step instead of cutting at
every decision."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.rally import rally_backtest_args


def _rally(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The rally of `bot.testing.rally` (BTC up 3 % an hour for 32 hours), a full SOL hedge."""
    code = main([*rally_backtest_args(folder), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


def _hours(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M").timestamp() / 3600


def test_after_a_collateral_cut_the_hedge_is_not_added_back_into_the_next_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _rally(tmp_path, capsys)
    assert result["liquidations"]["count"] == 0
    cuts = [cut["time"] for cut in result["collateral_cuts"]]
    assert cuts, "the rally takes the buffer below the reduce step at least once"
    # a cut restores ~35 %; a 3 %-an-hour rally then needs hours to eat 15 points, unless hedge is added back
    gaps = [_hours(later) - _hours(earlier) for earlier, later in itertools.pairwise(cuts)]
    assert all(gap >= 3 for gap in gaps), f"cut again within hours of a cut: {cuts}"
