"""What the daemon tells the outside world as it runs: Prometheus metrics and operator alerts.

The daemon calls these hooks at the points that matter; `Observer` does nothing (backtests, tests), and
`OpsObserver` feeds the `Metrics` registry and the `Alerter` (each optional).
"""

from __future__ import annotations

import math
from typing import Any

from bot.domain import Fill, FundingSettled, OrderUpdate
from bot.ops.alerts import Alerter, Severity
from bot.ops.metrics import Metrics


class Observer:
    """The silent observer: every hook does nothing."""

    def fill(self, fill: Fill) -> None:
        """A new (deduplicated) fill was applied."""

    def order(self, update: OrderUpdate) -> None:
        """An order reached a status."""

    def funding(self, funding: FundingSettled) -> None:
        """Funding was paid or received."""

    def state_changed(self, old: str, new: str, reason: str) -> None:
        """The trading state changed."""

    def decision_latency(self, seconds: float) -> None:
        """How long one pass of the engine took."""

    def reconnect(self, stream: str) -> None:
        """A stream (market data or the user stream) failed and is being connected again."""

    def gauges(self, status: dict[str, Any], drawdown: float, margin_ratio: float) -> None:
        """The engine's state, refreshed periodically."""

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None:
        """Something an operator should hear about (limit breach, stale feed, reconciliation problem)."""


class OpsObserver(Observer):
    def __init__(self, metrics: Metrics | None, alerter: Alerter | None) -> None:
        self.metrics = metrics
        self.alerter = alerter

    def fill(self, fill: Fill) -> None:
        if self.metrics:
            self.metrics.fill()

    def order(self, update: OrderUpdate) -> None:
        if self.metrics and update.status.is_final:
            self.metrics.order_outcome(update.status.value)

    def funding(self, funding: FundingSettled) -> None:
        if self.metrics:
            self.metrics.funding(funding.amount)

    def state_changed(self, old: str, new: str, reason: str) -> None:
        if self.metrics:
            self.metrics.set_trading_state(new, reason)
        severity = Severity.INFO if new == "active" else Severity.CRITICAL if new == "halted" else Severity.WARNING
        self.alert("trading_state", new, f"trading state {old} → {new}: {reason}", severity)

    def decision_latency(self, seconds: float) -> None:
        if self.metrics:
            self.metrics.observe_decision_latency(seconds)

    def reconnect(self, stream: str) -> None:
        if self.metrics:
            self.metrics.reconnect(stream)

    def gauges(self, status: dict[str, Any], drawdown: float, margin_ratio: float) -> None:
        if not self.metrics:
            return
        metrics = self.metrics
        metrics.set_exposure(status["exposure"])
        metrics.set_equity(status["equity"])
        metrics.set_drawdown(drawdown)
        metrics.set_margin_ratio(margin_ratio if math.isfinite(margin_ratio) else math.inf)
        buffer = status.get("collateral", {}).get("buffer")
        metrics.set_collateral_buffer(math.inf if buffer is None else buffer)
        holds = status["holds"]  # strictest first; its source named, as a state change names it
        metrics.set_trading_state(status["state"], f"{holds[0]['source']}: {holds[0]['reason']}" if holds else "")
        exposure = status["exposure"] or math.nan
        for symbol, target in status["targets"].items():
            actual = status["positions_notional"].get(symbol, 0.0)
            metrics.set_hedge_ratio(symbol, -target["notional"] / exposure, -actual / exposure)
        for feed, age in status["feed_age_s"].items():
            metrics.set_feed_age(feed, age)
        _account_gauges(metrics, status.get("accounts") or ())  # holdings read from exchange accounts
        tail = status.get("tail_risk") or {}  # None until the estimator's window holds enough samples
        for method in ("historical", "filtered"):
            for book, figures in tail.get(method, {}).items():
                for measure, value in figures.items():
                    metrics.set_tail_risk(method, book, measure, value)

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None:
        if self.alerter:
            self.alerter.alert(kind, key, message, severity)


def _account_gauges(metrics: Metrics, accounts: Any) -> None:
    """Each `[[portfolio.accounts]]` row of the status (bot.report.accounts_status) as its gauges."""
    for account in accounts:
        live = bool(account["stream"]["live"])
        metrics.set_account(account["name"], account["read_age_s"], bool(account["stale"]), live)
