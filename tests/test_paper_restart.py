"""A realtime paper daemon killed with SIGKILL and restarted on its state directory, three times, continues its
paper account exactly where the journal has it: the same positions and balance, trade ids that go on (never
"1" again), no fill dropped as a duplicate, no position adopted at reconciliation."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Symbol
from bot.execution.market_rules import default_instrument
from bot.report.pnl import AverageCost, fills_from_rows
from bot.testing.processes import HEDGEBOT, toml_text

pytestmark = pytest.mark.asyncio
ROUNDS = 3  # kill -9 and restart this many times
GUARD_S = 30.0  # the most a condition may take; never a synchronisation delay
COLLATERAL = 50_000.0


def write_config(state_dir: Path, eth: float) -> Path:
    """A realtime paper run that hedges within simulated minutes; each round holds more ETH, so it trades."""
    path = state_dir / "paper.toml"
    path.write_text(
        toml_text(
            {
                "bot": {"state_dir": str(state_dir), "log_level": "info"},
                "portfolio": {"quote": "USDT"},
                "portfolio.holdings": {"ETH": eth, "SOL": 250.0},
                "hedge": {"policy": "fixed", "ratio": 0.5, "sample": "1m", "window": "1h", "min_samples": 3},
                "execution": {"clip_notional": 2_000.0, "clip_interval": "30s"},
                "paper": {"collateral": COLLATERAL},
                "metrics": {"listen": "127.0.0.1:0"},
            }
        )
    )
    return path


def read(journal: Path, query: str) -> list[tuple[Any, ...]]:
    """Rows from the daemon's journal, read-only (it may be writing)."""
    if not journal.exists():
        return []
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return db.execute(query).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        db.close()


async def until(probe: Callable[[], bool], what: str, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not probe():
        assert process.returncode is None, f"the daemon exited ({process.returncode}) before {what}"
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)  # between probes of the journal, not a synchronisation


def fills(journal: Path) -> int:
    return len(read(journal, "SELECT trade_id FROM fills"))


def logged(value: Any) -> dict[str, float]:
    """A mapping as the JSON log shows it (structlog renders a dict by its repr)."""
    return dict(ast.literal_eval(value) if isinstance(value, str) else value)


def account_as_journaled(journal: Path) -> dict[str, Any]:
    [(state,)] = read(journal, "SELECT state FROM paper_account")
    return dict(json.loads(state))


def journal_positions(journal: Path) -> dict[str, float]:
    rows = read(journal, "SELECT symbol, sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills GROUP BY symbol")
    return {symbol: round(qty, 9) for symbol, qty in rows if round(qty, 9)}


def journal_wallet(journal: Path) -> float:
    """The collateral plus what the journal's fills realised and its funding, less its fees."""
    names = ("symbol", "trade_id", "client_id", "side", "qty", "price", "fee", "fee_currency", "liquidity", "ts")
    query = f"SELECT {', '.join(names)} FROM fills ORDER BY rowid"  # noqa: S608 -- the constant column names
    rows = [dict(zip(names, row, strict=True)) for row in read(journal, query)]
    book = AverageCost(lambda symbol: default_instrument(Symbol(symbol)))
    for fill in fills_from_rows(rows):
        book.apply(fill)
    [(fees, funding)] = read(
        journal, "SELECT (SELECT coalesce(sum(fee), 0) FROM fills), (SELECT coalesce(sum(amount), 0) FROM funding)"
    )
    return COLLATERAL + book.realised - fees + funding


async def test_a_paper_daemon_killed_and_restarted_three_times_continues_its_account(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "HEDGEBOT_TOKEN"}  # no control API needed
    trade_ids_by_round: list[list[int]] = []
    journaled: list[dict[str, Any]] = []  # the paper account as journaled when each run was killed
    for round_no in range(ROUNDS + 1):
        config = write_config(tmp_path, eth=10.0 + 6.0 * round_no)
        known = {int(t) for (t,) in read(journal, "SELECT trade_id FROM fills")}
        with (tmp_path / f"run-{round_no}.out").open("w") as out, (tmp_path / f"run-{round_no}.err").open("w") as err:
            process = await asyncio.create_subprocess_exec(
                str(HEDGEBOT), "run", "--config", str(config), "--realtime", "--speed", "1200",
                stdout=out, stderr=err, cwd=tmp_path, env=env,
            )  # fmt: skip
            try:
                await until(lambda: fills(journal) > len(known), "a new fill", process)  # noqa: B023 -- awaited here
                process.send_signal(signal.SIGKILL)  # mid-run, a parent of clips likely still working
                await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        ids = sorted(int(t) for (t,) in read(journal, "SELECT trade_id FROM fills"))
        trade_ids_by_round.append([i for i in ids if i not in known])
        # after every kill: the journaled paper account is what the journal's fills and funding add up to
        state = account_as_journaled(journal)
        held = {symbol: round(qty, 9) for symbol, qty, *_ in state["account"]["positions"]}
        assert held == journal_positions(journal)
        assert state["account"]["trade_seq"] == max(ids)
        assert state["wallet_balance"] == pytest.approx(journal_wallet(journal), abs=1e-6)
        journaled.append({"positions": held, "wallet_balance": state["wallet_balance"]})

    log = [json.loads(line) for line in (tmp_path / "hedgebot.log").read_text().splitlines() if line.startswith("{")]
    events = [line.get("event") for line in log]
    restored = [line for line in log if line.get("event") == "paper_account_restored"]
    taken_up = [
        {
            "positions": {s: round(q, 9) for s, q in logged(line["positions"]).items()},
            "wallet_balance": line["wallet_balance"],
        }
        for line in restored
    ]
    assert taken_up == journaled[:ROUNDS]  # each restart took up the account the killed run had journaled
    assert "fill_duplicate_ignored" not in events
    assert read(journal, "SELECT count(*) FROM position_adoptions") == [(0,)]
    assert read(journal, "SELECT count(*) FROM reconciliations WHERE outcome != 'ok'") == [(0,)]
    every_id = [i for ids in trade_ids_by_round for i in ids]
    assert every_id == list(range(1, len(every_id) + 1))  # each round's ids follow the last round's: none reused
    assert all(ids for ids in trade_ids_by_round)
