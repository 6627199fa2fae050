"""What a run adds up and what it returns: fills, fees, funding, slippage, rolls; the summary a run ends with.

The daemon counts into `Totals` as events arrive; the backtest result, the status and the reports read it. Every
money figure comes from `bot.money`, so a coin fee or an unpriced position is handled the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain import Fill, Instrument, Symbol
from bot.execution.quality import ExecutionQuality
from bot.execution.roll_plan import RollState
from bot.money import fee_in_quote, slippage_cost, traded_notional
from bot.report.performance import Effectiveness


@dataclass(slots=True)
class Totals:
    events: int = 0
    fills: int = 0
    fees: float = 0.0
    funding: float = 0.0
    traded_notional: float = 0.0
    slippage_cost: float = 0.0  # quote paid versus the mark at send time
    parents: int = 0  # parents closed (done, stopped or replaced) with their execution quality recorded
    parent_fill_value: float = 0.0  # Σ |filled qty| × average price of those parents
    parent_slippage: float = 0.0  # Σ slippage bps × fill value: their value-weighted slippage from arrival
    rolls: int = 0
    roll_cost: float = 0.0  # quote paid (+) or earned (−) by finished rolls: basis, slippage, fees
    finished_rolls: list[RollState] = field(default_factory=list)  # each as it ended (finished or expired)
    quarantined: int = 0  # price prints the market-data sanity layer held back (bot.core.sanity)
    liquidations: list[dict[str, Any]] = field(default_factory=list)  # Liquidated.as_record() of each
    state_changes: list[dict[str, Any]] = field(default_factory=list)  # ts, from, to, reason of each
    collateral_cuts: list[dict[str, Any]] = field(default_factory=list)  # ts, fraction, targets, reason of each
    top_ups: list[dict[str, Any]] = field(default_factory=list)  # ts, amount, reason of each reserve transfer
    transfers: float = 0.0  # Σ value of the holdings changes that were no trade (set-holding, reload): not P&L
    transfer_count: int = 0

    def add_transfer(self, value: float) -> None:
        """Count a holdings change (a transfer in, + or out, −): kept out of every P&L figure."""
        self.transfers += value
        self.transfer_count += 1

    def add_fill(self, instrument: Instrument, fill: Fill, sent_at_mark: float, quote: str) -> None:
        """Count one fill (once: the journal refuses a trade id twice before this is called)."""
        self.fills += 1
        self.fees += fee_in_quote(fill, quote)
        self.traded_notional += traded_notional(instrument, fill)
        self.slippage_cost += slippage_cost(instrument, fill, sent_at_mark)

    def add_parent(self, quality: ExecutionQuality) -> None:
        """Count a closed parent: its fill value weights its slippage from arrival in the run's average."""
        self.parents += 1
        slippage, average = quality.slippage_bps, quality.average_price
        if slippage is not None and average is not None:
            value = abs(quality.filled_qty) * average
            self.parent_fill_value += value
            self.parent_slippage += slippage * value

    def execution(self, clips: int, roll_cost_in_progress: float) -> dict[str, float | int]:
        """The backtest JSON's execution block."""
        slippage = self.parent_slippage / self.parent_fill_value if self.parent_fill_value else 0.0
        return {
            "clips": clips,
            "slippage_bps": round(slippage, 3),
            "fees": round(self.fees, 2),
            "roll_cost": round(self.roll_cost + roll_cost_in_progress, 2),
            "rolls": self.rolls,
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    first_ts: int
    last_ts: int
    decisions: int
    clips: int
    rejected: int
    totals: Totals
    effectiveness: Effectiveness
    positions: dict[Symbol, float] = field(default_factory=dict)
    equity: float = 0.0
    triggers: dict[str, int] = field(default_factory=dict)
    execution: dict[str, float | int] = field(default_factory=dict)
    rolls: tuple[RollState, ...] = ()  # the rolls this run made: those it ended, then any still in progress
    warmup: tuple[int, int] = (0, 0)  # samples the estimates had at the end, and needed (hedge.min_samples)
    coin_account: dict[str, Any] | None = None  # a coin-margined hedge account at the end (bot.report.coin_account)
    carry: dict[str, Any] | None = None  # "…@carry" legs: their switches and contracts (bot.report.carry)
