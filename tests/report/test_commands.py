"""`hedgebot report`, `backtest --html` and `stress` from the command line, on a real paper run's journal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.daemon import Daemon
from bot.store.journal import Journal
from bot.wiring import as_fast_as_possible, paper_venue, synthetic_plan

START = 1_704_067_200_000


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 6-day paper run on the synthetic market; its journal and its final status."""
    state = tmp_path_factory.mktemp("paper")
    config = parse_config(
        {"bot": {"state_dir": str(state), "span": "6d"}, "hedge": {"window": "2d", "min_samples": 24}}
    )
    journal = Journal(state / "journal.sqlite")
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    status = daemon.status()
    journal.close()
    return state / "journal.sqlite", status


def test_the_report_attributes_the_hedged_pnl_to_spot_hedge_funding_and_fees(
    paper_run: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--journal", str(paper_run[0]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    parts = report["attribution"]
    assert report["period"]["days"] == 6
    assert parts["spot"] + parts["hedge_price"] + parts["funding"] + parts["fees"] == pytest.approx(
        report["pnl"]["hedged"], abs=0.05
    )
    assert parts["fees"] < 0
    assert 0 < report["effectiveness"]["variance_reduction"] <= 1
    assert report["effectiveness"]["tracking_error"] > 0


def test_the_readable_report_shows_daily_rows_and_the_html_report_has_its_plots(
    paper_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    assert main(["report", "--journal", str(paper_run[0]), "--from", "2024-01-03", "--html", str(html)]) == 0
    text = capsys.readouterr().out
    assert "2024-01-04" in text
    assert "2024-01-02" not in text.split("\n\n")[1]  # --from cuts the period
    page = html.read_text()
    for plot in ("portfolio-value", "drawdown", "hedge-ratio", "correlation-beta", "funding-fees"):
        assert f'data-plot="{plot}"' in page


def test_a_report_without_a_journal_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--journal", str(tmp_path / "none.sqlite")]) == 2
    assert capsys.readouterr().err.startswith("hedgebot: no journal at")


def test_stress_on_a_saved_status_prints_losses_with_and_without_the_hedge(
    paper_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "status.json"
    saved.write_text(json.dumps({"ok": True, "status": paper_run[1]}))
    assert main(["stress", "--status", str(saved)]) == 0
    table = capsys.readouterr().out
    assert "hedged" in table.lower()
    assert "liquidat" in table.lower()


def test_stress_without_a_daemon_or_a_status_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_TOKEN", "a-token-for-a-daemon-that-is-down")
    config = tmp_path / "c.toml"
    config.write_text('[control]\nlisten = "127.0.0.1:1"\n')
    assert main(["stress", "--config", str(config)]) == 2
    assert "no daemon answering" in capsys.readouterr().err
