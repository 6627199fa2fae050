"""Inverse (coin-margined) hedges beside their linear equivalents, by the engine, on real history (README,
"Inverse hedges"): `hedgebot backtest` itself on ../shared/data, 2021-01-01 → 2023-01-01.

- ten-altcoin basket, linear: config/backtest.toml hedged with BTC/USDT:USDT alone (min_variance; 2,000,000 USDT
  of collateral);
- ten-altcoin basket, inverse: config/inverse-btc.toml (BTC/USD:BTC, 10 BTC of collateral, hedged with the rest);
- ETH holding 1:1, linear: config/inverse-eth.toml with ETH/USDT:USDT on 500,000 USDT of collateral (nothing
  posted, USDⓈ-M fees);
- ETH holding 1:1, inverse: config/inverse-eth.toml (ETH/USD:ETH, the 135 ETH held posted as the collateral).

The collateral each needed is measured by bench/inverse_hedge.py (the same books on the simulated account).
Run: .venv/bin/python bench/inverse_backtest.py   (about 6 minutes on two busy cores)
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Config, load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
ETH_LINEAR: dict[str, dict[str, Any]] = {
    "hedge": {"instruments": ["ETH/USDT:USDT"]},
    "portfolio": {"posted": []},
    "paper": {"collateral": 500_000.0, "taker_fee_bps": 4.0, "maker_fee_bps": 2.0},
}
ROWS: list[tuple[str, str, str, dict[str, dict[str, Any]]]] = [
    ("ten-altcoin basket", "linear BTC/USDT:USDT", "backtest.toml", {"hedge": {"instruments": ["BTC/USDT:USDT"]}}),
    ("ten-altcoin basket", "inverse BTC/USD:BTC", "inverse-btc.toml", {}),
    ("ETH holding 1:1", "linear ETH/USDT:USDT", "inverse-eth.toml", ETH_LINEAR),
    ("ETH holding 1:1", "inverse ETH/USD:ETH, the ETH posted", "inverse-eth.toml", {}),
]


def config_for(file: str, overrides: dict[str, dict[str, Any]], state_dir: str) -> Config:
    market = {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": date(2021, 1, 1),
        "end": date(2023, 1, 1),
    }
    base = load_config(REPO / "config" / file)
    return with_overrides(base, bot={"state_dir": state_dir}, market=market, **overrides)


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    print("| book | hedge | variance red. | drawdown red. | hedged P&L | fees | funding | liquidations | cuts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for book, name, file, overrides in ROWS:
        with tempfile.TemporaryDirectory() as state:
            started = time.perf_counter()
            r = result_json(run_backtest(config_for(file, overrides, state), handle_signals=False))
            seconds = time.perf_counter() - started
        e, h = r["effectiveness"], r["hedged"]
        print(
            f"| {book} | {name} | {e['variance_reduction']:.1%} | {e['drawdown_reduction']:.1%} | {h['pnl']:,.0f} |"
            f" {h['fees']:,.0f} | {h['funding']:+,.0f} | {r['liquidations']['count']} | {len(r['collateral_cuts'])} |",
            flush=True,
        )
        print(f"<!-- {book}, {name}: {seconds:.1f} s -->", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
