"""A metrics or alerts setup that cannot work stops `hedgebot run` with one line naming the setting and exit 2
(which systemd does not restart), before the venue is reached; `check-config` warns about what depends on the
environment."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

NO_SINK = (
    "hedgebot: alerts.enabled = true but no sink: set alerts.webhook_url (or $HEDGEBOT_ALERT_WEBHOOK_URL)"
    " or alerts.telegram_chat_id\n"
)
NOWHERE = "http://127.0.0.1:1"  # port 1 (tcpmux): nothing listens there, so a venue opened first would fail


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A control token and API keys are set; no alert sink is."""
    monkeypatch.setenv("HEDGEBOT_TOKEN", "setup-test-token-0123456789abcdef")
    monkeypatch.setenv("HEDGEBOT_API_KEY", "setup-test-key")
    monkeypatch.setenv("HEDGEBOT_API_SECRET", "setup-test-secret")
    monkeypatch.delenv("HEDGEBOT_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("HEDGEBOT_TELEGRAM_TOKEN", raising=False)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def write_config(folder: Path, *, live: bool, **sections: Mapping[str, Any]) -> Path:
    data: dict[str, dict[str, Any]] = {
        "bot": {"state_dir": str(folder / "state")},
        "control": {"listen": "127.0.0.1:0"},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    if live:
        data["bot"]["mode"] = "live"
        data["market"] = {"source": "exchange"}
        data["venue"] = {"endpoint": NOWHERE}
        data["portfolio.holdings"] = {"ETH": 10.0}  # priced by the ETH perpetual's index: no spot source needed
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    lines = []
    for name, values in data.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path = folder / "hedgebot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(config: Path, *, realtime: bool) -> int:
    return main(["run", "--config", str(config), *(["--realtime"] if realtime else [])])


@pytest.mark.parametrize("live", [False, True], ids=["realtime paper", "live"])
def test_alerts_on_with_nowhere_to_send_stop_the_run_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live: bool
) -> None:
    config = write_config(tmp_path, live=live, alerts={"enabled": True})
    assert run(config, realtime=not live) == 2
    assert capsys.readouterr().err == NO_SINK
    assert not (tmp_path / "state").exists()  # no journal, no log: nothing started


@pytest.mark.parametrize("live", [False, True], ids=["realtime paper", "live"])
def test_a_metrics_address_in_use_is_one_line_and_exit_two_before_the_venue_is_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], taken_port: int, live: bool
) -> None:
    config = write_config(tmp_path, live=live, metrics={"listen": f"127.0.0.1:{taken_port}"})
    assert run(config, realtime=not live) == 2  # a venue reached first would have failed: exit 1
    assert capsys.readouterr().err == (
        f"hedgebot: metrics.listen: cannot listen on 127.0.0.1:{taken_port} (Address already in use)\n"
    )


def test_a_telegram_chat_without_its_token_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, live=True, alerts={"enabled": True, "telegram_chat_id": "-100200300"})
    assert run(config, realtime=False) == 2
    assert capsys.readouterr().err == (
        "hedgebot: alerts.telegram_chat_id is set but $HEDGEBOT_TELEGRAM_TOKEN holds no Telegram token\n"
    )


def test_check_config_warns_that_alerts_have_nowhere_to_send_in_this_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, live=True, alerts={"enabled": True})
    assert main(["check-config", str(config)]) == 0  # the file is valid; the daemon's environment may differ
    err = capsys.readouterr().err
    assert err.startswith("hedgebot: warning: alerts.enabled = true but no sink: ")
    assert "$HEDGEBOT_ALERT_WEBHOOK_URL" in err
    assert "`hedgebot run` refuses to start" in err
    assert "environment" in err
    assert err.count("\n") == 1


def test_check_config_says_nothing_more_when_the_variable_names_a_webhook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_ALERT_WEBHOOK_URL", f"{NOWHERE}/hook")
    config = write_config(tmp_path, live=True, alerts={"enabled": True})
    assert main(["check-config", str(config)]) == 0
    assert capsys.readouterr().err == ""
