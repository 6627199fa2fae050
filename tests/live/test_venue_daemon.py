"""A paper run with hedge legs on two venues (`[venues]`): each leg trades on its own paper account, the journal
keys every row by venue, and the run's hedge P&L counts both accounts' collateral as the starting point."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import parse_config
from bot.live.assembly import as_fast_as_possible, build_daemon, synthetic_plan
from bot.store.journal import Journal
from bot.venues.venue_set import VenueSet

START = 1_704_067_200_000
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def test_a_paper_run_trades_each_leg_on_its_venue_and_journals_rows_by_venue(tmp_path: Path) -> None:
    config = parse_config(
        {
            "bot": {"state_dir": str(tmp_path), "span": "1d"},
            "market": {"step": "10m"},  # a short, coarse market: the routing is what is tested
            "hedge": {"window": "12h", "min_samples": 6},
            "venues": {"second": {"instruments": [BTC], "collateral": 20_000.0}},
        }
    )
    journal = Journal(tmp_path / "journal.sqlite")
    plan = synthetic_plan(config, START, config.span_ms, realtime=False)
    daemon = build_daemon(config, plan, journal)
    assert isinstance(daemon.venue, VenueSet)
    summary = asyncio.run(daemon.run(as_fast_as_possible(plan.events)))
    by_venue = {(str(r["venue"]), str(r["symbol"])) for r in journal.rows("fills")}
    assert by_venue == {("main", ETH), ("second", BTC)}
    assert {str(r["venue"]) for r in journal.rows("orders") if r["symbol"] == BTC} == {"second"}
    venues = daemon.venue
    assert [p.symbol for p in venues.members["second"].account_now().positions] == [BTC]  # type: ignore[attr-defined]
    assert summary.positions.keys() == {BTC, ETH}
    assert summary.equity > 60_000.0  # both accounts: 50,000 and 20,000 less costs and P&L
    assert set(daemon.status()["venues"]) == {"main", "second"}
