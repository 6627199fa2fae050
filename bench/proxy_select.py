"""Walk-forward of proxy selection (README "Proxy selection"): choose on one year, score on the next.

The equal-value ten-altcoin basket hedged with min_variance on proxies chosen among perpetuals of coins it does not
hold (config/proxy-select.toml: BTC, BCH, TRX, ATOM, UNI, NEAR, MATIC). The selection itself is online (re-chosen
from the trailing 30-day window); its one parameter that matters, `max_proxies`, is chosen from a small grid on the
training year by variance reduction + drawdown reduction, then run on the next year (2020 → 2021, 2021 → 2022;
2020 trades from late September, when the last holding, AVAX, has a window of returns: a candidate not listed yet,
NEAR, holds up nothing). The config's liquidity tiers ([hedge.liquidity]) apply throughout. Only those
out-of-sample runs are printed, each beside two references on the same year, measured in the same process: BTC/ETH
min-variance (config/backtest.toml) and min-variance on all seven candidates at once (proxy_select off).
Run: .venv/bin/python bench/proxy_select.py   (13 one-year backtests: 5 to 20 minutes, by how busy the cores are)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Config, load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GRID: list[dict[str, Any]] = [{"max_proxies": n} for n in (1, 2, 3, 5)]
FOLDS = [(2020, 2021), (2021, 2022)]


def config_for(file: str, year: int, hedge: dict[str, Any], state_dir: str) -> Config:
    market = {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": date(year, 1, 1),
        "end": date(year + 1, 1, 1),
    }
    base = load_config(REPO / "config" / file)
    return with_overrides(base, bot={"state_dir": state_dir}, market=market, hedge=hedge)


def backtest(file: str, year: int, hedge: dict[str, Any]) -> dict[str, Any]:
    """The backtest JSON of one year, with how often each proxy was in the chosen set (share of the year's
    reselection decisions) from the journal's `proxy_reselect` decisions."""
    with tempfile.TemporaryDirectory() as state:
        started = time.perf_counter()
        result = result_json(run_backtest(config_for(file, year, hedge, state)))
        journal = Journal(Path(state) / "backtest.sqlite")
        chosen: Counter[str] = Counter()
        for decision in journal.rows("decisions"):
            if decision["trigger"] == "proxy_reselect":
                new = decision["reason"].split("→ [", 1)[1].split("]", 1)[0]
                chosen.update(s.split("/")[0] for s in new.split(", "))
        journal.close()
    result["proxies_chosen"] = dict(chosen.most_common())
    print(f"<!-- {file} {year} {hedge}: {time.perf_counter() - started:.1f} s -->", file=sys.stderr, flush=True)
    return result


def score(result: dict[str, Any]) -> float:
    e = result["effectiveness"]
    return float(e["variance_reduction"] + e["drawdown_reduction"])


def row(name: str, year: int, r: dict[str, Any]) -> str:
    e, h = r["effectiveness"], r["hedged"]
    chosen = ", ".join(f"{k} {v}" for k, v in r["proxies_chosen"].items()) or "—"
    return (
        f"| {name} | {year} | {e['variance_reduction']:.3f} | {e['drawdown_reduction']:.3f} | {h['max_drawdown']:,.0f}"
        f" | {h['fees']:,.0f} | {h['funding']:+,.0f} | {h['pnl']:,.0f} | {r['triggers'].get('proxy_reselect', 0)}"
        f" | {chosen} |"
    )


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    print(
        "| hedge (max_proxies chosen on the year before) | year | variance reduction | drawdown reduction"
        " | max drawdown | fees | funding | hedged P&L | reselections | proxies in the chosen sets (times) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for train, test in FOLDS:
        runs = [backtest("proxy-select.toml", train, params) for params in GRID]
        best = max(range(len(GRID)), key=lambda i: (score(runs[i]), -i))  # ties: the fewer proxies
        chosen = backtest("proxy-select.toml", test, GRID[best])
        print(row(f"proxy selection (max_proxies {GRID[best]['max_proxies']})", test, chosen), flush=True)
        every = backtest("proxy-select.toml", test, {"proxy_select": False})
        print(row("min_variance on all seven candidates", test, every), flush=True)
        reference = backtest("backtest.toml", test, {})
        print(row("min_variance on BTC, ETH (config/backtest.toml)", test, reference), flush=True)
        scores = {GRID[i]["max_proxies"]: round(score(runs[i]), 3) for i in range(len(GRID))}
        print(f"<!-- {train} scores by max_proxies: {json.dumps(scores)} -->", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
