"""A liquidation of the paper hedge account is an event: a backtest whose short hedge, on a tiny collateral, meets
a rally lists it in its JSON (`liquidations`: count and events), its text and the journal's `hedgebot report`;
a backtest that is never liquidated says count 0."""

from __future__ import annotations

import gzip
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.report.cli import load_period
from bot.report.daily import report_text, summary
from bot.testing.processes import toml_text

START = datetime(2024, 1, 1, tzinfo=UTC)
WARM_UP_HOURS = 30  # one window ("1d") and a sample before trading starts at 2024-01-02 06:00
RALLY_FROM = 40  # hours after START: BTC rises 3 % an hour from here


def write_market(folder: Path, rally: float) -> tuple[Path, Path]:
    """Hourly BTC and SOL candles (a seeded walk, then BTC rising `rally` an hour) and BTC funding every 8 h."""
    walk = random.Random(7)
    btc, sol = 40_000.0, 100.0
    candles, funding = (
        ["timestamp,symbol,open,high,low,close,volume"],
        ["timestamp,symbol,funding_rate,funding_interval_hours,mark_price,calc_time_ms"],
    )
    for hour in range(72):
        when = START + timedelta(hours=hour)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        btc *= math.exp(walk.gauss(0, 0.01) + (rally if hour >= RALLY_FROM else 0.0))
        sol *= math.exp(walk.gauss(0, 0.01))
        for symbol, close in (("BTCUSDT", btc), ("SOLUSDT", sol)):
            candles.append(f"{stamp},{symbol},{close:.2f},{close:.2f},{close:.2f},{close:.2f},1000")
        if hour % 8 == 0:
            funding.append(f"{stamp},BTCUSDT,0.0001,8,{btc:.2f},{int(when.timestamp() * 1000)}")
    prices, rates = folder / "prices_1h.csv.gz", folder / "funding_8h.csv.gz"
    prices.write_bytes(gzip.compress("\n".join(candles).encode() + b"\n"))
    rates.write_bytes(gzip.compress("\n".join(funding).encode() + b"\n"))
    return prices, rates


def write_config(folder: Path, collateral: float) -> Path:
    path = folder / "tiny.toml"
    path.write_text(
        toml_text(
            {
                "bot": {"state_dir": str(folder / "var")},
                "market": {"source": "replay", "prices": str(folder / "prices_1h.csv.gz")},
                "portfolio": {"quote": "USDT"},
                "portfolio.holdings": {"SOL": 200.0},
                "hedge": {"instruments": ["BTC/USDT:USDT"], "policy": "fixed", "ratio": 1.0, "window": "1d"},
                "risk": {
                    "max_leverage": 20.0,
                    "max_loss": 1.0,
                    "max_daily_loss": 1.0,
                    "max_hedge_loss": 1.0,
                    "max_hedge_daily_loss": 1.0,
                    "max_price_age": "2h",
                },
                "risk.collateral": {"warn": 0.0, "top_up": 0.0, "reduce": 0.0, "floor": 0.0},  # the ladder off
                "execution": {"clip_notional": 50_000.0},
                "paper": {"collateral": collateral, "leverage": 20.0},
            }
        )
    )
    return path


def backtest(tmp_path: Path, capsys: pytest.CaptureFixture[str], collateral: float, *flags: str) -> str:
    prices, funding = write_market(tmp_path, rally=0.03)
    config = write_config(tmp_path, collateral)
    code = main(["backtest", "--config", str(config), "--prices", str(prices), "--funding", str(funding), *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_a_short_hedge_on_a_tiny_collateral_liquidated_in_a_rally_is_listed_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result: dict[str, Any] = json.loads(backtest(tmp_path, capsys, 1_500.0, "--json"))
    liquidations = result["liquidations"]
    assert liquidations["count"] == 1
    [event] = liquidations["events"]
    [closed] = event["closed"]
    assert closed["symbol"] == "BTC/USDT:USDT"
    assert closed["qty"] < 0  # the short hedge
    assert closed["price"] > closed["entry_price"]  # closed in the rally
    assert event["realized_pnl"] < -1_000.0  # most of the collateral
    assert event["equity_after"] < 1_500.0 * 0.005 * 20  # at most the maintenance margin was left
    assert event["time"] >= "2024-01-02 16:00"  # in the rally, not before

    chosen = load_period(tmp_path / "var" / "backtest.sqlite")
    assert chosen is not None
    assert summary(chosen)["liquidations"] == liquidations  # `hedgebot report` on the journal says the same
    assert "liquidations: 1" in report_text(chosen)


def test_the_text_result_lists_the_liquidation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = backtest(tmp_path, capsys, 1_500.0)
    assert "liquidations    1: the hedge account was liquidated" in text


def test_a_backtest_never_liquidated_says_count_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = json.loads(backtest(tmp_path, capsys, 1_000_000.0, "--json"))
    assert result["liquidations"] == {"count": 0, "events": []}
