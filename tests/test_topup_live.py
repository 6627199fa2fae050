"""Top-ups live: `hedgebot run` in live mode, hedging through the real ccxt client against the loopback exchange,
moves its spot-wallet reserve into the futures account by Binance's universal transfer when the buffer falls
below the top-up step; killed -9 around a transfer, the restart neither repeats nor loses it.

The exchange's account starts thin (2,500 USDT against a 20,000 USDT hedge), with 20,000 USDT in its spot
wallet. Conditions are awaited by asking the daemon's control API or the exchange's state, never by sleeping.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.exchange_sim.faults import Phase
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.store.journal import Journal
from bot.testing.crash_points import TRANSFER_PATH, DaemonProcesses, arm, transfer_point
from bot.testing.processes import (
    ETH_PERP,
    GUARD_S,
    eventually,
    exchange_in_real_time,
    hedgebot_run,
    status_when,
    stopped,
    write_config,
)

pytestmark = pytest.mark.asyncio

TOKEN = "topup-live-test-token-0123456789abcdef"
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
THIN = SimSettings(collateral=2_500.0, spot_reserve=20_000.0)
RESERVE = {"amount": 20_000.0, "wallet": "spot", "max_transfer": 3_000.0, "max_daily": 20_000.0}
THIN_SECTIONS: dict[str, dict[str, Any]] = {
    "risk": {"max_price_age": "30s", "max_leverage": 20.0, "max_hedge_loss": 1.0, "max_hedge_daily_loss": 1.0},
    "risk.reserve": RESERVE,
    "venue": {"leverage": 20, "request_window": "1s"},
}


def _config(path: Path, sim: ExchangeSim) -> Path:
    sections = {**THIN_SECTIONS, "venue": {**THIN_SECTIONS["venue"], "endpoint": sim.base_url}}
    return write_config(path / "live.toml", sim, "live", path, **sections)


def _top_ups(state: Path) -> dict[str, dict[str, Any]]:
    """The journal's top-ups: each transfer id's latest record."""
    journal = Journal(state / "journal.sqlite")
    try:
        latest: dict[str, dict[str, Any]] = {}
        for _, _, key, record in journal.executions("top_up"):
            latest[key] = {**latest.get(key, {}), **record}
        return latest
    finally:
        journal.close()


def _count_transfer_posts(sim: ExchangeSim) -> list[int]:
    """A tap counting the transfer requests the exchange processes (the kill taps drop theirs before)."""
    seen = [0]

    def tap(phase: Phase, method: str, path: str) -> bool:
        if phase is Phase.AFTER and (method, path) == ("POST", TRANSFER_PATH):
            seen[0] += 1
        return False

    sim.taps.append(tap)
    return seen


async def test_the_live_daemon_tops_up_its_thin_account_from_the_spot_wallet_by_universal_transfer(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time(THIN, live_minutes=30) as sim:
        config = _config(tmp_path, sim)
        async with (
            hedgebot_run(config, KEYS) as process,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):

            def hedged_and_topped_up(status: dict[str, Any]) -> bool:
                collateral = status["collateral"]
                hedged = abs(status["positions"].get(ETH_PERP, 0.0) + 10.0) < 0.05 and not status["working_parents"]
                topped_up = collateral["reserve"]["moved"] > 0 and collateral["reserve"]["in_flight"] is None
                return hedged and topped_up and (collateral["buffer"] or 0.0) >= 0.30

            status = await status_when(control, process, hedged_and_topped_up, "the 10 ETH hedged after top-ups")
            code, _, err = await stopped(process)
        history = list(sim.exchange.transfers.history)
        spot_left = sim.exchange.wallets.free("MAIN", "USDT")
        wallet = sim.exchange.account.wallet_balance
    journaled = _top_ups(tmp_path)
    assert code == 0, err
    assert history
    assert all(r.type == "MAIN_UMFUTURE" and r.amount <= 3_000 for r in history)
    moved = sum(r.amount for r in history)
    assert spot_left == Decimal(20_000) - moved
    assert wallet > 2_500.0 + float(moved) - 100.0  # the futures wallet holds it (less fees paid)
    executed = {r["venue_id"] for r in journaled.values() if r["status"] == "executed"}
    assert executed == {str(r.tran_id) for r in history}  # each transfer journaled, with the exchange's id
    assert status["collateral"]["reserve"]["moved"] == float(moved)
    assert status["collateral"]["step"] in ("ok", "warn")  # back above the top-up step: no cut was needed


@pytest.mark.parametrize(
    ("phase", "executed_before_restart"),
    [(Phase.BEFORE, False), (Phase.AFTER, True)],
    ids=["dropped before the exchange processed it", "executed, never acknowledged"],
)
async def test_killed_during_a_transfer_the_restart_neither_repeats_nor_loses_it(
    tmp_path: Path, phase: Phase, executed_before_restart: bool
) -> None:
    processes = DaemonProcesses()
    try:
        async with exchange_in_real_time(THIN, live_minutes=30) as sim:
            config = _config(tmp_path, sim)
            env = {**KEYS}
            processed = _count_transfer_posts(sim)
            first = processes.start(["run", "--config", str(config)], env, tmp_path / "run-1.out")
            armed = arm(sim, transfer_point("transfer", phase, 1), first)
            await asyncio.wait_for(armed.fired.wait(), GUARD_S)
            assert await asyncio.wait_for(first.exited(), GUARD_S) == -9
            at_kill = _top_ups(tmp_path)
            assert [r["status"] for r in at_kill.values()] == ["sent"]  # journaled before it was sent
            assert len(sim.exchange.transfers.history) == int(executed_before_restart)

            second = processes.start(["run", "--config", str(config)], env, tmp_path / "run-2.out")
            killed_id = next(iter(at_kill))

            def resolved() -> dict[str, dict[str, Any]] | None:
                records = _top_ups(tmp_path)
                later = [r for key, r in records.items() if key != killed_id and r["status"] == "executed"]
                return records if records[killed_id]["status"] != "sent" and later else None

            records = await eventually(resolved, "the killed transfer resolved and a later one executed")
            async with ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control:
                await eventually(control.status, "the daemon's control API (its signal handlers are installed)")
            second.terminate()
            assert await asyncio.wait_for(second.exited(), GUARD_S) == 0, second.text()
            history = {str(r.tran_id): r for r in sim.exchange.transfers.history}
    finally:
        processes.kill_all()
    records = _top_ups(tmp_path)  # as the daemon left it: a top-up may follow the one awaited before the stop
    killed = records[killed_id]
    assert killed["status"] == ("executed" if executed_before_restart else "not_executed")
    executed = [r["venue_id"] for r in records.values() if r["status"] == "executed"]
    assert sorted(executed) == sorted(history)  # nothing lost: each exchange transfer is a journaled top-up, once
    assert processed[0] == len(history) == len(executed)  # nothing repeated: one request per transfer executed
