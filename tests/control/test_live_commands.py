"""Every operator command, sent over the real HTTP API to a realtime paper daemon, has its effect on orders.

The daemon hedges the synthetic market at SPEED (one simulated minute every 50 ms); each test waits for
conditions by polling /status, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.store.journal import Journal

pytestmark = pytest.mark.asyncio

StartLive = Callable[[Path, dict[str, Any]], AbstractAsyncContextManager[Any]]
RESTING_LIMITS = {
    "order_type": "limit",
    "limit_offset_bps": 0.0,
    "clip_notional": 20_000.0,
}  # a clip that rests


def hedged(status: dict[str, Any]) -> bool:
    return bool(status["positions"])


def flat_and_idle(status: dict[str, Any]) -> bool:
    return not status["positions"] and status["open_orders"] == 0 and not status["working_parents"]


async def events_pass(running: Any, count: int) -> dict[str, Any]:
    """The status once the daemon has handled `count` more market events (time passing, in market terms)."""
    start = (await running.api.status())["counts"]["events"]
    wanted = start + count
    return await running.api.eventually(lambda s: s["counts"]["events"] >= wanted, f"{count} more events")


async def test_pause_stops_new_orders_and_resume_restarts_them(live_daemon: Any) -> None:
    api = live_daemon.api
    await api.eventually(hedged, "the first hedge fill")
    paused = await api.command("pause")
    assert paused["paused"] is True
    assert (paused["open_orders"], paused["working_parents"]) == (0, [])
    orders_when_paused = live_daemon.journal.count("orders")
    await api.command("set-holding", {"asset": "ETH", "qty": 40.0})  # would need a bigger hedge at once

    later = await events_pass(live_daemon, 200)  # ~20 simulated minutes: 20 sampling steps, no decision
    assert later["counts"]["clips"] == paused["counts"]["clips"]
    assert live_daemon.journal.count("orders") == orders_when_paused
    assert later["last_decision"] == paused["last_decision"]

    resumed = await api.command("resume")
    assert (resumed["paused"], resumed["state"]) == (False, "active")
    after = await api.eventually(lambda s: s["counts"]["clips"] > later["counts"]["clips"], "a new clip")
    assert after["last_decision"]["trigger"] == "operator_resume"
    assert live_daemon.journal.count("orders") > orders_when_paused


async def test_flatten_closes_every_hedge_and_adds_nothing_afterwards(live_daemon: Any) -> None:
    api = live_daemon.api
    await api.eventually(hedged, "the first hedge fill")
    answer = await api.command("flatten")
    assert answer["state"] == "reducing"
    assert answer["last_decision"]["trigger"] == "operator_flatten"
    flat = await api.eventually(flat_and_idle, "zero hedge exposure")
    assert all(target["qty"] == 0 for target in flat["targets"].values())
    later = await events_pass(live_daemon, 200)
    assert (later["positions"], later["counts"]["clips"]) == ({}, flat["counts"]["clips"])
    assert (later["state"], later["trading_allows_adding"]) == ("reducing", False)


async def test_kill_cancels_the_working_order_and_halts(
    start_live: StartLive, tmp_path: Path, config_data: Any
) -> None:
    async with start_live(tmp_path, config_data(tmp_path, execution=RESTING_LIMITS)) as running:
        await running.api.eventually(lambda s: s["open_orders"] > 0, "a resting clip")
        killed = await running.api.command("kill")
        assert (killed["state"], killed["open_orders"]) == ("halted", 0)
        assert running.journal.open_orders() == []
        assert {row["status"] for row in running.journal.rows("orders")} == {"cancelled"}
        later = await events_pass(running, 200)
        assert (later["counts"]["clips"], later["state"]) == (killed["counts"]["clips"], "halted")
        assert running.journal.open_orders() == []


async def test_kill_with_flatten_closes_the_hedges_then_halts(live_daemon: Any) -> None:
    api = live_daemon.api
    await api.eventually(hedged, "the first hedge fill")
    answer = await api.command("kill", {"flatten": True})
    assert answer["state"] == "reducing"  # closing first ...
    halted = await api.eventually(lambda s: s["state"] == "halted", "the halt once flat")  # ... then halted
    assert flat_and_idle(halted)
    assert live_daemon.journal.open_orders() == []


async def test_set_ratio_rescales_the_hedge_target_at_once(live_daemon: Any) -> None:
    api = live_daemon.api
    before = await api.eventually(hedged, "the first hedge fill")
    assert before["ratio"] == 0.5
    answer = await api.command("set-ratio", {"ratio": 0.25, "for": "30d"})
    assert (answer["ratio"], answer["ratio_override"]["ratio"]) == (0.25, 0.25)
    after = await api.eventually(
        lambda s: s["last_decision"]["trigger"] == "operator_ratio", "the decision the override forces"
    )
    btc = after["targets"]["BTC/USDT:USDT"]["notional"]
    assert btc / after["exposure"] == pytest.approx(-0.25, rel=0.05)  # the fixed policy hedges ratio × value


async def test_set_holding_re_decides_on_the_new_portfolio(live_daemon: Any) -> None:
    api = live_daemon.api
    await api.eventually(hedged, "the first hedge fill")
    answer = await api.command("set-holding", {"asset": "SOL", "qty": 0.0})
    assert answer["holdings"]["SOL"] == 0.0
    after = await api.eventually(
        lambda s: s["last_decision"]["trigger"] == "portfolio_change", "the decision the new holding forces"
    )
    assert "SOL = 0" in after["last_decision"]["reason"]


async def test_reload_applies_a_valid_file_and_keeps_the_running_config_when_the_file_is_bad(
    live_daemon: Any,
) -> None:
    api, path = live_daemon.api, live_daemon.config_path
    running_text = path.read_text()
    assert "max_order_notional = 100000.0" in running_text
    good = running_text.replace("max_order_notional = 100000.0", "max_order_notional = 7000.0")
    path.write_text(good)
    applied = await api.command("reload")
    assert applied["headroom"]["max_order_notional"] == 7_000.0

    for bad_text, error in [
        (good.replace("[risk]", "[risk"), "not valid TOML"),
        (
            good.replace("[hedge]", '[hedge]\ninstruments = ["BTC/USDT:USDT"]'),
            "hedge.instruments cannot change",
        ),
        (good.replace("max_order_notional = 7000.0", "max_order_notional = -1"), "risk.max_order_notional"),
    ]:
        path.write_text(bad_text)
        code, answer = await api.post("/commands/reload", headers=dict(api.auth))
        assert (code, answer["ok"]) == (409, False)
        assert error in answer["error"]
        assert (await api.status())["headroom"]["max_order_notional"] == 7_000.0  # the running config stands
    outcomes = [row["outcome"] for row in live_daemon.journal.rows("commands")]
    assert outcomes[0] == "ok"
    assert all(outcome.startswith("refused: ") for outcome in outcomes[1:])


async def test_every_command_is_idempotent(live_daemon: Any) -> None:
    api = live_daemon.api
    await api.eventually(hedged, "the first hedge fill")
    for name, args, field, value in [
        ("pause", {}, "paused", True),
        ("resume", {}, "paused", False),
        ("set-ratio", {"ratio": 0.4, "for": "30d"}, "ratio", 0.4),
        ("set-holding", {"asset": "LINK", "qty": 1200.0}, "holdings", None),
        ("flatten", {}, "state", "reducing"),
        ("kill", {}, "state", "halted"),
    ]:
        first = await api.command(name, args)
        second = await api.command(name, args)
        assert first[field] == second[field], name
        if value is not None:
            assert second[field] == value, name
        assert second["open_orders"] <= first["open_orders"]


async def test_every_command_is_journaled_with_time_arguments_and_outcome(live_daemon: Any) -> None:
    api = live_daemon.api
    sent = [
        ("pause", {}),
        ("set-ratio", {"ratio": 0.3, "for": "2h"}),
        ("resume", {}),
        ("kill", {"flatten": True}),
    ]
    for name, args in sent:
        await api.command(name, args)
    rows = live_daemon.journal.rows("commands")
    assert [(row["command"], json.loads(row["args"]), row["outcome"]) for row in rows] == [
        (name, args, "ok") for name, args in sent
    ]
    times = [row["ts"] for row in rows]
    assert times == sorted(times)
    assert all(ts > 1_700_000_000_000 for ts in times)


async def test_ctl_prints_a_readable_status_and_json_answers(
    live_daemon: Any,
    tmp_path: Path,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await live_daemon.api.eventually(hedged, "the first hedge fill")
    port = live_daemon.session.control_address.port
    ctl_config = tmp_path / "ctl.toml"
    ctl_config.write_text(f'[control]\nlisten = "127.0.0.1:{port}"\ntoken_env = "HEDGEBOT_CTL_TEST_TOKEN"\n')
    monkeypatch.setenv("HEDGEBOT_CTL_TEST_TOKEN", token)

    def ctl(*argv: str) -> int:
        return main(["ctl", *argv, "--config", str(ctl_config)])

    assert await asyncio.to_thread(ctl, "status") == 0
    text = capsys.readouterr().out
    assert text.startswith("state      active")
    assert "BTC/USDT:USDT" in text
    assert "decision   " in text

    assert await asyncio.to_thread(ctl, "pause", "--json") == 0
    assert json.loads(capsys.readouterr().out)["paused"] is True

    assert await asyncio.to_thread(ctl, "set-holding", "xrp", "5") == 1  # the engine refuses: no XRP prices
    assert "set-holding refused: holding 'XRP' has no price stream" in capsys.readouterr().err

    monkeypatch.setenv("HEDGEBOT_CTL_TEST_TOKEN", "a-wrong-token-0123456789abcdef")
    assert await asyncio.to_thread(ctl, "resume") == 1
    err = capsys.readouterr().err
    assert "(HTTP 401)" in err
    assert "check that this token is the daemon's" in err
    assert (await live_daemon.api.status())["paused"] is True  # the refused resume changed nothing


@pytest.mark.parametrize(("on_shutdown", "left_open"), [("cancel", 0), ("leave", 1)])
async def test_stopping_cancels_or_leaves_working_orders_as_configured(
    start_live: StartLive, tmp_path: Path, config_data: Any, on_shutdown: str, left_open: int
) -> None:
    data = config_data(tmp_path, execution={**RESTING_LIMITS, "on_shutdown": on_shutdown})
    async with start_live(tmp_path, data) as running:
        await running.api.eventually(lambda s: s["open_orders"] > 0, "a resting clip")
        journal = running.journal  # stopped as on SIGTERM when the block ends, which closes the journal
    reopened = Journal(journal.path)
    try:
        assert len(reopened.open_orders()) == left_open
        commands = [(row["command"], json.loads(row["args"])) for row in reopened.rows("commands")]
        assert commands == ([("pause", {"on_shutdown": "cancel"})] if on_shutdown == "cancel" else [])
    finally:
        reopened.close()
