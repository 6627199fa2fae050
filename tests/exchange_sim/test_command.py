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

from bot.cli import main
from bot.exchange_sim.client import ccxt_config
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET


@pytest.mark.asyncio
async def test_the_exchange_sim_command_lists_perpetuals_and_quarterlies_to_ccxt(tmp_path: Path) -> None:
    hedgebot = Path(sys.executable).parent / "hedgebot"
    process = await asyncio.create_subprocess_exec(
        str(hedgebot), "exchange-sim", "--port", "0", "--speed", "60", "--reserve", "5000",
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
            moved = await exchange.transfer("USDT", 5_000, "spot", "swap")  # the --reserve, into futures
        finally:
            await exchange.close()
        assert "BTC/USDT:USDT" in markets
        assert any(m["type"] == "future" for m in markets.values())
        assert ticker["last"] > 0
        assert moved["id"]
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


# ---- replaying ../shared/data ---------------------------------------------------------------------------

SPEED = 36_000.0  # ten market hours per wall second: an hourly candle every 0.1 s
HOUR = 3_600_000
NOV_10 = 1_668_038_400_000  # 2022-11-10 00:00 UTC: the close of BTC's 2022-11-09 23:00 candles arrives
GUARD_S = 60.0  # a stuck replay fails the test instead of hanging it; never a synchronisation delay


@pytest.mark.asyncio
async def test_the_exchange_sim_replays_the_shared_data_at_the_chosen_speed(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    hedgebot = Path(sys.executable).parent / "hedgebot"
    process = await asyncio.create_subprocess_exec(
        str(hedgebot), "exchange-sim", "--port", "0", "--speed", f"{SPEED:g}",
        "--prices", str(prices_1h), "--funding", str(funding_8h), "--perp", str(perp_1h),
        "--start", "2022-11-09", "--end", "2022-11-20",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = ""
        while not line.startswith("exchange-sim:"):  # its announcement, once the files are read and it listens
            line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
            assert line, "exchange-sim exited before listening"
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        assert "replaying prices_1h.csv.gz 2022-11-09T00:00:00Z" in line
        exchange = ccxt.binanceusdm(ccxt_config(match.group(1), DEFAULT_API_KEY, DEFAULT_API_SECRET))
        try:
            await exchange.load_markets()
            # the exchange's clock first, then market time: the pair brackets the market's pace from below ...
            wall_0 = await exchange.fetch_time()
            market_0 = (await exchange.fetch_ticker("BTC/USDT:USDT"))["timestamp"]
            assert market_0 >= NOV_10 - 24 * HOUR  # market time is the replay's, from --start

            async def watch_the_replay_pass_the_hour() -> list[tuple[int, int]]:
                seen = []
                while not seen or seen[-1][0] < NOV_10 + HOUR:
                    # ... and market time first, then the clock: from above
                    market = (await exchange.fetch_ticker("BTC/USDT:USDT"))["timestamp"]
                    seen.append((market, await exchange.fetch_time()))
                return seen

            seen = await asyncio.wait_for(watch_the_replay_pass_the_hour(), GUARD_S)
            candle = (await exchange.fetch_ohlcv("BTC/USDT:USDT", "1h", since=NOV_10, limit=1))[0]
            funding = await exchange.fetch_funding_rate_history("BTC/USDT:USDT", since=NOV_10, limit=1)
        finally:
            await exchange.close()
        # Played at the chosen pace: market time never runs ahead of speed × the exchange's own clock (one
        # candle's step of slack for the event being applied as the clock is read), and it does advance.
        for market, wall in seen:
            assert market - market_0 <= SPEED * (wall - wall_0) + HOUR
        assert seen[-1][0] > market_0
        # Real prices: the kline opening 2022-11-10 00:00 is the BTC perpetual's own candle of that hour in
        # perp_1h.csv.gz (open 15,905.0, the 23:00 candle's close; close 16,237.9), served once it has closed at
        # market time; and the funding it settled at 2022-11-10 00:00 (funding_8h.csv.gz).
        assert candle[:5] == [NOV_10, 15_905.0, 16_309.4, 15_730.0, 16_237.9]
        assert [(f["timestamp"], f["fundingRate"]) for f in funding] == [(NOV_10, -0.00119172)]
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--funding", "f.csv.gz"], "--funding replay history: give the spot candles with --prices as well"),
        (["--prices", "p.csv.gz", "--days", "3"], "--days sets the length of the synthetic market"),
        (["--speed", "0"], "--speed 0.0 must be a positive number"),
        (["--reserve", "-1"], "--reserve -1.0 must be a non-negative amount"),
        (["--prices", "p.csv.gz", "--start", "2022-02-01", "--end", "2022-01-01"], "must be after --start"),
    ],
)
def test_exchange_sim_arguments_that_do_not_fit_are_one_line_and_exit_two(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exchange-sim", "--port", "0", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_exchange_sim_names_a_missing_replay_file_and_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exchange-sim", "--port", "0", "--prices", str(tmp_path / "absent.csv.gz")]) == 2
    assert "absent.csv.gz: file not found" in capsys.readouterr().err
