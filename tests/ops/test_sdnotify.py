"""sd_notify: datagrams reach a real Unix socket, and nothing happens (or breaks) without one."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ops.sdnotify import SystemdNotifier, watchdog_interval_s, watchdog_loop


@pytest.fixture
def notify_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[socket.socket, str]]:
    """A listening datagram socket standing in for systemd; a short path, since sun_path has 108 bytes."""
    path = tmp_path_factory.mktemp("sd") / "notify"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(5)  # a guard against a hung test, not synchronisation: the datagram is already queued
    yield receiver, str(path)
    receiver.close()


def test_ready_sends_ready_and_a_status_line_to_the_notify_socket(
    notify_socket: tuple[socket.socket, str],
) -> None:
    receiver, path = notify_socket
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("reconciled 3 orders")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=reconciled 3 orders"
    notifier.close()


def test_watchdog_stopping_and_reloading_each_send_their_assignment(
    notify_socket: tuple[socket.socket, str],
) -> None:
    receiver, path = notify_socket
    notifier = SystemdNotifier(path)
    assert notifier.watchdog()
    assert receiver.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert receiver.recv(4096) == b"STOPPING=1"
    assert notifier.reloading()
    lines = receiver.recv(4096).decode().split("\n")
    assert lines[0] == "RELOADING=1"
    assert lines[1].startswith("MONOTONIC_USEC=")
    assert lines[1].removeprefix("MONOTONIC_USEC=").isdigit()
    notifier.close()


def test_an_abstract_socket_named_with_an_at_sign_is_reached() -> None:
    name = f"hedgebot-test-{uuid.uuid4().hex}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    receiver.settimeout(5)
    try:
        notifier = SystemdNotifier(f"@{name}")
        assert notifier.watchdog()
        assert receiver.recv(4096) == b"WATCHDOG=1"
        notifier.close()
    finally:
        receiver.close()


def test_without_notify_socket_every_call_is_a_quiet_no_op() -> None:
    notifier = SystemdNotifier.from_environment({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert not notifier.status("anything")


def test_a_socket_nobody_listens_on_is_reported_not_raised(tmp_path_factory: pytest.TempPathFactory) -> None:
    missing = tmp_path_factory.mktemp("sd") / "gone"
    notifier = SystemdNotifier(str(missing))
    assert notifier.enabled
    assert not notifier.watchdog()
    assert not notifier.watchdog()  # and again, with a fresh socket: still no exception


def test_sending_resumes_once_systemd_listens_again(notify_socket: tuple[socket.socket, str]) -> None:
    receiver, path = notify_socket
    notifier = SystemdNotifier(path)
    receiver.close()
    Path(path).unlink()
    assert not notifier.watchdog()
    again = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    again.bind(path)
    again.settimeout(5)
    try:
        assert notifier.watchdog()
        assert again.recv(4096) == b"WATCHDOG=1"
    finally:
        again.close()
        notifier.close()


@given(st.text(max_size=200))
def test_a_status_text_never_adds_a_second_assignment(text: str) -> None:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"hedgebot-test-{uuid.uuid4().hex}"
    receiver.bind("\0" + name)
    receiver.settimeout(5)
    try:
        notifier = SystemdNotifier(f"@{name}")
        if notifier.status(text):
            lines = receiver.recv(65536).decode().split("\n")
            assert len(lines) == 1
            assert lines[0].startswith("STATUS=")
        else:
            assert not text.split()  # only a blank status is not sent
        notifier.close()
    finally:
        receiver.close()


def test_the_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"},
    ],
)
def test_no_watchdog_when_it_is_off_malformed_or_meant_for_another_process(environ: dict[str, str]) -> None:
    if environ.get("WATCHDOG_PID") == str(os.getpid()):
        pytest.skip("this test process happens to be pid 1")
    assert watchdog_interval_s(environ) is None


@pytest.mark.asyncio
async def test_the_watchdog_loop_keeps_pinging_until_it_is_cancelled(
    notify_socket: tuple[socket.socket, str],
) -> None:
    receiver, path = notify_socket
    receiver.setblocking(False)  # read through the event loop, which the pinging task shares
    notifier = SystemdNotifier(path)
    pinging = asyncio.create_task(watchdog_loop(notifier, 0.001))
    loop = asyncio.get_running_loop()
    try:
        pings = [await asyncio.wait_for(loop.sock_recv(receiver, 4096), timeout=5) for _ in range(3)]
    finally:
        pinging.cancel()
        await asyncio.gather(pinging, return_exceptions=True)
        notifier.close()
    assert pings == [b"WATCHDOG=1"] * 3
