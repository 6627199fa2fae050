"""A backtest shows what governance did: the collateral buffer cuts a short hedge in a rally before it is
liquidated, and the result lists every state change, every cut and every top-up (none without a reserve)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.rally import rally_backtest_args


def _backtest(folder: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    code = main([*rally_backtest_args(folder), *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_a_short_hedge_in_a_rally_is_cut_by_the_collateral_buffer_instead_of_being_liquidated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result: dict[str, Any] = json.loads(_backtest(tmp_path, capsys, "--json"))
    assert result["liquidations"]["count"] == 0
    cuts = result["collateral_cuts"]
    assert cuts, "the buffer fell below reduce in the rally: the hedge was cut"
    assert all(0 < cut["fraction"] <= 1 for cut in cuts)
    assert all(qty <= 0 for cut in cuts for qty in cut["targets"].values())  # smaller shorts, never flipped
    assert any(change["reason"].startswith("collateral: ") for change in result["state_changes"])
    assert result["top_ups"] == []  # no reserve configured


def test_the_text_result_lists_the_state_changes_the_cuts_and_the_top_ups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _backtest(tmp_path, capsys)
    assert "\nstate changes   " in text
    assert "\ncollateral cuts " in text
    assert "  cut " in text
    assert "top-ups         0 (no reserve configured)" in text
