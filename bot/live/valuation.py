"""The valuation of the book (hourly, or every sampling step when shorter): what the run is worth, journaled,
recorded for effectiveness at the data's resolution, and gauged.

The daemon asks `due(now)` after each instant and, when it is, `record(engine, now)`; everything a valuation
needs besides the engine (the venue to ask for the account, the journal, the run's totals, the P&L baselines)
lives here. Gauges go to whichever observer the daemon has when `publish` is called (the session installs its
own after the daemon is built), and only to one that listens: the silent observer of a backtest gets no status
dictionary built for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bot.config import Config
from bot.core.engine import Engine
from bot.domain import MS_PER_HOUR, AccountSnapshot, parse_duration_ms, spot_symbol
from bot.execution.venue import Venue
from bot.hedge.exposure import Exposure
from bot.money import book_notional
from bot.ops.observer import Observer
from bot.report.performance import Effectiveness, ValueRecorder
from bot.report.run_summary import Totals
from bot.risk.inverse import coin_price
from bot.store.journal import Journal, Valuation


def coin_account_split(
    engine: Engine, exposure: Exposure, equity: float, account: AccountSnapshot
) -> tuple[float, float]:
    """(the unhedged spot value, the posted holdings' value now) beside a coin-margined account, whose equity
    (`equity`, in quote) the engine's exposure already counts as its coin held. Unhedged, the exposure is the
    holdings alone: a posted holding at its quantity and price, what the account's equity is measured from, so
    the hedge P&L is the coin the account gained or lost, valued now. A linear account: (exposure, 0)."""
    if account.currency in (engine.quote, ""):
        return exposure.total, 0.0
    posted = engine.config.portfolio.posted
    held = sum(engine.holdings.get(b, 0.0) * engine.prices.get(spot_symbol(b, engine.quote), 0.0) for b in posted)
    return exposure.total - equity + held, held


def listens_to_gauges(observer: Observer) -> bool:
    """Whether the observer does anything with gauges (the silent one's hook does nothing: no status for it)."""
    return type(observer).gauges is not Observer.gauges


class Valuer:
    """Values the book every sampling step, at most an hour apart (and once more at the end of a run), and keeps the
    figures derived from it: the effectiveness recorder, the hedged value's peak and drawdown, the margin ratio."""

    def __init__(self, config: Config, venue: Venue, journal: Journal, totals: Totals) -> None:
        self.config = config
        self.venue = venue
        self.journal = journal
        self.totals = totals
        self.recorder = ValueRecorder(config.hedge.floor, config.hedge.floor_value)  # floor: the breach measure
        self.equity_baseline: float | None = None  # live: the hedge-account equity that hedge P&L is measured from
        self._coin_baseline: float | None = None  # paper, coin-margined: the collateral's quote value at the start
        self._next_ts = 0
        # the data's resolution: every sampling step (`hedge.sample`, each minute on 1-minute data), at most hourly,
        # so effectiveness and drawdowns see the moves inside an hour (bot/report/performance.py)
        self._step = min(MS_PER_HOUR, parse_duration_ms(config.hedge.sample))
        self._peak_value = -math.inf
        self.drawdown = 0.0
        self.margin_ratio = math.inf

    # ---- when -------------------------------------------------------------------------------------

    def due(self, now: int) -> bool:
        """A valuation is due at the first instant of each step (of event time) from the trading start."""
        return now >= self._next_ts

    def recorded(self, now: int) -> None:
        """The valuation of `now`'s step is done (or tried): the next is due at the next whole step."""
        self._next_ts = now - now % self._step + self._step

    # ---- what -------------------------------------------------------------------------------------

    async def record(self, engine: Engine, now: int) -> bool:
        """Value the book at instant `now`: journal it and record it. False when it cannot be valued yet (a
        holding without a price)."""
        account = await self._account_to_value(engine)
        exposure = engine.exposure()
        if exposure.missing or not exposure.values:
            return False
        equity = engine.in_quote(account)  # a coin-margined account's coin at the coin's price now
        spot, posted = coin_account_split(engine, exposure, equity, account)
        initial = self._value_baseline(account, engine) + posted  # paper: the collateral; live: the equity at start
        self.recorder.record(now, spot, equity - initial)
        self.journal.record_valuation(self._valuation(engine, now, spot, equity, initial))
        value = spot + equity - initial - self.totals.transfers  # transfers are not P&L
        self._peak_value = max(self._peak_value, value)
        self.drawdown = self._peak_value - value
        self.margin_ratio = account.margin_ratio
        return True

    def transfer(self, value: float) -> None:
        """A holdings change that is no trade: kept out of the recorded P&L."""
        self.recorder.transfer(value)

    def effectiveness(self) -> Effectiveness:
        return self.recorder.effectiveness()

    def publish(self, observer: Observer, status: Callable[[], dict[str, Any]]) -> None:
        """Refresh the observer's gauges (hourly in replay, every tick live); the status is built only for an
        observer that listens."""
        if listens_to_gauges(observer):
            observer.gauges(status(), self.drawdown, self.margin_ratio)

    # ---- baselines --------------------------------------------------------------------------------

    def set_equity_baseline(self, engine: Engine) -> None:
        """Live: measure hedge P&L from the account's equity now (called once the account is loaded at start)."""
        if engine.account is not None:
            equity = engine.in_quote(engine.account)  # NaN while a coin account's coin has no price yet
            self.equity_baseline = equity if math.isfinite(equity) else None  # then the first valuation sets it

    def _value_baseline(self, account: AccountSnapshot, engine: Engine) -> float:
        """What hedge-account P&L is measured from: the paper collateral, or live the account's equity at start
        (the first valuation's when no start snapshot was taken)."""
        moved = [float(row["amount"]) for row in self.totals.top_ups]  # moved in from the reserve: not P&L
        if self.config.bot.mode != "live" and account.currency != self.config.portfolio.quote:
            if self._coin_baseline is None:  # a coin-margined paper account: its collateral bought at the start
                price = coin_price(account.currency, engine.quote, engine.prices, engine.instruments) or math.nan
                self._coin_baseline = (0.0 if self.config.portfolio.posted else self.config.paper.collateral) * price
            return self._coin_baseline + sum(moved)
        if self.config.bot.mode != "live":
            return self.config.paper_collateral + sum(moved)
        if self.equity_baseline is None:
            self.equity_baseline = engine.in_quote(account)
        this_run = [float(r["amount"]) for r in self.totals.top_ups if not r.get("restored")]  # after the baseline
        return self.equity_baseline + sum(this_run)

    async def _account_to_value(self, engine: Engine) -> AccountSnapshot:
        """The account an hourly valuation uses. A venue whose events arrive on their own (a live user stream) is
        not asked again right after this instant's orders: its answer can already include a fill the stream has
        not delivered, and the engine would count that fill twice (once in the snapshot's positions, once when
        it arrives). The snapshot taken at the start of the instant, kept fresh by the stream's own snapshots,
        is used instead. A venue that reports synchronously (paper) is asked."""
        if engine.account is not None and getattr(self.venue, "wait_for_events", None) is not None:
            return engine.account
        account = await self.venue.fetch_account()
        engine.on_venue(account)
        return account

    def _valuation(self, engine: Engine, now: int, spot_value: float, equity: float, collateral: float) -> Valuation:
        hedge = book_notional(engine.positions, engine.instruments, engine.prices).net
        target = sum(t.notional for t in engine.targets.values())
        correlation, beta = engine.portfolio_estimates()
        totals = self.totals
        rolls = totals.roll_cost + engine.roller.in_progress_cost
        return Valuation(now, spot_value, equity, collateral, hedge, target, totals.fees, totals.funding,
                         totals.slippage_cost, rolls, correlation, beta)  # fmt: skip
