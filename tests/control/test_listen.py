"""Where the control API listens, and the refusal to serve plain HTTP beyond this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, ControlSection, parse_config
from bot.control.auth import ControlSetupError
from bot.control.client import connect_host
from bot.control.listen import ListenAddress, check_exposure, parse_listen
from bot.control.settings import control_settings

TOKEN = "t0ken-for-tests-0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8686", ListenAddress("127.0.0.1", 8686)),
        ("[::1]:9000", ListenAddress("::1", 9000)),
        ("localhost:0", ListenAddress("localhost", 0)),
        ("unix:/run/hedgebot/control.sock", ListenAddress(unix_path=Path("/run/hedgebot/control.sock"))),
    ],
)
def test_a_listen_address_is_host_and_port_or_a_unix_socket(text: str, expected: ListenAddress) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8686", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", ":8686", "unix:"])
def test_a_malformed_listen_address_is_named_in_the_error(text: str) -> None:
    with pytest.raises(ControlSetupError, match=r"control\.listen"):
        parse_listen(text)


LOCAL = ["127.0.0.1:8686", "127.8.9.10:1", "[::1]:8686", "localhost:0", "unix:/x.sock"]


@pytest.mark.parametrize("text", LOCAL)
def test_loopback_and_unix_sockets_are_served_without_tls(text: str) -> None:
    check_exposure(parse_listen(text), ControlSection())


@pytest.mark.parametrize("text", ["0.0.0.0:8686", "192.168.1.5:8686", "[::]:8686", "example.com:8686"])
def test_plain_http_beyond_loopback_is_refused(text: str) -> None:
    with pytest.raises(ControlSetupError, match="not a loopback address"):
        check_exposure(parse_listen(text), ControlSection())


def test_the_explicit_override_allows_plain_http_beyond_loopback() -> None:
    check_exposure(parse_listen("0.0.0.0:8686"), ControlSection(allow_remote=True))


def test_a_certificate_without_its_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        parse_config({"control": {"tls_cert": "/etc/hedgebot/cert.pem"}})


def test_live_mode_without_a_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEDGEBOT_TOKEN", raising=False)
    live = parse_config(
        {"bot": {"mode": "live"}, "market": {"source": "exchange"}, "portfolio": {"holdings": {"ETH": 1.0}}}
    )
    with pytest.raises(ControlSetupError, match="live mode needs the control API"):
        control_settings(live)


def test_paper_mode_without_a_token_runs_without_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEDGEBOT_TOKEN", raising=False)
    assert control_settings(parse_config({})) is None


def test_the_settings_never_show_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_TOKEN", TOKEN)
    settings = control_settings(parse_config({}))
    assert settings is not None
    assert settings.token == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


def test_a_client_reaches_a_daemon_on_every_interface_through_loopback() -> None:
    assert connect_host("0.0.0.0") == "127.0.0.1"  # noqa: S104 -- the address under test, nothing binds
    assert connect_host("::") == "::1"
    assert connect_host("10.0.0.2") == "10.0.0.2"
