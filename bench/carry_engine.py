"""Carry through the engine (README "Carry"): BTC/ETH legs as "…@carry" against the perpetual-only run, 2021–2022.

The BTC/ETH min-variance hedge of config/backtest.toml is backtested over 2021-01-01 → 2023-01-01 on
../shared/data three ways: perpetual-only (the reference), and with both legs "…@carry" at a modelled dated basis
of 5 % and 10 % a year (the data has no dated prices: `execution.dated_basis_annual`, the replay prices the
quarterlies from the perpetual). The carry rule is `[hedge.carry]`'s defaults (trailing 7-day funding against the
basis less the quarterly rolls' fees and slippage, 2 %/year threshold, 7-day minimum hold). Each switch and each
quarterly roll is traded by the engine (paired clips, fees, slippage), so the carry saved is the hedged P&L of the
carry run less the perpetual-only run's: funding given up, basis earned, switches and rolls paid, all net.
Printed: per run the hedged P&L, funding, fees, roll cost (quarterly rolls and switches), switches and rolls, the
share of time each leg spent on a dated contract, and the carry saved against the perpetual-only run.
Run: .venv/bin/python bench/carry_engine.py   (three two-year backtests one after the other: 3.5 minutes on two
shared cores)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Config, load_config, with_overrides
from bot.core.carry_book import CARRY_SWITCH
from bot.live.session import run_backtest
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PERPETUALS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
CARRY_LEGS = tuple(f"{p}@carry" for p in PERPETUALS)
BASES = (0.05, 0.10)


def market(start: date = date(2021, 1, 1), end: date = date(2023, 1, 1)) -> dict[str, Any]:
    return {
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
        "start": start,
        "end": end,
    }


def dated_share(rows: Sequence[Mapping[str, Any]], leg: str, first: int, last: int) -> float:
    """The share of [first, last] the leg spent on a dated contract, from its journaled carry_switch decisions."""
    dated, since, on_dated = 0, first, False
    for row in rows:
        targets = json.loads(row["targets"])
        if row["trigger"] != CARRY_SWITCH or all(t["symbol"] != leg for t in targets):
            continue
        ts = int(row["ts"])
        dated += ts - since if on_dated else 0
        since, on_dated = ts, bool(json.loads(row["numbers"])["use_dated"])
    dated += last - since if on_dated else 0
    return dated / (last - first) if last > first else 0.0


def run(
    base: Config,
    instruments: Sequence[str],
    basis: float,
    period: tuple[date, date] = (date(2021, 1, 1), date(2023, 1, 1)),
    carry: Mapping[str, Any] | None = None,
) -> tuple[RunSummary, dict[str, float]]:
    """One backtest of `instruments` over `period` at a modelled dated basis, `carry` overriding `[hedge.carry]`."""
    with tempfile.TemporaryDirectory() as state:
        config = with_overrides(
            base,
            bot={"state_dir": state},
            market=market(*period),
            hedge={"instruments": list(instruments), **({"carry": dict(carry)} if carry else {})},
            execution={"dated_basis_annual": basis},
        )
        summary = run_backtest(config, handle_signals=False)
        journal = Journal(Path(state) / "backtest.sqlite")
        rows = journal.rows("decisions")
        journal.close()
    shares = {leg: dated_share(rows, leg, summary.first_ts, summary.last_ts) for leg in instruments if "@" in leg}
    return summary, shares


def line(name: str, summary: RunSummary, shares: Mapping[str, float], reference: float | None) -> str:
    e, ex = summary.effectiveness, summary.execution
    switches = summary.triggers.get(CARRY_SWITCH, 0)
    on_dated = ", ".join(f"{leg.split('/')[0]} {share:.0%}" for leg, share in shares.items()) or "–"
    saved = "–" if reference is None else f"{e.hedged_pnl - reference:+,.0f}"
    return (
        f"| {name} | {e.hedged_pnl:+,.0f} | {summary.totals.funding:+,.0f} | {summary.totals.fees:,.0f}"
        f" | {ex.get('roll_cost', 0.0):+,.0f} | {switches} | {ex.get('rolls', 0)} | {on_dated}"
        f" | {e.variance_reduction:.3f} | {saved} |"
    )


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    base = load_config(REPO / "config" / "backtest.toml")
    started = time.perf_counter()
    perpetual, _ = run(base, PERPETUALS, 0.05)
    print(
        "| run | hedged P&L | funding | fees | roll cost (+ paid) | carry switches | rolls | time on dated"
        " | variance reduction | carry saved |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(line("perpetual only", perpetual, {}, None), flush=True)
    for basis in BASES:
        summary, shares = run(base, CARRY_LEGS, basis)
        print(line(f"@carry, basis {basis:.0%}", summary, shares, perpetual.effectiveness.hedged_pnl), flush=True)
    print(f"<!-- three backtests: {time.perf_counter() - started:.0f} s -->", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
