"""Top-up before cutting, in a backtest: a short hedge in a rally is kept by moving the reserve into the hedge
account (listed in the result), and cut only where the reserve's caps run out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.rally import rally_backtest_args


def _run(folder: Path, capsys: pytest.CaptureFixture[str], reserve: dict[str, Any]) -> dict[str, Any]:
    code = main([*rally_backtest_args(folder, reserve), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_large_reserve_is_moved_in_before_any_cut_and_every_top_up_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path, capsys, {"amount": 1_000_000.0, "max_transfer": 100_000.0, "max_daily": 1_000_000.0})
    top_ups = result["top_ups"]
    assert top_ups, "the rally should have drawn on the reserve"
    assert all(0 < row["amount"] <= 100_000 for row in top_ups)
    assert all("below top_up" in row["reason"] for row in top_ups)
    assert result["collateral_cuts"] == []
    assert result["liquidations"]["count"] == 0


def test_a_capped_reserve_tops_up_first_and_the_ladder_cuts_once_the_daily_cap_is_spent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path, capsys, {"amount": 1_000_000.0, "max_transfer": 2_000.0, "max_daily": 4_000.0})
    top_ups, cuts = result["top_ups"], result["collateral_cuts"]
    days = {row["time"][:10] for row in top_ups}
    assert all(sum(r["amount"] for r in top_ups if r["time"].startswith(day)) <= 4_000 for day in days)
    assert top_ups
    assert cuts
    assert min(row["time"] for row in top_ups) <= min(cut["time"] for cut in cuts)
    assert result["liquidations"]["count"] == 0
