"""The command line: check-config, run and backtest, with one clear line and exit 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.ops.alerts import WebhookSink, sinks_from_config

REPO = Path(__file__).resolve().parents[1]


def test_check_config_prints_the_resolved_config_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(REPO / "config" / "live.example.toml")]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["bot"]["mode"] == "live"
    assert resolved["venue"]["api_key_env"] == "HEDGEBOT_API_KEY"


def test_check_config_masks_a_webhook_url_written_in_the_file_and_the_daemon_still_posts_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://hooks.slack.com/services/T000/B000/written-in-the-file-3c9d"
    config = tmp_path / "alerts.toml"
    config.write_text(f'[alerts]\nenabled = true\nwebhook_url = "{url}"\n')
    assert main(["check-config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["alerts"]["webhook_url"] == "**********"
    assert "written-in-the-file" not in out + err
    [sink] = sinks_from_config(load_config(config).alerts)
    assert sink == WebhookSink(url)


def test_check_config_names_the_bad_key_and_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[hedge]\npolicy = "yolo"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    expected = "'fixed', 'beta', 'min_variance', 'tiered', 'protective_put' or 'cppi'"
    assert f"hedge.policy: got 'yolo', expected {expected}" in err


def test_a_backtest_with_a_missing_file_is_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "backtest",
            "--config",
            str(REPO / "config" / "backtest.toml"),
            "--prices",
            str(tmp_path / "nope.csv.gz"),
            "--funding",
            str(tmp_path / "nope2.csv.gz"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.csv.gz" in err


def test_a_backtest_date_that_is_not_a_date_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["backtest", "--config", "x.toml", "--prices", "p", "--funding", "f", "--start", "2021-13-01"])
    assert exited.value.code == 2
    assert "'2021-13-01' is not a date" in capsys.readouterr().err


def test_an_empty_date_range_is_a_clear_error(
    prices_1h: Path, funding_8h: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "backtest",
            "--config",
            str(REPO / "config" / "backtest.toml"),
            "--prices",
            str(prices_1h),
            "--funding",
            str(funding_8h),
            "--start",
            "2030-01-01",
            "--end",
            "2030-02-01",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("hedgebot: ")


def test_an_unknown_symbol_is_a_clear_error(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n[portfolio.holdings]\nFOO = 1.0\n')
    code = main(["backtest", "--config", str(config), "--prices", str(prices_1h), "--funding", str(funding_8h)])
    assert code == 2
    assert "FOO" in capsys.readouterr().err


def test_the_console_script_runs_a_short_paper_session_and_prints_a_summary(tmp_path: Path) -> None:
    config = tmp_path / "paper.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\nspan = "3d"\n[hedge]\nwindow = "2d"\nmin_samples = 24\n')
    hedgebot = Path(sys.executable).parent / "hedgebot"
    done = subprocess.run(
        [str(hedgebot), "run", "--config", str(config)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "effectiveness" in done.stdout
    assert " SELL " in done.stdout  # one human line per hedge order
    assert (tmp_path / "journal.sqlite").exists()
    assert (tmp_path / "hedgebot.log").read_text().startswith("{")
