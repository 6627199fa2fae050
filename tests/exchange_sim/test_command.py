"""`hedgebot exchange-sim` serves Binance USDⓈ-M on loopback to an unmodified ccxt client."""

from __future__ import annotations

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
    process = subprocess.Popen(
        [str(hedgebot), "exchange-sim", "--port", "0", "--speed", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the announcement with the address, once it listens
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
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
        process.wait(timeout=30)
