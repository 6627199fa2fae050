"""Walk-forward of the protective policies (README "Protective hedges"): choose on one year, score on the next.

For each policy (protective_put, cppi) a small grid of parameters is backtested on a training year
(config/protective.toml with the policy and its parameters changed) and the one with the best score
(capture spread + drawdown reduction) is run on the next year: 2020 → 2021 and 2021 → 2022. Only those
out-of-sample runs are printed, each beside the fixed policy at a ratio equal to its average hedge ratio (the mean
of hedge notional / basket value over its hourly valuations): the same average cover, held still. 2020 trades
from 2020-09-22, when the last of the ten (AVAX) lists. Then the gap risk on the 1-minute crash files: how far the
basket falls between two hourly samples, which no hourly rebalance can catch.
Run: .venv/bin/python bench/walk_forward.py   (22 one-year backtests: 10 to 25 minutes, by how busy the cores are)
     .venv/bin/python bench/walk_forward.py --only cppi:2022   (one row and its fixed reference: 6 backtests)
"""

from __future__ import annotations

import csv
import gzip
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Config, load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json
from bot.research.walk_forward import choose
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BASKET = ["ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "LINK", "DOT", "LTC"]
GRIDS: dict[str, list[dict[str, Any]]] = {
    "protective_put": [{"floor": f, "horizon": h} for f in (0.8, 0.9) for h in ("30d", "90d")],
    "cppi": [{"floor": f, "multiplier": m} for f in (0.8, 0.9) for m in (2.0, 5.0)],
}
FOLDS = [(2020, 2021), (2021, 2022)]


def config_for(year: int, hedge: dict[str, Any], state_dir: str) -> Config:
    market = {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": date(year, 1, 1),
        "end": date(year + 1, 1, 1),
    }
    base = load_config(REPO / "config" / "protective.toml")
    return with_overrides(base, bot={"state_dir": state_dir}, market=market, hedge=hedge)


def backtest(year: int, hedge: dict[str, Any]) -> dict[str, Any]:
    """The backtest JSON of one year, with the run's average hedge ratio and its seconds."""
    with tempfile.TemporaryDirectory() as state:
        started = time.perf_counter()
        result = result_json(run_backtest(config_for(year, hedge, state)))
        journal = Journal(Path(state) / "backtest.sqlite")
        ratios = [-v.hedge_notional / v.spot_value for v in journal.valuations() if v.spot_value > 0]
        journal.close()
    result["average_hedge_ratio"] = sum(ratios) / len(ratios) if ratios else 0.0
    print(f"<!-- {year} {hedge}: {time.perf_counter() - started:.1f} s -->", file=sys.stderr, flush=True)
    return result


def score(result: dict[str, Any]) -> float:
    e = result["effectiveness"]
    return float(e["capture_spread"] + e["drawdown_reduction"])


def row(name: str, year: int, r: dict[str, Any]) -> str:
    e, h = r["effectiveness"], r["hedged"]
    return (
        f"| {name} | {year} | {r['average_hedge_ratio']:.3f} | {e['upside_capture']:.3f} | {e['downside_capture']:.3f}"
        f" | {e['capture_spread']:+.3f} | {h['max_drawdown']:,.0f} | {e['drawdown_reduction']:.3f}"
        f" | {e['variance_reduction']:.3f} | {h['fees']:,.0f} | {h['funding']:+,.0f} | {e['floor_breaches']}"
        f" | {e['worst_floor_breach']:.3f} | {h['pnl']:,.0f} |"
    )


def walk_forward(only: tuple[str, int] | None = None) -> None:
    """Every policy and fold, or only the one `only` names (policy, scored year)."""
    print(
        "| policy (parameters chosen on the year before) | year | average hedge ratio | upside capture"
        " | downside capture | capture spread | max drawdown | drawdown reduction | variance reduction | fees"
        " | funding | floor breaches | worst breach | hedged P&L |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    runs: dict[tuple[str, int, int], dict[str, Any]] = {}
    for policy, grid in GRIDS.items():
        for train, test in FOLDS:
            if only is not None and only != (policy, test):
                continue
            for i, params in enumerate(grid):
                if (policy, train, i) not in runs:
                    runs[policy, train, i] = backtest(train, {"policy": policy, **params})
            best = choose([score(runs[policy, train, i]) for i in range(len(grid))])  # the sweep's choice
            if (policy, test, best) not in runs:
                runs[policy, test, best] = backtest(test, {"policy": policy, **grid[best]})
            chosen = runs[policy, test, best]
            shown = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in grid[best].items())
            print(row(f"{policy} ({shown})", test, chosen), flush=True)
            cover = round(chosen["average_hedge_ratio"], 3)
            fixed = backtest(test, {"policy": "fixed", "ratio": cover})
            print(row(f"fixed {cover:.3f} (equal average cover)", test, fixed), flush=True)


def gap_risk() -> None:
    """The equal-value basket on the 1-minute files: its worst fall from an hourly sample to a later minute of the
    same hour (a jump the hourly rebalance cannot see), against its worst fall between hourly closes."""
    print()
    print("| crash file | worst fall inside an hour (1m lows) | at | worst fall close to close (1h) |")
    print("|---|---|---|---|")
    for path in sorted(DATA.glob("crash_1m_*.csv.gz")):
        lows: dict[str, dict[str, float]] = defaultdict(dict)
        closes: dict[str, dict[str, float]] = defaultdict(dict)
        with gzip.open(path, "rt", newline="") as handle:
            for record in csv.DictReader(handle):
                base = record["symbol"].removesuffix("USDT")
                if base in BASKET:
                    lows[record["timestamp"]][base] = float(record["low"])
                    closes[record["timestamp"]][base] = float(record["close"])
        minutes = sorted(ts for ts in closes if len(closes[ts]) == len(BASKET))
        first = closes[minutes[0]]
        units = {base: 1.0 / first[base] for base in BASKET}  # one quote unit of each at the first close
        value = {ts: sum(units[b] * closes[ts][b] for b in BASKET) for ts in minutes}
        low = {ts: sum(units[b] * lows[ts][b] for b in BASKET) for ts in minutes}
        worst_inside, at = 0.0, ""
        hourly: dict[str, float] = {}
        sample: float | None = None
        for ts in minutes:
            if ts[14:16] == "00" or sample is None:  # an hourly sample: the hedge was last set at this value
                sample = value[ts]
                hourly[ts[:13]] = value[ts]
            fall = 1.0 - low[ts] / sample
            if fall > worst_inside:
                worst_inside, at = fall, ts
        hours = [hourly[h] for h in sorted(hourly)]
        worst_hourly = max((1.0 - b / a for a, b in itertools.pairwise(hours)), default=0.0)
        print(f"| {path.name} | {worst_inside:.2%} | {at} | {worst_hourly:.2%} |", flush=True)


def parse_only(argv: list[str]) -> tuple[str, int] | None:
    """`--only cppi:2022`: one policy's row for one scored year (the bench exits 2 on anything else)."""
    if "--only" not in argv:
        return None
    index = argv.index("--only") + 1
    policy, _, year = (argv[index] if index < len(argv) else "").partition(":")
    if policy not in GRIDS or not any(str(test) == year for _, test in FOLDS):
        folds = ", ".join(f"{p}:{test}" for p in GRIDS for _, test in FOLDS)
        print(f"--only: expected one of {folds}", file=sys.stderr)
        sys.exit(2)
    return policy, int(year)


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    only = parse_only(sys.argv)
    if "--gap-only" not in sys.argv:
        walk_forward(only)
    if only is None:
        gap_risk()
    return 0


if __name__ == "__main__":
    sys.exit(main())
