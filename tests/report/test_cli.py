"""`hedgebot report`, `backtest --html` and `stress` from the command line, on a real paper run's journal."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.live.assembly import as_fast_as_possible, paper_venue, synthetic_plan
from bot.live.daemon import Daemon
from bot.report.backtest import result_json
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal

START = 1_704_067_200_000


@dataclass(frozen=True)
class PaperRun:
    journal: Path
    status: dict[str, Any]
    summary: RunSummary


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> PaperRun:
    """A 6-day paper run on the synthetic market; its journal, its final status and its run summary."""
    state = tmp_path_factory.mktemp("paper")
    config = parse_config(
        {"bot": {"state_dir": str(state), "span": "6d"}, "hedge": {"window": "2d", "min_samples": 24}}
    )
    journal = Journal(state / "journal.sqlite")
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    daemon = Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms)
    summary = asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    status = daemon.status()
    journal.close()
    return PaperRun(state / "journal.sqlite", status, summary)


def report_json(run: PaperRun, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["report", "--journal", str(run.journal), "--json", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_the_report_attributes_the_hedged_pnl_to_spot_hedge_funding_and_fees(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--journal", str(paper_run.journal), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    parts = report["attribution"]
    assert report["period"]["days"] == 6
    assert parts["spot"] + parts["hedge_price"] + parts["funding"] + parts["fees"] == pytest.approx(
        report["pnl"]["hedged"], abs=0.05
    )
    assert parts["fees"] < 0
    assert 0 < report["effectiveness"]["variance_reduction"] <= 1
    assert report["effectiveness"]["tracking_error"] > 0


def test_the_reports_totals_agree_with_the_run_summary_costs_of_the_first_trades_included(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(paper_run, capsys)
    run = result_json(paper_run.summary)
    totals = paper_run.summary.totals
    assert totals.fees > 0
    assert totals.slippage_cost > 0
    assert report["pnl"] == {"hedged": run["hedged"]["pnl"], "unhedged": run["unhedged"]["pnl"]}
    assert report["max_drawdown"] == {
        "hedged": run["hedged"]["max_drawdown"],
        "unhedged": run["unhedged"]["max_drawdown"],
    }
    assert report["attribution"]["fees"] == -round(totals.fees, 2)
    assert report["attribution"]["slippage"] == -round(totals.slippage_cost, 2)
    assert report["attribution"]["funding"] == round(totals.funding, 2)
    assert report["hedge_pnl"]["fees"] == -round(totals.fees, 2)
    assert report["effectiveness"]["variance_reduction"] == run["effectiveness"]["variance_reduction"]
    assert report["effectiveness"]["drawdown_reduction"] == run["effectiveness"]["drawdown_reduction"]
    assert report["period"]["days"] == run["period"]["days"]


def test_the_json_report_has_a_row_per_day_with_its_values_and_pnl_split(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(paper_run, capsys)
    daily = report["daily"]
    assert [row["date"] for row in daily] == [f"2024-01-0{day}" for day in range(1, 7)]
    opening_hedged = daily[0]["hedged_value"] - sum(
        daily[0][part] for part in ("spot", "hedge_price", "funding", "fees")
    )
    hedged = [opening_hedged, *(row["hedged_value"] for row in daily)]
    for before, row in zip(hedged, daily, strict=False):
        parts = row["spot"] + row["hedge_price"] + row["funding"] + row["fees"]
        assert parts == pytest.approx(row["hedged_value"] - before, abs=0.05)
        assert row["realised"] + row["unrealised"] == pytest.approx(row["hedge_price"], abs=0.02)
        assert row["unhedged_value"] > 0
        assert 0 < row["hedge_ratio"] < 2
    assert report["pnl"]["hedged"] == pytest.approx(hedged[-1] - hedged[0], abs=0.05)
    assert sum(row["fees"] for row in daily) == pytest.approx(report["attribution"]["fees"], abs=0.05)


def test_realised_and_unrealised_hedge_pnl_add_up_to_the_hedge_price_pnl(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(paper_run, capsys)
    hedge = report["hedge_pnl"]
    assert hedge["realised"] + hedge["unrealised"] == pytest.approx(report["attribution"]["hedge_price"], abs=0.02)
    assert hedge["realised"] + hedge["unrealised"] + hedge["funding"] + hedge["fees"] == pytest.approx(
        hedge["total"], abs=0.02
    )
    assert hedge["unrealised_open"] == hedge["unrealised"]  # opened from nothing: all of it is still open
    positions = paper_run.summary.positions
    assert positions
    assert hedge["unrealised_open"] != 0


def test_a_later_period_opens_at_the_last_valuation_before_it(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = report_json(paper_run, capsys)["daily"]
    later = report_json(paper_run, capsys, "--from", "2024-01-03")
    assert later["daily"] == whole[2:]
    assert later["pnl"]["hedged"] == pytest.approx(whole[-1]["hedged_value"] - whole[1]["hedged_value"], abs=0.02)


def test_the_report_gives_var_and_es_of_its_own_days_the_worst_day_bounding_the_var(
    paper_run: PaperRun, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(paper_run, capsys)
    tail = report["tail_risk"]
    assert tail["days"] == report["period"]["days"]
    worst = -min(day["spot"] for day in report["daily"])  # the unhedged book's worst day
    assert tail["historical"]["unhedged"]["var"] <= tail["historical"]["unhedged"]["es"] <= worst + 0.01
    assert main(["report", "--journal", str(paper_run.journal)]) == 0
    assert "one-day value at risk and expected shortfall at 99%, from 6 days of this journal" in capsys.readouterr().out


def test_the_readable_report_shows_daily_rows_and_the_html_report_has_its_plots(
    paper_run: PaperRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    assert main(["report", "--journal", str(paper_run.journal), "--from", "2024-01-03", "--html", str(html)]) == 0
    text = capsys.readouterr().out
    assert "2024-01-04" in text
    assert "2024-01-02" not in text.split("\n\n")[1]  # --from cuts the period
    page = html.read_text()
    for plot in ("portfolio-value", "drawdown", "hedge-ratio", "correlation-beta", "funding-fees"):
        assert f'data-plot="{plot}"' in page


def test_a_report_without_a_journal_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--journal", str(tmp_path / "none.sqlite")]) == 2
    assert capsys.readouterr().err.startswith("hedgebot: no journal at")


def saved_status(paper_run: PaperRun, tmp_path: Path) -> Path:
    """The paper run's status as `hedgebot ctl status --json` saves it, for `stress --status`."""
    saved = tmp_path / "status.json"
    saved.write_text(json.dumps({"ok": True, "status": paper_run.status}))
    return saved


def test_stress_on_a_saved_status_prints_losses_with_and_without_the_hedge(
    paper_run: PaperRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = saved_status(paper_run, tmp_path)
    assert main(["stress", "--status", str(saved)]) == 0
    table = capsys.readouterr().out
    assert "hedged" in table.lower()
    assert "liquidat" in table.lower()


def test_stress_takes_the_operators_shock_sizes(
    paper_run: PaperRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = saved_status(paper_run, tmp_path)
    sizes = ["--drop", "30", "--drop", "12.5", "--btc-up", "15", "--alts-down", "0"]
    sizes += ["--funding-spike", "-0.5", "--settlements", "6", "--haircut", "35"]
    assert main(["stress", "--status", str(saved), *sizes]) == 0
    rows = [line.split("  ")[0] for line in capsys.readouterr().out.splitlines()[2:8]]
    assert rows == [
        "now",
        "all assets −30%",
        "all assets −12.5%",
        "BTC +15%, others unchanged",
        "funding −0.5% × 6",
        "collateral haircut −35%",
    ]


def test_stress_by_default_keeps_its_sizes(
    paper_run: PaperRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = saved_status(paper_run, tmp_path)
    assert main(["stress", "--status", str(saved)]) == 0
    table = capsys.readouterr().out
    for name in ("all assets −20%", "all assets −40%", "BTC +10%, others −20%", "funding −0.3% × 9", "haircut −20%"):
        assert name in table


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--drop", "150", "--drop 150: must be a percentage above 0 and below 100"),
        ("--drop", "0", "--drop 0: must be a percentage above 0 and below 100"),
        ("--drop", "thirty", "--drop thirty: must be a percentage above 0 and below 100"),
        ("--btc-up", "-5", "--btc-up -5: must be a percentage above 0 and below 1000"),
        ("--alts-down", "inf", "--alts-down inf: must be a percentage at least 0 and below 100"),
        ("--alts-down", "-1", "--alts-down -1: must be a percentage at least 0 and below 100"),
        ("--funding-spike", "nan", "--funding-spike nan: must be a percentage other than 0, above -100 and below 100"),
        ("--funding-spike", "0", "--funding-spike 0: must be a percentage other than 0"),
        ("--settlements", "2.5", "--settlements 2.5: must be a whole number from 1 to 1000"),
        ("--haircut", "101", "--haircut 101: must be a percentage above 0 and at most 100"),
    ],
)
def test_a_bad_shock_size_is_one_line_naming_the_flag_exit_two(
    flag: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    never_read = tmp_path / "absent-status.json"  # refused before the status is looked for
    assert main(["stress", "--status", str(never_read), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hedgebot: {message}")
    assert err.count("\n") == 1


def test_stress_without_a_daemon_or_a_status_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_TOKEN", "a-token-for-a-daemon-that-is-down")
    config = tmp_path / "c.toml"
    config.write_text('[control]\nlisten = "127.0.0.1:1"\n')
    assert main(["stress", "--config", str(config)]) == 2
    assert "no daemon answering" in capsys.readouterr().err
