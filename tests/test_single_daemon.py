"""One daemon per state directory, with real processes: a second `hedgebot run` on a state directory a running
daemon holds exits 2 at once, naming the lock file and the holder's PID, before it opens the journal or talks to
the exchange; a daemon killed with SIGKILL leaves nothing that blocks its restart (issue 14, item 1).

Every wait is on an observable condition (the daemon's control API answering, a process's exit), bounded by
the kit's GUARD_S; none is a fixed delay.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.store.lock import hold
from bot.testing.processes import (
    GUARD_S,
    HEDGEBOT,
    eventually,
    exchange_in_real_time,
    hedgebot,
    hedgebot_run,
    hedged_status,
    status_when,
    stopped,
    toml_text,
    write_config,
)

TOKEN = "single-daemon-test-token-0123456789abcdef"
ENV = {"HEDGEBOT_TOKEN": TOKEN}
LIVE_ENV = {**ENV, "HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET}


def _paper_config(tmp_path: Path) -> Path:
    """The embedded paper config on the synthetic market, its state and control socket in `tmp_path`."""
    path = tmp_path / "paper.toml"
    sections = {
        "bot": {"state_dir": str(tmp_path)},
        "control": {"listen": f"unix:{tmp_path / 'control.sock'}"},
        "metrics": {"enabled": False},
    }
    path.write_text(toml_text(sections))
    return path


def _control(tmp_path: Path) -> ControlClient:
    return ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN)


def _journal_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read-only (the running daemon keeps writing through its own connection)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables}  # noqa: S608
    finally:
        db.close()


async def _quiet(control: ControlClient, process: asyncio.subprocess.Process, journal: Path) -> None:
    """The daemon is serving, paused, and past its start-up valuation (the next is an hour away at speed 1):
    nothing it does on its own writes the journal while the test looks."""
    await status_when(control, process, lambda status: True, "the daemon's control API")
    await control.command("pause")
    await status_when(
        control, process, lambda s: not s["working_parents"] and not s["closing_parents"], "no hedge working"
    )
    await eventually(lambda: _journal_rows(journal)["valuations"], "the start-up valuation", process)


@pytest.mark.asyncio
async def test_a_second_paper_realtime_daemon_on_the_same_state_dir_exits_2_naming_the_holders_pid_and_changes_nothing(
    tmp_path: Path,
) -> None:
    config = _paper_config(tmp_path)
    async with _realtime(config) as first, _control(tmp_path) as control:
        await _quiet(control, first, tmp_path / "journal.sqlite")
        before = _journal_rows(tmp_path / "journal.sqlite")
        second = await hedgebot("run", "--realtime", "--config", str(config), env=ENV, cwd=tmp_path)
        after = _journal_rows(tmp_path / "journal.sqlite")
        still = await control.status()
        code, _, err = await stopped(first)
    assert second.code == 2
    assert second.err.strip().count("\n") == 0  # one line
    assert str(tmp_path / "hedgebot.lock") in second.err
    assert f"PID {first.pid}" in second.err
    assert "Traceback" not in second.err
    assert second.out == ""
    assert after == before
    assert still["positions"] is not None  # the first daemon still answers
    assert code == 0, err


@pytest.mark.asyncio
async def test_a_second_live_daemon_on_the_same_state_dir_exits_2_and_sends_nothing_to_the_exchange(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time() as sim:
        config = write_config(tmp_path / "live.toml", sim, "live", tmp_path)
        async with hedgebot_run(config, LIVE_ENV) as first, _control(tmp_path) as control:
            await hedged_status(control, sim, first)
            await control.command("pause")
            sent_before, orders_before = sim.sent_client_order_ids(), _orders(sim)
            journal_before = _journal_rows(tmp_path / "journal.sqlite")
            requests: list[str] = []
            sim.taps.append(lambda phase, method, path: bool(requests.append(f"{method} {path}")))
            second = await hedgebot("run", "--config", str(config), env=LIVE_ENV, cwd=tmp_path)
            sim.taps.clear()
            sent_after, orders_after = sim.sent_client_order_ids(), _orders(sim)
            journal_after = _journal_rows(tmp_path / "journal.sqlite")
            code, _, err = await stopped(first)
    assert second.code == 2, second.err
    assert f"PID {first.pid}" in second.err
    assert str(tmp_path / "hedgebot.lock") in second.err
    assert second.err.strip().count("\n") == 0
    assert sent_after == sent_before
    assert orders_after == orders_before
    # the first daemon, paused, keeps polling the account; the second must not have set up anything
    assert not [r for r in requests if "leverage" in r or "marginType" in r or "listenKey" in r], requests
    assert journal_after == journal_before
    assert code == 0, err


@pytest.mark.asyncio
async def test_a_daemon_killed_with_sigkill_leaves_no_lock_that_blocks_its_restart(tmp_path: Path) -> None:
    config = _paper_config(tmp_path)
    async with _realtime(config) as first, _control(tmp_path) as control:
        await status_when(control, first, lambda status: True, "the first daemon's control API")
        first.kill()
        await asyncio.wait_for(first.wait(), GUARD_S)
    assert (tmp_path / "hedgebot.lock").read_text().strip() == str(first.pid)  # the dead holder's PID stays
    async with _realtime(config) as restarted, _control(tmp_path) as control:
        await status_when(control, restarted, lambda status: True, "the restarted daemon's control API")
        assert (tmp_path / "hedgebot.lock").read_text().strip() == str(restarted.pid)
        code, _, err = await stopped(restarted)
    assert code == 0, err


def _orders(sim: ExchangeSim) -> list[tuple[str, str, float]]:
    return [(o.client_id, o.status, o.executed_qty) for o in sim.exchange.orders()]


@asynccontextmanager
async def _realtime(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`hedgebot run --realtime --config CONFIG` (paper, synthetic market); killed if still running at the end."""
    process = await asyncio.create_subprocess_exec(
        str(HEDGEBOT), "run", "--realtime", "--config", str(config),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=config.parent, env={**os.environ, **ENV},
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# ---- the other commands that write a state directory ------------------------------------------------------


def test_a_backtest_while_another_holds_the_state_dirs_backtest_lock_exits_2_naming_it_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n')
    with hold(tmp_path / "backtest.lock"):  # flock: refused to another open of the file, in this process too
        code = main(["backtest", "--config", str(config), "--prices", "p.csv", "--funding", "f.csv"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert f"{tmp_path / 'backtest.lock'} is held by another hedgebot (PID {os.getpid()})" in err
    assert not (tmp_path / "backtest.sqlite").exists()


def test_a_fast_paper_run_while_a_daemon_holds_the_state_dir_exits_2_and_keeps_its_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "journal.sqlite"
    journal.write_bytes(b"the running daemon's journal")
    with hold(tmp_path / "hedgebot.lock"):
        code = main(["run", "--config", str(_paper_config(tmp_path))])
    assert code == 2
    assert f"PID {os.getpid()}" in capsys.readouterr().err
    assert journal.read_bytes() == b"the running daemon's journal"  # not rotated to .prev, not started afresh
    assert not (tmp_path / "journal.sqlite.prev").exists()
