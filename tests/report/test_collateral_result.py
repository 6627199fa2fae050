"""A backtest shows what governance did: the collateral buffer cuts a short hedge in a rally before it is
liquidated, and the result lists every state change, every cut and every top-up (none without a reserve)."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.processes import toml_text

START = datetime(2024, 1, 1, tzinfo=UTC)


def _market(folder: Path) -> tuple[Path, Path]:
    """Hourly BTC and SOL candles, flat for 40 hours, then BTC rising 3 % an hour; BTC funding every 8 h."""
    candles = ["timestamp,symbol,open,high,low,close,volume"]
    funding = ["timestamp,symbol,funding_rate,funding_interval_hours,mark_price,calc_time_ms"]
    btc = 40_000.0
    for hour in range(72):
        when = START + timedelta(hours=hour)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        btc *= math.exp(0.03 if hour >= 40 else 0.0005 * (-1) ** hour)
        for symbol, close in (("BTCUSDT", btc), ("SOLUSDT", 100.0 * (1 + 0.001 * (-1) ** hour))):
            candles.append(f"{stamp},{symbol},{close:.2f},{close:.2f},{close:.2f},{close:.2f},1000")
        if hour % 8 == 0:
            funding.append(f"{stamp},BTCUSDT,0.0001,8,{btc:.2f},{int(when.timestamp() * 1000)}")
    prices, rates = folder / "prices_1h.csv.gz", folder / "funding_8h.csv.gz"
    prices.write_bytes(gzip.compress("\n".join(candles).encode() + b"\n"))
    rates.write_bytes(gzip.compress("\n".join(funding).encode() + b"\n"))
    return prices, rates


def _backtest(folder: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    prices, funding = _market(folder)
    config = folder / "rally.toml"
    config.write_text(
        toml_text(
            {
                "bot": {"state_dir": str(folder / "var")},
                "market": {"source": "replay", "prices": str(prices)},
                "portfolio": {"quote": "USDT"},
                "portfolio.holdings": {"SOL": 200.0},
                "hedge": {"instruments": ["BTC/USDT:USDT"], "policy": "fixed", "ratio": 1.0, "window": "1d"},
                "risk": {
                    "max_leverage": 20.0,
                    "max_hedge_loss": 1.0,
                    "max_hedge_daily_loss": 1.0,
                    "max_price_age": "2h",
                },
                "execution": {"clip_notional": 50_000.0},
                "paper": {"collateral": 10_000.0, "leverage": 20.0},
            }
        )
    )
    code = main(["backtest", "--config", str(config), "--prices", str(prices), "--funding", str(funding), *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_a_short_hedge_in_a_rally_is_cut_by_the_collateral_buffer_instead_of_being_liquidated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result: dict[str, Any] = json.loads(_backtest(tmp_path, capsys, "--json"))
    assert result["liquidations"]["count"] == 0
    cuts = result["collateral_cuts"]
    assert cuts, "the buffer fell below reduce in the rally: the hedge was cut"
    assert all(0 < cut["fraction"] <= 1 for cut in cuts)
    assert all(qty <= 0 for cut in cuts for qty in cut["targets"].values())  # smaller shorts, never flipped
    assert any(change["reason"].startswith("collateral: ") for change in result["state_changes"])
    assert result["top_ups"] == []  # no reserve configured


def test_the_text_result_lists_the_state_changes_the_cuts_and_the_top_ups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _backtest(tmp_path, capsys)
    assert "\nstate changes   " in text
    assert "\ncollateral cuts " in text
    assert "  cut " in text
    assert "top-ups         0 (no reserve configured)" in text
