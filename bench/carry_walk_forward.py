"""Carry's hysteresis, walk-forward (README "Carry"): choose `[hedge.carry]` threshold and minimum hold on 2021, score
the choice on 2022, through the engine.

For each year and each modelled dated basis (5 %, 10 %: the data has no dated prices), the BTC/ETH min-variance
hedge of config/backtest.toml runs perpetual-only and with both legs "…@carry" under each candidate setting; the
carry saved is the carry run's hedged P&L less the perpetual-only run's (funding given up, basis earned, switches and
rolls paid). The setting that saved most in 2021 is scored on 2022 beside the default (2 %/y, 7 days): the 2022
figures are out of sample. Printed: a row per basis, setting and year, then the walk-forward lines.
Run: .venv/bin/python bench/carry_walk_forward.py   (18 one-year backtests: about 30 minutes on two shared cores)
"""

from __future__ import annotations

import sys
import time
from datetime import date

from carry_engine import CARRY_LEGS, PERPETUALS, REPO, run

from bot.config import load_config
from bot.core.carry_book import CARRY_SWITCH

YEARS = {2021: (date(2021, 1, 1), date(2022, 1, 1)), 2022: (date(2022, 1, 1), date(2023, 1, 1))}
BASES = (0.05, 0.10)
SETTINGS = {  # (threshold a year, minimum hold)
    "2 %/y, no hold": (0.02, "0s"),
    "2 %/y, 7 d (default)": (0.02, "7d"),
    "5 %/y, 7 d": (0.05, "7d"),
    "2 %/y, 30 d": (0.02, "30d"),
}
DEFAULT = "2 %/y, 7 d (default)"


def main() -> int:
    base = load_config(REPO / "config" / "backtest.toml")
    started = time.perf_counter()
    reference = {year: run(base, PERPETUALS, 0.05, span)[0].effectiveness.hedged_pnl for year, span in YEARS.items()}
    saved: dict[tuple[float, str, int], float] = {}
    print("| basis | threshold, min hold | year | carry switches | time on dated (BTC, ETH) | carry saved |")
    print("|---|---|---|---|---|---|")
    for basis in BASES:
        for name, (threshold, hold) in SETTINGS.items():
            for year, period in YEARS.items():
                summary, shares = run(base, CARRY_LEGS, basis, period, {"threshold": threshold, "min_hold": hold})
                saved[basis, name, year] = summary.effectiveness.hedged_pnl - reference[year]
                on_dated = ", ".join(f"{share:.0%}" for share in shares.values())
                print(
                    f"| {basis:.0%} | {name} | {year} | {summary.triggers.get(CARRY_SWITCH, 0)} | {on_dated}"
                    f" | {saved[basis, name, year]:+,.0f} |",
                    flush=True,
                )
    print()
    for basis in BASES:
        chosen = max(SETTINGS, key=lambda name: saved[basis, name, 2021])
        print(
            f"basis {basis:.0%}: chosen on 2021: {chosen}; 2022 (out of sample) {saved[basis, chosen, 2022]:+,.0f},"
            f" default {saved[basis, DEFAULT, 2022]:+,.0f}"
        )
    print(f"<!-- {time.perf_counter() - started:.0f} s -->", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
