"""`hedgebot ctl` checks its arguments before connecting and says clearly when no daemon answers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main

TOKEN = "ctl-test-token-0123456789abcdef"
ENV = "HEDGEBOT_TEST_CTL_TOKEN"


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A config whose control socket nobody serves (in a short directory: socket paths are limited)."""
    monkeypatch.setenv(ENV, TOKEN)
    with tempfile.TemporaryDirectory(prefix="hb-") as folder:
        path = Path(folder) / "ctl.toml"
        path.write_text(f'[control]\nlisten = "unix:{folder}/control.sock"\ntoken_env = "{ENV}"\n')
        yield path


def test_with_no_daemon_running_ctl_exits_three_with_a_clear_message(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ctl", "status", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("hedgebot ctl: no daemon answering at unix:")
    assert "control.sock (no such file or directory)" in err
    assert "is `hedgebot run` running with this config?" in err
    assert TOKEN not in err


def test_with_nothing_listening_on_the_port_ctl_exits_three(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    config = tmp_path / "ctl.toml"
    config.write_text(f'[control]\nlisten = "127.0.0.1:1"\ntoken_env = "{ENV}"\n')  # port 1: nothing there
    assert main(["ctl", "--config", str(config), "pause"]) == 3
    assert "no daemon answering at 127.0.0.1:1 (connection refused)" in capsys.readouterr().err


def test_without_a_token_ctl_exits_two_naming_where_the_token_goes(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV)
    assert main(["ctl", "status", "--config", str(config)]) == 2
    assert f"no control token in the environment variable {ENV}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set-ratio", "9"], "set-ratio: ratio must be between 0 and 3"),
        (["set-ratio", "0.5", "--for", "forever"], "set-ratio: for must be a duration"),
        (["set-ratio", "nan"], "set-ratio: ratio must be a number"),
        (["set-holding", "ETH!", "3"], "set-holding: asset must be a base asset"),
        (["set-holding", "ETH", "-1"], "set-holding: qty must be between 0"),
    ],
)
def test_bad_arguments_are_refused_before_connecting(
    config: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ctl", *argv, "--config", str(config)]) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_ctl_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ctl", "explode"])
    assert exited.value.code == 2
    assert "invalid choice: 'explode'" in capsys.readouterr().err


def test_a_timeout_that_is_not_positive_is_a_usage_error(
    config: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ctl", "status", "--timeout", "0", "--config", str(config)]) == 2
    assert "--timeout 0.0 must be a positive number of seconds" in capsys.readouterr().err
