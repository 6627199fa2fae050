"""The table of hedge policies on real history (README): each policy backtested on the same basket.

Equal-value basket of ETH, SOL, BNB, XRP, ADA, DOGE, AVAX, LINK, DOT and LTC, 2021-01-01 to 2022-12-31,
config/backtest.toml with the policy changed, and config/hedge-best.toml. Prints a Markdown table.
Run: .venv/bin/python bench/policies.py
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
PERP_1H = ["ETH", "XRP", "ADA", "LTC"]  # the holdings perp_1h.csv.gz has candles for
ROWS: list[tuple[str, str, dict[str, Any]]] = [
    ("fixed 0.4", "backtest.toml", {"policy": "fixed", "ratio": 0.4}),
    ("fixed 1.0", "backtest.toml", {"policy": "fixed", "ratio": 1.0}),
    ("beta (BTC proxy)", "backtest.toml", {"policy": "beta"}),
    ("min_variance (BTC, ETH)", "backtest.toml", {"policy": "min_variance"}),
    ("tiered (min_variance × volatility tier)", "backtest.toml", {"policy": "tiered"}),
    (
        "min_variance + direct perps of perp_1h holdings",
        "backtest.toml",
        {
            "instruments": ["BTC/USDT:USDT", *(f"{b}/USDT:USDT" for b in PERP_1H)],
            "direct": PERP_1H,
            "proxies": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        },
    ),
    ("best: config/hedge-best.toml (direct perps for all)", "hedge-best.toml", {}),
]


def config_for(file: str, hedge: dict[str, Any], state_dir: str) -> Config:
    market = {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": date(2021, 1, 1),
        "end": date(2023, 1, 1),
    }
    base = load_config(REPO / "config" / file)
    return with_overrides(base, bot={"state_dir": state_dir}, market=market, hedge=hedge)


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    print("| policy | variance reduction | drawdown reduction | hedged P&L | fees | funding | rebalances | trades |")
    print("|---|---|---|---|---|---|---|---|")
    for name, file, hedge in ROWS:
        with tempfile.TemporaryDirectory() as state:
            started = time.perf_counter()
            r = result_json(run_backtest(config_for(file, hedge, state)))
            seconds = time.perf_counter() - started
        e, h = r["effectiveness"], r["hedged"]
        print(
            f"| {name} | {e['variance_reduction']:.3f} | {e['drawdown_reduction']:.3f} | {h['pnl']:,.0f} |"
            f" {h['fees']:,.0f} | {h['funding']:+,.0f} | {r['decisions']} | {h['trades']} |",
            flush=True,
        )
        print(f"<!-- {name}: {seconds:.1f} s -->", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
