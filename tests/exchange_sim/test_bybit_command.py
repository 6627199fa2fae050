"""`hedgebot exchange-sim --dialect bybit` serves Bybit v5 on loopback to an unmodified ccxt `bybit` client; a
Bybit and a Binance simulator run side by side, one per venue, each with its own account."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import ccxt.async_support as ccxt
import pytest

from bot.exchange_sim.client import ccxt_config
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.testing.bybit import bybit_client, running_bybit_sim
from bot.testing.loopback import running_sim
from bot.venues.ccxt_client import point_at

HEDGEBOT = Path(sys.executable).parent / "hedgebot"


@asynccontextmanager
async def exchange_sim(tmp_path: Path, *args: str) -> AsyncIterator[str]:
    """`hedgebot exchange-sim ARGS` on a free port: the base URL it announces, stopped (Ctrl-C) after."""
    process = await asyncio.create_subprocess_exec(
        str(HEDGEBOT), "exchange-sim", "--port", "0", "--speed", "60", "--days", "0.01", *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()  # the address, once it listens
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


@pytest.mark.asyncio
async def test_the_bybit_dialect_of_the_command_serves_an_unmodified_ccxt_bybit_client(tmp_path: Path) -> None:
    async with exchange_sim(tmp_path, "--dialect", "bybit") as url:
        bybit = ccxt.bybit(
            {"apiKey": DEFAULT_API_KEY, "secret": DEFAULT_API_SECRET, "options": {"defaultType": "swap"}}
        )
        point_at(bybit, url)
        try:
            ticker = await bybit.fetch_ticker("BTC/USDT:USDT")
            balance = await bybit.fetch_balance()
        finally:
            await bybit.close()
    assert ticker["markPrice"] > 0
    assert balance["USDT"]["total"] == 100_000.0


@pytest.mark.asyncio
async def test_a_bybit_and_a_binance_simulator_run_side_by_side_each_with_its_own_account() -> None:
    async with running_bybit_sim() as bybit_sim, running_sim() as binance_sim:
        bybit = bybit_client(bybit_sim)
        binance = ccxt.binanceusdm(ccxt_config(binance_sim.base_url, DEFAULT_API_KEY, DEFAULT_API_SECRET))
        try:
            await bybit.load_markets()
            await bybit.create_order("BTC/USDT:USDT", "market", "sell", 0.1, None, {"clientOrderId": "by-1"})
            binance_positions = await binance.fetch_positions()
        finally:
            await bybit.close()
            await binance.close()
        assert bybit_sim.port != binance_sim.port
        assert [p.qty for p in bybit_sim.exchange.account.positions()] == [-0.1]
        assert binance_positions == []
        assert binance_sim.exchange.orders() == []


def test_the_bybit_dialect_refuses_a_config_with_inverse_legs_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    config = tmp_path / "inverse.toml"
    config.write_text('[hedge]\ninstruments = ["BTC/USD:BTC"]\n[portfolio.holdings]\nBTC = 1.0\n')
    code = main(["exchange-sim", "--dialect", "bybit", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "linear (USDT) contracts only" in err
