"""`hedgebot stress` asks a running daemon's control API for its book (a realtime paper session here)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

pytestmark = pytest.mark.asyncio


def hedged(status: dict[str, Any]) -> bool:
    return bool(status["positions"])


def cells(table: str, scenario: str) -> list[str]:
    """The row of one scenario, cut into its columns (they are two or more spaces apart)."""
    [row] = [line for line in table.splitlines() if line.startswith(scenario + "  ")]
    return [cell.strip() for cell in row.split("  ") if cell.strip()]


def money(text: str) -> float:
    return float(text.replace(",", ""))


async def test_stress_shocks_the_book_a_running_daemon_reports(
    live_daemon: Any, tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await live_daemon.api.eventually(hedged, "the first hedge fill")
    port = live_daemon.session.control_address.port
    config = tmp_path / "stress.toml"
    config.write_text(f'[control]\nlisten = "127.0.0.1:{port}"\ntoken_env = "HEDGEBOT_STRESS_TEST_TOKEN"\n')
    monkeypatch.setenv("HEDGEBOT_STRESS_TEST_TOKEN", token)

    argv = ["stress", "--config", str(config), "--drop", "30", "--haircut", "50"]
    assert await asyncio.to_thread(main, argv) == 0
    table = capsys.readouterr().out
    after = await live_daemon.api.status()

    now = cells(table, "now")
    crash = cells(table, "all assets −30%")
    assert money(now[1]) == 0.0
    exposure = [before["exposure"], after["exposure"]]  # the book moves with the market while it is asked
    assert min(exposure) * 0.29 < money(crash[1]) < max(exposure) * 0.31  # 30 % of the spot holdings
    assert money(crash[2]) < money(crash[1])  # the daemon's short hedge takes some of it back
    equity = [before["equity"], after["equity"]]
    assert min(equity) * 0.99 < money(now[3]) < max(equity) * 1.01
    assert "collateral haircut −50%" in table
    assert "all assets −20%" not in table
    for symbol in after["positions"]:
        assert f"{symbol} +" in table  # a short is liquidated by a rise: its distance is printed
