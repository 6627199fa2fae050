"""A small market written to CSV files in the ../shared/data format, and a backtest config over it.

Four spot pairs (BTC, ETH, SOL, LINK) as correlated hourly random walks from 2021-01-01 for 45 days, and 8-hourly
funding of the BTC and ETH perpetuals (priced from spot: no perp file). Small enough that a trial takes a second.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

DAYS = 45
START = datetime(2021, 1, 1, tzinfo=UTC)
PRICES = {"BTCUSDT": 30_000.0, "ETHUSDT": 1_000.0, "SOLUSDT": 2.0, "LINKUSDT": 12.0}
BETAS = {"BTCUSDT": 1.0, "ETHUSDT": 1.2, "SOLUSDT": 1.6, "LINKUSDT": 1.3}

CONFIG = """
[bot]
state_dir = "{state}"

[market]
source = "replay"
prices = "{prices}"
funding = "{funding}"

[portfolio.holdings_value]
SOL = 10000.0
LINK = 10000.0

[hedge]
instruments = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
policy = "min_variance"
window = "7d"
min_samples = 24
rebalance_band = 0.1
min_trade_notional = 50.0

[risk]
max_leverage = 5.0
max_position_notional = 10000000.0
max_order_notional = 200000.0
max_price_age = "2h"
max_funding_age = "9h"
max_account_age = "2h"
max_daily_loss = 1.0
max_loss = 1.0
max_hedge_daily_loss = 1.0
max_hedge_loss = 1.0

[paper]
collateral = 200000.0
"""


@dataclass(frozen=True, slots=True)
class SmallMarket:
    prices: Path
    funding: Path
    config: Path
    state_dir: Path


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_prices(path: Path, rng: np.random.Generator) -> None:
    hours = DAYS * 24
    market = rng.normal(0.0, 0.01, hours)
    closes = {
        symbol: start * np.exp(np.cumsum(BETAS[symbol] * market + rng.normal(0.0, 0.006, hours)))
        for symbol, start in PRICES.items()
    }
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "symbol", "open", "high", "low", "close", "volume"])
        for hour in range(hours):
            stamp = _stamp(START + timedelta(hours=hour))
            for symbol in sorted(PRICES):
                close = float(closes[symbol][hour])
                out.writerow([stamp, symbol, close, close * 1.001, close * 0.999, close, 100.0])


def _write_funding(path: Path, rng: np.random.Generator) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "symbol", "funding_rate", "funding_interval_hours", "mark_price", "calc_time_ms"])
        for step in range(DAYS * 3):
            moment = START + timedelta(hours=8 * step)
            for symbol in ("BTCUSDT", "ETHUSDT"):
                rate = round(float(rng.normal(0.0001, 0.0001)), 8)
                out.writerow([_stamp(moment), symbol, rate, 8, "", int(moment.timestamp() * 1000)])


@pytest.fixture(scope="module")
def small_market(tmp_path_factory: pytest.TempPathFactory) -> SmallMarket:
    folder = tmp_path_factory.mktemp("market")
    rng = np.random.default_rng(18)
    prices, funding = folder / "prices_1h.csv", folder / "funding_8h.csv"
    _write_prices(prices, rng)
    _write_funding(funding, rng)
    state = folder / "state"
    config = folder / "backtest.toml"
    config.write_text(CONFIG.format(state=state, prices=prices, funding=funding))
    return SmallMarket(prices, funding, config, state)
