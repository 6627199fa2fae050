"""Named operators: each token has a name and a role, the role bounds what it may do, every command is journaled
with who gave it, through what and why, and tokens are rotated by rewriting a file, without a restart."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import logs
from bot.cli import main
from bot.clock import WallClock
from bot.config import load_config
from bot.control.auth import ControlSetupError
from bot.control.listen import ListenAddress
from bot.control.operators import OperatorRegistry, Role, parse_operators
from bot.control.server import ControlServer
from bot.control.settings import control_settings
from bot.live.assembly import build_daemon, synthetic_plan
from bot.live.daemon import Daemon
from bot.store.journal import Journal

ALICE = "alice-admin-token-0123456789abcdef"
TRADER = "tom-trader-token-0123456789abcdef"
VIEWER = "vera-viewer-token-0123456789abcdef"
OPERATORS = f"alice:admin:{ALICE}\ntom:trader:{TRADER}\nvera:viewer:{VIEWER}\n"
TIMEOUT = aiohttp.ClientTimeout(total=20)


def write_secret(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def write_config(tmp_path: Path, control: str = "", name: str = "hedgebot.toml") -> Path:
    path = tmp_path / name
    path.write_text(
        f'[bot]\nstate_dir = "{tmp_path}"\n'
        '[hedge]\npolicy = "fixed"\nratio = 0.5\nsample = "1m"\nwindow = "1h"\nmin_samples = 3\n'
        f'[control]\nlisten = "127.0.0.1:0"\n{control}\n'
    )
    return path


@asynccontextmanager
async def serving(config_path: Path, token: str = "") -> AsyncIterator[tuple[Daemon, Journal, str]]:
    """A started paper daemon (no feed: only requests change it) serving its control API on 127.0.0.1."""
    logs.configure(config_path.parent / "hedgebot.log", "info")
    config = load_config(config_path)
    journal = Journal(config_path.parent / "journal.sqlite")
    daemon = build_daemon(config, synthetic_plan(config, WallClock().now_ms(), config.span_ms, realtime=True), journal)
    await daemon.start()
    server = ControlServer(daemon, token)
    bound = await server.start(ListenAddress("127.0.0.1", 0))
    try:
        yield daemon, journal, f"http://127.0.0.1:{bound.port}"
    finally:
        await server.stop()
        await daemon.venue.close()
        journal.close()


async def call(
    base: str, method: str, path: str, token: str, body: Mapping[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        http.request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, await response.json()


@pytest.fixture
def operators_file(tmp_path: Path) -> Path:
    return write_secret(tmp_path / "operators", OPERATORS)


@pytest.mark.asyncio
async def test_a_viewer_reads_the_status_but_every_command_is_refused_403_and_changes_nothing(
    tmp_path: Path, operators_file: Path
) -> None:
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (_, journal, base):
        code, body = await call(base, "GET", "/status", VIEWER)
        assert code == 200
        assert body["status"]["paused"] is False
        for command in ("pause", "resume", "flatten", "kill", "reload", "set-holding"):
            code, body = await call(base, "POST", f"/commands/{command}", VIEWER, {"reason": "curious"})
            assert (code, body["ok"]) == (403, False), command
            assert f"vera is a viewer; {command} needs the" in body["error"]
        code, body = await call(base, "GET", "/status", VIEWER)
        assert body["status"]["paused"] is False
        assert journal.count("commands") == 0


@pytest.mark.asyncio
async def test_a_trader_may_pause_and_set_the_ratio_but_not_kill_or_reload(
    tmp_path: Path, operators_file: Path
) -> None:
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (_, journal, base):
        assert (await call(base, "POST", "/commands/pause", TRADER))[0] == 200
        assert (await call(base, "POST", "/commands/set-ratio", TRADER, {"ratio": 0.3, "for": "1h"}))[0] == 200
        code, body = await call(base, "POST", "/commands/kill", TRADER)
        assert code == 403
        assert "kill needs the admin role" in body["error"]
        assert (await call(base, "POST", "/commands/reload", TRADER))[0] == 403
        assert [row["command"] for row in journal.rows("commands")] == ["pause", "set-ratio"]


@pytest.mark.asyncio
async def test_an_admin_may_kill_and_each_command_is_journaled_with_the_operator_the_channel_and_the_reason(
    tmp_path: Path, operators_file: Path
) -> None:
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (_, journal, base):
        code, body = await call(base, "POST", "/commands/kill", ALICE, {"reason": "exchange\tincident\n#42"})
        assert (code, body["status"]["state"]) == (200, "halted")
        await call(base, "POST", "/commands/pause", TRADER, {"reason": "watching funding"})
        rows = journal.rows("commands")
        assert [(r["command"], r["operator"], r["via"], r["reason"], r["args"]) for r in rows] == [
            ("kill", "alice", "api", "exchange incident #42", "{}"),  # control characters became spaces
            ("pause", "tom", "api", "watching funding", "{}"),
        ]


@pytest.mark.asyncio
async def test_a_reason_that_is_not_text_or_too_long_is_a_400_and_nothing_is_done(
    tmp_path: Path, operators_file: Path
) -> None:
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (_, journal, base):
        code, body = await call(base, "POST", "/commands/pause", ALICE, {"reason": 42})
        assert (code, body["error"]) == (400, "reason must be text, got int")
        code, body = await call(base, "POST", "/commands/pause", ALICE, {"reason": "x" * 501})
        assert code == 400
        assert "at most 500" in body["error"]
        assert journal.count("commands") == 0


@pytest.mark.asyncio
async def test_rewriting_the_operators_file_rotates_tokens_without_a_restart(
    tmp_path: Path, operators_file: Path
) -> None:
    rotated = "tom-trader-rotated-0123456789abcdef"
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (_, _journal, base):
        assert (await call(base, "GET", "/status", TRADER))[0] == 200
        write_secret(operators_file, OPERATORS.replace(TRADER, rotated))
        assert (await call(base, "GET", "/status", TRADER))[0] == 401
        assert (await call(base, "GET", "/status", rotated))[0] == 200
        assert (await call(base, "GET", "/status", ALICE))[0] == 200


@pytest.mark.asyncio
async def test_rewriting_the_single_token_file_rotates_the_admin_operator_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEBOT_TOKEN", raising=False)
    old, new = "single-token-in-a-file-0123456789", "single-token-rotated-0123456789"
    token_file = write_secret(tmp_path / "token", old)
    async with serving(write_config(tmp_path, f'token_file = "{token_file}"'), old) as (_, _journal, base):
        assert (await call(base, "GET", "/status", old))[0] == 200
        write_secret(token_file, new)
        assert (await call(base, "GET", "/status", old))[0] == 401
        assert (await call(base, "GET", "/status", new))[0] == 200


@pytest.mark.asyncio
async def test_a_rewrite_that_does_not_parse_keeps_the_operators_it_had_and_is_logged_without_tokens(
    tmp_path: Path, operators_file: Path
) -> None:
    config = write_config(tmp_path, f'operators_file = "{operators_file}"')
    async with serving(config) as (_, _journal, base):
        write_secret(operators_file, OPERATORS + f"mallory:superuser:{'m' * 32}\n")
        assert (await call(base, "GET", "/status", TRADER))[0] == 200
    log = (tmp_path / "hedgebot.log").read_text()
    assert "operators_reload_refused" in log
    assert "role 'superuser' is not one of viewer, trader, admin" in log
    assert not any(secret in log for secret in (ALICE, TRADER, VIEWER, "m" * 32))


@pytest.mark.asyncio
async def test_operators_from_the_environment_sit_beside_the_single_token_which_is_the_admin_named_operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = "single-token-from-before-0123456789"
    monkeypatch.setenv("HEDGEBOT_OPERATORS", f"tom:trader:{TRADER}, vera:viewer:{VIEWER}")
    async with serving(write_config(tmp_path), single) as (_, journal, base):
        assert (await call(base, "POST", "/commands/kill", single, {"reason": "drill"}))[0] == 200
        assert (await call(base, "POST", "/commands/resume", TRADER))[0] == 200
        assert (await call(base, "POST", "/commands/pause", VIEWER))[0] == 403
        assert [(r["operator"], r["command"]) for r in journal.rows("commands")] == [
            ("operator", "kill"),
            ("tom", "resume"),
        ]


@pytest.mark.asyncio
async def test_ctl_sends_a_reason_and_ctl_audit_shows_who_did_what_through_ctl_and_why(
    tmp_path: Path, operators_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(write_config(tmp_path, f'operators_file = "{operators_file}"')) as (daemon, _journal, base):
        port = base.rsplit(":", 1)[1]
        config = write_config(tmp_path, name="ctl.toml")  # ctl finds the daemon's address in its config
        config.write_text(config.read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        monkeypatch.setenv("HEDGEBOT_TOKEN", TRADER)
        argv = ["ctl", "--config", str(config), "pause", "--reason", "BTC funding spike"]
        assert await asyncio.to_thread(main, argv) == 0
        assert daemon.status()["paused"] is True
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["ctl", "--config", str(config), "audit"]) == 0
        shown = capsys.readouterr().out
        assert "tom (ctl)" in shown
        assert "pause" in shown
        assert "— BTC funding spike" in shown
        assert await asyncio.to_thread(main, ["ctl", "--config", str(config), "kill", "--reason", "no"]) == 1
        assert "ask an admin for a role that may" in capsys.readouterr().err
    assert TRADER not in shown


def test_an_operators_file_readable_by_others_stops_the_start_naming_the_file(
    tmp_path: Path, operators_file: Path
) -> None:
    os.chmod(operators_file, 0o644)
    config = load_config(write_config(tmp_path, f'operators_file = "{operators_file}"'))
    with pytest.raises(ControlSetupError, match=r"operators: secret file .*operators is readable by others"):
        control_settings(config)


def test_with_only_named_operators_and_no_single_token_the_api_is_still_served(
    tmp_path: Path, operators_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEBOT_TOKEN", raising=False)
    config = load_config(write_config(tmp_path, f'operators_file = "{operators_file}"'))
    settings = control_settings(config)
    assert settings is not None
    assert settings.token == ""


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (f"bad name:admin:{ALICE}", "name must be"),
        (f"bob:root:{ALICE}", "role 'root' is not one of viewer, trader, admin"),
        ("bob:admin:short-token", "the token must be at least 16"),
        (f"bob:admin:{ALICE}\nbob:viewer:{VIEWER}", "the name(s) bob are given more than once"),
        (f"bob:admin:{ALICE}\neve:viewer:{ALICE}", "two operators share one token"),
    ],
    ids=["bad name", "unknown role", "short token", "name twice", "token shared"],  # ids: no token in the output
)
def test_a_bad_operator_entry_is_refused_naming_the_entry_and_never_the_token(entry: str, problem: str) -> None:
    with pytest.raises(ControlSetupError) as refused:
        OperatorRegistry(parse_operators(entry, "$HEDGEBOT_OPERATORS"))
    assert problem in str(refused.value)
    assert ALICE not in str(refused.value)
    assert "short-token" not in str(refused.value)


def test_a_token_identifies_its_operator_and_anything_else_no_one() -> None:
    registry = OperatorRegistry(parse_operators(OPERATORS, "test"))
    found = registry.identify(TRADER)
    assert found is not None
    assert (found.name, found.role) == ("tom", Role.TRADER)
    assert registry.identify(TRADER + "x") is None
    assert registry.identify("") is None
    assert TRADER not in repr(found)
