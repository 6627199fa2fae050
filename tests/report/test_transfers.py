"""An operator's set-holding is a transfer, not P&L: a paper run whose SOL holding doubles mid-run reports as spot
P&L Σ qty × price change over the periods (250 SOL before the change, 500 after, from the price at the change),
in the run summary and in `hedgebot report` alike, and journals the transfer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from bot.commands import SetHolding
from bot.config import Config, parse_config
from bot.domain import MS_PER_DAY, MarketEvent
from bot.live.assembly import build_daemon, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.session import FIXED_START_MS
from bot.report.cli import load_period
from bot.report.daily import summary
from bot.report.run_summary import RunSummary
from bot.store.journal import Journal

pytestmark = pytest.mark.asyncio
BEFORE, AFTER = 250.0, 500.0
CHANGE_AT = FIXED_START_MS + MS_PER_DAY + 7 * 3_600_000  # mid-run, between two hourly valuations


def config_in(state_dir: Path) -> Config:
    return parse_config(
        {
            "bot": {"state_dir": str(state_dir), "span": "3d"},
            "market": {"step": "5m"},
            "portfolio": {"holdings": {"SOL": BEFORE}},
            "hedge": {"policy": "fixed", "ratio": 0.5, "window": "1d", "sample": "1h", "min_samples": 3},
            "metrics": {"enabled": False},
        }
    )


async def with_set_holding(daemon: Daemon, events: Iterable[MarketEvent], qty: float) -> AsyncIterator[MarketEvent]:
    """The market, with the operator's `set-holding SOL <qty>` once it reaches CHANGE_AT."""
    changed = False
    for event in events:
        if not changed and event.ts >= CHANGE_AT:
            changed = True
            await daemon.command(SetHolding("SOL", qty), {"asset": "SOL", "qty": qty})
        yield event


async def run(state_dir: Path, qty: float = AFTER) -> tuple[RunSummary, Journal]:
    config = config_in(state_dir)
    plan = synthetic_plan(config, FIXED_START_MS, config.span_ms, realtime=False)
    journal = Journal(state_dir / "journal.sqlite")
    daemon = build_daemon(config, plan, journal)
    result = await daemon.run(with_set_holding(daemon, plan.events, qty))
    return result, journal


async def test_doubling_a_holding_mid_run_counts_only_the_price_changes_as_spot_pnl(tmp_path: Path) -> None:
    result, journal = await run(tmp_path)
    [transfer] = journal.transfers()
    valuations = journal.valuations()
    journal.close()
    opening_price = valuations[0].spot_value / BEFORE
    closing_price = valuations[-1].spot_value / AFTER
    price_then = transfer["price"]
    expected = BEFORE * (price_then - opening_price) + AFTER * (closing_price - price_then)

    assert (transfer["asset"], transfer["qty_before"], transfer["qty_after"]) == ("SOL", BEFORE, AFTER)
    assert transfer["value"] == pytest.approx((AFTER - BEFORE) * price_then)
    assert result.effectiveness.unhedged_pnl == pytest.approx(expected, abs=0.01)
    assert result.totals.transfers == pytest.approx(transfer["value"])
    report = summary(load_period(tmp_path / "journal.sqlite") or pytest.fail("no valuations"))
    assert report["pnl"]["unhedged"] == pytest.approx(expected, abs=0.01)
    assert report["attribution"]["spot"] == pytest.approx(expected, abs=0.01)
    assert report["pnl"]["hedged"] == round(result.effectiveness.hedged_pnl, 2)
    assert report["max_drawdown"]["unhedged"] == round(result.effectiveness.unhedged_max_drawdown, 2)
    assert report["transfers"] == {"count": 1, "value": round(transfer["value"], 2)}


async def test_halving_a_holding_mid_run_is_neither_a_loss_nor_a_drawdown(tmp_path: Path) -> None:
    """Half the SOL taken out of the portfolio is value moved out: what is left is measured, not what left."""
    result, journal = await run(tmp_path, qty=BEFORE / 2)
    [transfer] = journal.transfers()
    valuations = journal.valuations()
    journal.close()
    net = [v.spot_value - (transfer["value"] if v.ts >= transfer["ts"] else 0.0) for v in valuations]
    assert transfer["value"] == pytest.approx(-BEFORE / 2 * transfer["price"])
    assert result.effectiveness.unhedged_pnl == pytest.approx(net[-1] - net[0], abs=0.01)
    assert result.effectiveness.unhedged_max_drawdown < -transfer["value"] / 2  # the sale is not in it
