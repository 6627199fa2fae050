"""One daemon per state directory: the lock refuses a second holder by name and PID, and never outlives its process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.lock import StateLocked, hold, state_lock

GUARD_S = 30.0  # the most a helper process may take to start; never a synchronisation delay

# A second process that takes the lock, says so on stdout, then waits for its stdin to close (or its SIGKILL).
_HOLDER = """
import sys
from pathlib import Path
from bot.store.lock import state_lock
lock = state_lock(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "locked\n"  # blocks until the child holds the lock (or dies: "")
    return process


def test_a_second_lock_on_the_same_file_is_refused_in_one_line_naming_the_file_and_the_holders_pid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hedgebot.lock"
    first = state_lock(path)
    try:
        with pytest.raises(StateLocked) as refused:
            state_lock(path)
    finally:
        first.release()
    message = str(refused.value)
    assert str(path) in message
    assert f"PID {os.getpid()}" in message
    assert "\n" not in message


def test_the_lock_file_holds_the_pid_of_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    with hold(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_a_released_lock_is_taken_again(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    with hold(path):
        pass
    with hold(path) as again:
        assert again.path == path


def test_a_refused_attempt_leaves_the_holders_pid_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    with hold(path):
        with pytest.raises(StateLocked):
            state_lock(path)
        assert path.read_text() == f"{os.getpid()}\n"


def test_a_pid_left_in_the_file_by_a_dead_process_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    path.write_text("999999999\n")  # a stale file: what a crash leaves; only the kernel lock counts
    with hold(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_the_state_directory_is_created_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state" / "hedgebot.lock"
    with hold(path):
        assert path.exists()


def test_another_process_holding_the_lock_is_named_by_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    holder = _holder(path)
    try:
        with pytest.raises(StateLocked, match=f"PID {holder.pid}\\b"):
            state_lock(path)
    finally:
        holder.communicate(timeout=GUARD_S)  # closing its stdin ends it
    with hold(path):
        pass


def test_a_lock_held_by_a_process_killed_with_sigkill_is_taken_at_once(tmp_path: Path) -> None:
    path = tmp_path / "hedgebot.lock"
    holder = _holder(path)
    holder.kill()
    holder.communicate(timeout=GUARD_S)
    with hold(path):
        assert path.read_text() == f"{os.getpid()}\n"
