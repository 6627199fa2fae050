"""The console scripts end to end: `hedgebot run --realtime` driven by `hedgebot ctl`, signals included."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HEDGEBOT = Path(sys.executable).parent / "hedgebot"
TOKEN = "console-test-token-0123456789abcdef"
WAIT_S = 30.0

pytestmark = pytest.mark.slow


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    config: Path
    state_dir: Path
    socket: Path
    env: dict[str, str]

    @property
    def out(self) -> str:
        return (self.state_dir / "stdout.txt").read_text()

    @property
    def err(self) -> str:
        return (self.state_dir / "stderr.txt").read_text()

    def ctl(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HEDGEBOT), "ctl", *argv, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=WAIT_S,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        done = self.ctl("status", "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def commands(self) -> list[tuple[str, dict[str, Any], str]]:
        """The journal's audit trail, read alongside the running daemon (WAL lets a reader in)."""
        with sqlite3.connect(f"file:{self.state_dir / 'journal.sqlite'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT command, args, outcome FROM commands ORDER BY rowid").fetchall()
        return [(name, json.loads(args), outcome) for name, args, outcome in rows]


def until(condition: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    """Poll `condition` every 50 ms until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s:g}s waiting for {what}")
        time.sleep(0.05)  # a short pause between probes of a condition, not a synchronisation


def write_config(path: Path, state_dir: Path, listen: str) -> Path:
    path.write_text(
        f'[bot]\nstate_dir = "{state_dir}"\n'
        '[hedge]\npolicy = "fixed"\nratio = 0.5\nsample = "1m"\nwindow = "1h"\nmin_samples = 3\n'
        # one clip per hedge change: see ONE_CLIP in conftest.py for why flattening needs it for now
        "[risk]\nmax_order_notional = 100000.0\n[execution]\nclip_notional = 100000.0\n"
        f'[control]\nlisten = "{listen}"\n'
        '[metrics]\nlisten = "127.0.0.1:0"\n'  # any free port: a fixed one may be taken on this machine
    )
    return path


def start(config: Path, state_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Output goes to files: a pipe nobody reads would fill up and block the daemon mid-run.
    with (state_dir / "stdout.txt").open("wb") as out, (state_dir / "stderr.txt").open("wb") as err:
        return subprocess.Popen(
            [str(HEDGEBOT), "run", "--config", str(config), "--realtime", "--speed", "600"],
            stdout=out,
            stderr=err,
            env=env,
        )


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with tempfile.TemporaryDirectory(prefix="hb-") as folder:  # short: a socket path is at most 107 bytes
        control_socket = Path(folder) / "control.sock"
        config = write_config(tmp_path / "hedgebot.toml", tmp_path, f"unix:{control_socket}")
        env = {**os.environ, "HEDGEBOT_TOKEN": TOKEN}
        process = start(config, tmp_path, env)
        try:
            yield Daemon(process, config, tmp_path, control_socket, env)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(WAIT_S)


def test_ctl_drives_a_running_daemon_through_every_command_and_sigterm_stops_it_cleanly(
    daemon: Daemon,
) -> None:
    until(lambda: daemon.socket.exists() or daemon.process.poll() is not None, "the control socket")
    assert daemon.process.poll() is None, daemon.err
    assert daemon.socket.stat().st_mode & 0o777 == 0o600

    until(lambda: daemon.status()["positions"], "the first hedge fill")
    metrics = until(lambda: re.search(r"metrics on (http://127\.0\.0\.1:(\d+))/metrics\n", daemon.out), "metrics")
    assert metrics[2] != "9108"  # an ephemeral port: the default one may be taken on this machine
    with urllib.request.urlopen(f"{metrics[1]}/readyz", timeout=WAIT_S) as ready:  # noqa: S310 -- http on loopback
        assert ready.status == 200
    shown = daemon.ctl("status")
    assert shown.returncode == 0
    assert shown.stdout.startswith("state      active")

    assert daemon.ctl("flatten").returncode == 0
    until(lambda: not daemon.status()["positions"], "zero hedge exposure")
    assert daemon.ctl("resume").returncode == 0
    until(lambda: daemon.status()["positions"], "the hedge put back on")
    paused = daemon.ctl("pause")
    assert paused.returncode == 0
    assert paused.stdout.startswith("pause: ok; state active, paused, 0 open orders")
    assert daemon.ctl("set-ratio", "0.3", "--for", "30d").returncode == 0
    assert daemon.ctl("set-holding", "ETH", "12").returncode == 0
    assert daemon.ctl("reload").returncode == 0
    killed = daemon.ctl("kill", "--json")
    assert killed.returncode == 0
    assert json.loads(killed.stdout)["state"] == "halted"

    daemon.process.send_signal(signal.SIGHUP)
    until(lambda: ("reload", {"signal": "SIGHUP"}, "ok") in daemon.commands(), "the reload SIGHUP asks for")

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(WAIT_S) == 0, daemon.err
    assert "effectiveness" in daemon.out  # the run summary: the daemon finished, not killed
    assert f"control API listening on unix:{daemon.socket}\n" in daemon.out
    assert not daemon.socket.exists()
    assert [(name, outcome) for name, _, outcome in daemon.commands()] == [
        ("flatten", "ok"),
        ("resume", "ok"),
        ("pause", "ok"),
        ("set-ratio", "ok"),
        ("set-holding", "ok"),
        ("reload", "ok"),
        ("kill", "ok"),
        ("reload", "ok"),
    ]
    gone = daemon.ctl("status")
    assert gone.returncode == 3
    assert "no daemon answering at unix:" in gone.stderr
    everything = daemon.out + daemon.err + (daemon.state_dir / "hedgebot.log").read_text()
    assert TOKEN not in everything


def test_without_a_token_a_realtime_paper_run_warns_and_serves_no_api(tmp_path: Path) -> None:
    config = write_config(tmp_path / "hedgebot.toml", tmp_path, "127.0.0.1:0")
    env = {key: value for key, value in os.environ.items() if key != "HEDGEBOT_TOKEN"}
    process = start(config, tmp_path, env)
    try:
        err = tmp_path / "stderr.txt"
        until(lambda: "WITHOUT the control API" in err.read_text(), "the warning")
        out = tmp_path / "stdout.txt"
        until(lambda: " SELL " in out.read_text() or process.poll() is not None, "the first hedge order")
        assert process.poll() is None, err.read_text()
        process.send_signal(signal.SIGINT)
        assert process.wait(WAIT_S) == 0, err.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT_S)
    assert "control API listening" not in out.read_text()


def test_a_control_address_already_in_use_is_a_clear_error_and_exit_two(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path / "hedgebot.toml", tmp_path, f"127.0.0.1:{port}")
        done = subprocess.run(
            [str(HEDGEBOT), "run", "--config", str(config), "--realtime"],
            capture_output=True,
            text=True,
            env={**os.environ, "HEDGEBOT_TOKEN": TOKEN},
            timeout=WAIT_S,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.startswith(f"hedgebot: control.listen: cannot listen on 127.0.0.1:{port}")
    assert done.stderr.count("\n") == 1
