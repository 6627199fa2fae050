"""deploy/: the systemd unit verifies, and the image and compose files say what the operator relies on.

Docker cannot run on the test machines, so the Dockerfile and compose file are checked statically; the
health check's Python one-liner is run for real against a loopback server.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.config import load_config
from bot.control.gate import ConnectionLimits

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "hedgebot.service"
EXEC_START = "/opt/hedgebot/.venv/bin/hedgebot run --config /etc/hedgebot/hedgebot.toml --realtime"


# ---- the systemd unit ---------------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """section → key → values in order (systemd allows a key more than once, e.g. SystemCallFilter)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_service_is_notify_type_with_a_watchdog_and_restarts_on_failure() -> None:
    service = unit_settings(UNIT.read_text())["Service"]
    assert service["Type"] == ["notify"]
    [watchdog] = service["WatchdogSec"]
    assert watchdog not in {"", "0", "infinity"}
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]  # a bad config does not fix itself


def test_the_service_bounds_its_open_files_above_the_control_apis_connection_cap() -> None:
    service = unit_settings(UNIT.read_text())["Service"]
    [limit] = service["LimitNOFILE"]
    assert limit.isdecimal()
    assert int(limit) > 4 * ConnectionLimits().max_connections  # room for the journal, logs and exchange sockets


def test_the_service_runs_the_daemon_as_its_own_user_and_reloads_with_sighup() -> None:
    service = unit_settings(UNIT.read_text())["Service"]
    assert service["User"] == ["hedgebot"]
    assert service["DynamicUser"] == ["no"]
    assert service["ExecStart"] == [EXEC_START]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["EnvironmentFile"] == ["-/etc/hedgebot/env"]


def test_the_service_can_write_only_its_state_and_log_directories() -> None:
    service = unit_settings(UNIT.read_text())["Service"]
    for setting, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[setting] == [value], setting
    assert service["ReadWritePaths"] == ["/var/lib/hedgebot /var/log/hedgebot"]


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed here (it comes with the systemd package)")
    return found


def verify(unit_text: str, folder: Path) -> str:
    """`systemd-analyze verify` on a copy of the unit; its complaints (it exits 0 on some) as one string.

    verify insists that ExecStart's binary exists, and /opt/hedgebot is not installed on a test machine,
    so the copy runs /bin/true with the same arguments; everything else is the unit as shipped.
    """
    copy = folder / "hedgebot.service"
    copy.write_text(unit_text.replace("/opt/hedgebot/.venv/bin/hedgebot", "/bin/true"))
    result = subprocess.run(
        [systemd_analyze(), "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}".strip()


def test_systemd_analyze_verifies_the_unit_without_a_complaint(tmp_path: Path) -> None:
    assert verify(UNIT.read_text(), tmp_path) == "exit 0"


def test_the_verifier_would_notice_a_misspelt_setting(tmp_path: Path) -> None:
    misspelt = UNIT.read_text().replace("ProtectHome=yes", "ProtectHomme=yes")
    assert "Unknown key" in verify(misspelt, tmp_path)


# ---- the container image ------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = pending.partition(" ")
            instructions.append((word.upper(), rest.strip()))
            pending = ""
    return instructions


def arguments(instruction: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == instruction]


def test_the_image_is_built_in_a_builder_stage_and_runs_from_a_slim_one() -> None:
    stages = arguments("FROM")
    assert len(stages) >= 2
    assert stages[0].endswith("AS builder")
    assert any(copy.startswith("--from=builder") for copy in arguments("COPY"))
    assert "${PYTHON_IMAGE}" in stages[-1]
    assert [line for line in arguments("ARG") if line.startswith("PYTHON_IMAGE=")] == [
        "PYTHON_IMAGE=python:3.11-slim-bookworm"
    ]


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = arguments("USER")
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_the_state_directory_is_a_volume() -> None:
    assert any("/var/lib/hedgebot" in volume for volume in arguments("VOLUME"))


def test_the_default_command_runs_paper_mode_in_realtime_with_the_image_config() -> None:
    [cmd] = arguments("CMD")
    assert json.loads(cmd) == ["hedgebot", "run", "--config", "/etc/hedgebot/hedgebot.toml", "--realtime"]
    config = load_config(DEPLOY / "hedgebot.container.toml")
    assert config.bot.mode == "paper"
    assert config.market.source == "synthetic"
    assert config.bot.state_dir == Path("/var/lib/hedgebot")


def test_every_file_the_image_copies_exists_and_passes_the_dockerignore() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    included = {line.removeprefix("!").rstrip("/") for line in ignore if line.startswith("!")}
    for copy in arguments("COPY"):
        if copy.startswith("--from="):
            continue
        *sources, _destination = [word for word in copy.split() if not word.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), source
            assert source.rstrip("/") in included, f"{source} is excluded from the build context"


def healthcheck_code() -> str:
    [healthcheck] = arguments("HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    code: str = command[2]
    assert "http://127.0.0.1:8686/health" in code
    return code


@pytest_asyncio.fixture
async def health_server() -> AsyncIterator[int]:
    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def run_healthcheck(port: int) -> int:
    """The image's health check, pointed at `port` instead of 8686 (which may be taken on this machine)."""
    code = healthcheck_code().replace(":8686/", f":{port}/")
    quiet = asyncio.subprocess.DEVNULL  # a refused connection prints a traceback; the exit status says it all
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stderr=quiet)
    return await asyncio.wait_for(process.wait(), timeout=30)


@pytest.mark.asyncio
async def test_the_health_check_passes_when_health_answers(health_server: int) -> None:
    assert await run_healthcheck(health_server) == 0


@pytest.mark.asyncio
async def test_the_health_check_fails_when_nothing_listens(health_server: int) -> None:
    assert await run_healthcheck(1) != 0  # port 1 (tcpmux): nothing listens there


# ---- compose ----------------------------------------------------------------------------------------


def tiny_yaml(text: str) -> dict[str, Any]:
    """The block subset of YAML the compose file uses: mappings, '- item' lists, JSON-style flow lists."""
    lines = []
    for raw in text.splitlines():
        stripped = re.sub(r"\s+#.*$", "", raw).rstrip()  # comments: the file puts none inside values
        if stripped.strip() and not stripped.lstrip().startswith("#"):
            lines.append((len(stripped) - len(stripped.lstrip()), stripped.strip()))
    value, rest = _block(lines, 0)
    assert not rest, f"unparsed lines: {rest}"
    assert isinstance(value, dict)
    return value


def _block(lines: list[tuple[int, str]], indent: int) -> tuple[Any, list[tuple[int, str]]]:
    if lines and lines[0][1].startswith("- "):
        items = []
        while lines and lines[0][0] == indent and lines[0][1].startswith("- "):
            items.append(_scalar(lines[0][1][2:]))
            lines = lines[1:]
        return items, lines
    mapping: dict[str, Any] = {}
    while lines and lines[0][0] == indent:
        key, _, value = lines[0][1].partition(":")
        lines = lines[1:]
        if value.strip():
            mapping[key] = _scalar(value.strip())
        elif lines and lines[0][0] > indent:
            mapping[key], lines = _block(lines, lines[0][0])
        else:
            mapping[key] = None
    return mapping, lines


def _scalar(text: str) -> Any:
    if text.startswith(("[", '"')):
        return json.loads(text)
    return text


@pytest.fixture
def compose() -> dict[str, Any]:
    return tiny_yaml((DEPLOY / "compose.yaml").read_text())


def test_compose_builds_the_image_from_the_repository_root(compose: dict[str, Any]) -> None:
    service = compose["services"]["hedgebot"]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve().is_file()


def test_compose_runs_paper_mode_in_realtime_with_the_state_on_a_named_volume(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["hedgebot"]
    assert service["command"] == ["hedgebot", "run", "--config", "/etc/hedgebot/hedgebot.toml", "--realtime"]
    assert service["volumes"] == ["hedgebot-state:/var/lib/hedgebot"]
    assert "hedgebot-state" in compose["volumes"]
    assert load_config(DEPLOY / "hedgebot.container.toml").bot.mode == "paper"


def test_compose_publishes_the_api_on_the_hosts_loopback_only_and_demands_a_token(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["hedgebot"]
    assert all(port.strip('"').startswith("127.0.0.1:") for port in service["ports"])
    assert service["environment"]["HEDGEBOT_TOKEN"].startswith("${HEDGEBOT_TOKEN:?")


def exposed_ports() -> set[int]:
    return {int(port.split("/")[0]) for line in arguments("EXPOSE") for port in line.split()}


def test_every_exposed_port_is_one_the_image_config_listens_on_for_the_port_mapping() -> None:
    """A server on the container's loopback cannot be reached through a port mapping: each EXPOSEd port must
    be listened on at 0.0.0.0 by the image's config (the control API and the metrics both)."""
    config = load_config(DEPLOY / "hedgebot.container.toml")
    listening = {config.control.listen, config.metrics.listen}
    assert config.metrics.enabled
    assert {f"0.0.0.0:{port}" for port in exposed_ports()} == listening


def test_compose_publishes_every_exposed_port_on_the_hosts_loopback(compose: dict[str, Any]) -> None:
    published = {}
    for mapping in compose["services"]["hedgebot"]["ports"]:
        host, host_port, container_port = mapping.strip('"').split(":")
        assert host == "127.0.0.1", mapping
        published[int(container_port)] = int(host_port)
    assert set(published) == exposed_ports()


def test_compose_drops_privileges(compose: dict[str, Any]) -> None:
    service = compose["services"]["hedgebot"]
    assert service["read_only"] == "true"
    assert service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges:true"]


# ---- the documentation ----------------------------------------------------------------------------


def test_the_readme_documents_the_paths_and_the_build_and_run_commands() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for needle in (
        "/etc/hedgebot",
        "/var/lib/hedgebot",
        "/var/log/hedgebot",
        "docker build -f deploy/Dockerfile -t hedgebot .",
        "docker compose -f deploy/compose.yaml up -d --build",
        "systemctl enable --now hedgebot",
    ):
        assert needle in readme, needle
