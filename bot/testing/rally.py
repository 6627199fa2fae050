"""The rally backtests of issue 15 share one market and one config: BTC flat for 40 hours, then up 3 % an hour,
and 200 SOL hedged in full with a BTC perpetual on 10,000 USDT of collateral at 20× (a thin account that the
rally walks down the collateral ladder). Tests vary only the reserve and the flags they pass to `backtest`."""

from __future__ import annotations

import gzip
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.testing.processes import toml_text

START = datetime(2024, 1, 1, tzinfo=UTC)


def rally_market(folder: Path) -> tuple[Path, Path]:
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


def rally_backtest_args(folder: Path, reserve: Mapping[str, Any] | None = None) -> list[str]:
    """`hedgebot backtest` arguments of the rally (market files written to `folder`), with `reserve` as
    `[risk.reserve]` when given."""
    prices, funding = rally_market(folder)
    config = folder / "rally.toml"
    sections: dict[str, Any] = {
        "bot": {"state_dir": str(folder / "var")},
        "market": {"source": "replay", "prices": str(prices)},
        "portfolio": {"quote": "USDT"},
        "portfolio.holdings": {"SOL": 200.0},
        "hedge": {"instruments": ["BTC/USDT:USDT"], "policy": "fixed", "ratio": 1.0, "window": "1d"},
        "risk": {"max_leverage": 20.0, "max_hedge_loss": 1.0, "max_hedge_daily_loss": 1.0, "max_price_age": "2h"},
        **({"risk.reserve": dict(reserve)} if reserve is not None else {}),
        "execution": {"clip_notional": 50_000.0},
        "paper": {"collateral": 10_000.0, "leverage": 20.0},
    }
    config.write_text(toml_text(sections))
    return ["backtest", "--config", str(config), "--prices", str(prices), "--funding", str(funding)]
