"""Every governance event is visible after the run: `hedgebot report` (text and `--json`) on a backtest's journal
lists the state changes, collateral cuts and top-ups the backtest listed, and the HTML reports mark them, and a
liquidation, on every plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.rally import rally_backtest_args
from tests.report.test_html import Figures
from tests.report.test_liquidation import backtest as liquidating_backtest

# a reserve that tops up twice a day, then runs out: the rally brings state changes, top-ups and cuts
_RESERVE = {"amount": 1_000_000.0, "max_transfer": 2_000.0, "max_daily": 4_000.0}


def _rally(folder: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, Any]:
    code = main([*rally_backtest_args(folder, _RESERVE), "--json", *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


def _marks(page: str) -> dict[str, list[str]]:
    figures = Figures()
    figures.feed(page)
    marks: dict[str, list[str]] = {}
    for plot, spec in figures.data.items():
        rows = spec["marks"]
        assert isinstance(rows, list)
        marks[plot] = [str(mark["label"]) for mark in rows]
    return marks


def test_the_journal_report_lists_the_state_changes_cuts_and_top_ups_the_backtest_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _rally(tmp_path, capsys)
    assert result["state_changes"]
    assert result["collateral_cuts"]
    assert result["top_ups"]
    journal = str(tmp_path / "var" / "backtest.sqlite")
    assert main(["report", "--journal", journal, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("state_changes", "collateral_cuts", "top_ups"):
        assert report[key] == result[key], key
    assert main(["report", "--journal", journal]) == 0
    text = capsys.readouterr().out
    assert f"\nstate changes   {len(result['state_changes'])}\n" in text
    assert f"\ncollateral cuts {len(result['collateral_cuts'])}\n" in text
    assert f"\ntop-ups         {len(result['top_ups'])}\n" in text


def test_the_backtest_and_report_html_mark_every_governance_event_on_every_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "backtest.html"
    result = _rally(tmp_path, capsys, "--html", str(page))
    expected = len(result["state_changes"]) + len(result["collateral_cuts"]) + len(result["top_ups"])
    marks = _marks(page.read_text())
    assert marks
    for labels in marks.values():
        assert len(labels) == expected
        assert sum(label.startswith("collateral cut ") for label in labels) == len(result["collateral_cuts"])
        assert sum(label.startswith("top-up ") for label in labels) == len(result["top_ups"])
    report = tmp_path / "report.html"
    assert main(["report", "--journal", str(tmp_path / "var" / "backtest.sqlite"), "--html", str(report)]) == 0
    assert _marks(report.read_text()) == marks


def test_a_liquidation_is_marked_on_the_plots_of_the_backtest_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "backtest.html"
    liquidating_backtest(tmp_path, capsys, 1_500.0, "--html", str(page))  # the ladder off: liquidated once
    for labels in _marks(page.read_text()).values():
        assert sum(label.startswith("liquidation of the hedge account") for label in labels) == 1
