"""Carry (README "Carry"): per hedge leg, the perpetual-or-dated choice replayed over 2021–2022, and what it saved.

The BTC/ETH min-variance hedge of config/backtest.toml is backtested over 2021-01-01 → 2023-01-01 on
../shared/data; each leg's funding settlements (rate, short notional) are read from the run's journal and the carry
rule (bot/hedge/carry_overlay.py) replayed on them: the trailing 7-day funding against the dated contract's basis
less its quarterly roll costs (the data has no dated prices: the basis is modelled, `market.dated_basis_annual`, and
shown at three levels), switching past a 2 %/year threshold, each switch paying two taker fees. Printed per leg and
basis: the share of settlements on the dated contract, the switches, the perpetual-only carry, the chosen carry and
the carry saved, beside the perpetual-only reference of the same run.
Run: .venv/bin/python bench/carry.py   (one two-year backtest: 1 to 5 minutes, by how busy the cores are)
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.config import load_config, with_overrides
from bot.domain import MS_PER_DAY
from bot.hedge.carry_overlay import CarryRule, replay_carry, settlements_from_journal
from bot.live.session import run_backtest
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BASES = (0.02, 0.05, 0.10)  # modelled annualised basis of the dated contract; 0.05 is the simulator's default
THRESHOLD = 0.02
LOOKBACK_MS = 7 * MS_PER_DAY


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    market = {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": date(2021, 1, 1),
        "end": date(2023, 1, 1),
    }
    with tempfile.TemporaryDirectory() as state:
        config = with_overrides(load_config(REPO / "config" / "backtest.toml"), bot={"state_dir": state}, market=market)
        started = time.perf_counter()
        run_backtest(config)
        journal = Journal(Path(state) / "backtest.sqlite")
        rows = sorted(journal.rows("funding"), key=lambda r: (r["symbol"], r["ts"]))
        journal.close()
    print(f"<!-- backtest: {time.perf_counter() - started:.1f} s -->", file=sys.stderr)
    fee = config.paper.taker_fee_bps / 10_000
    print(
        "| leg | modelled basis | settlements | on the dated contract | switches | perpetual-only carry"
        " | carry with the choice | carry saved |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for symbol in sorted({r["symbol"] for r in rows}):
        leg = [(r["ts"], r["rate"], r["position_qty"], r["mark_price"]) for r in rows if r["symbol"] == symbol]
        settlements = settlements_from_journal(leg)
        for basis in BASES:
            overlay = replay_carry(settlements, CarryRule(basis, fee, THRESHOLD, LOOKBACK_MS))
            print(
                f"| {symbol} | {basis:.0%} | {overlay.settlements} | {overlay.dated_share:.1%}"
                f" | {len(overlay.switches)} | {overlay.perpetual_only:+,.0f} | {overlay.chosen:+,.0f}"
                f" | {overlay.saved:+,.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
