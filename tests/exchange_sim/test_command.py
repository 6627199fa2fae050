"""`hedgebot exchange-sim` serves Binance USDⓈ-M on loopback to an unmodified ccxt client."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import ccxt.async_support as ccxt
import pytest

from bot.exchange_sim.client import ccxt_config
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET


@pytest.mark.asyncio
async def test_the_exchange_sim_command_lists_perpetuals_and_quarterlies_to_ccxt(tmp_path: Path) -> None:
    hedgebot = Path(sys.executable).parent / "hedgebot"
    process = await asyncio.create_subprocess_exec(
        str(hedgebot), "exchange-sim", "--port", "0", "--speed", "60",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()  # the address, once it listens
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        exchange = ccxt.binanceusdm(ccxt_config(match.group(1), DEFAULT_API_KEY, DEFAULT_API_SECRET))
        try:
            markets = await exchange.load_markets()
            ticker = await exchange.fetch_ticker("BTC/USDT:USDT")
        finally:
            await exchange.close()
        assert "BTC/USDT:USDT" in markets
        assert any(m["type"] == "future" for m in markets.values())
        assert ticker["last"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
