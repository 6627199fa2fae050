"""The monitors that move the trading state, fed by the engine: staleness, max loss from peak, collateral.

Each places or lifts its own hold on the Governor (sources "staleness", "max_loss", "collateral"); the
effective state is the strictest hold in force. Pure: times and values are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import RiskSection
from bot.domain import AccountSnapshot, Symbol, parse_duration_ms
from bot.risk import collateral, drawdown, staleness
from bot.risk.collateral import CollateralMonitor, Escalation, MarginSteps, Step
from bot.risk.drawdown import DrawdownMonitor, LossLimits
from bot.risk.staleness import StalenessLimits, check_staleness
from bot.risk.state import Governor, StateChanged, TradingState


@dataclass(frozen=True, slots=True)
class CollateralNotice:
    """The collateral buffer moved to another step (WARN included, which holds nothing): the operator hears."""

    step: str
    reason: str


@dataclass(frozen=True, slots=True)
class StaleNotice:
    """An input went stale (`key`: its kind and name, like "price ETH/USDT:USDT"), or every input is fresh again
    (`key` "ok"): the operator hears. An input that stays stale is not told again."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccountVerdict:
    changes: list[StateChanged]
    cut: CutHedge | None
    notice: CollateralNotice | None


@dataclass(frozen=True, slots=True)
class CutHedge:
    """The collateral buffer asks for the hedge to be cut by this fraction of every position."""

    fraction: float
    reason: str


class Governance:
    def __init__(self, risk: RiskSection, governor: Governor) -> None:
        self.governor = governor
        self._stale: frozenset[str] = frozenset()  # keys of the inputs stale at the last check
        self.configure(risk)

    def configure(self, risk: RiskSection) -> None:
        """(Re)apply the limits; a monitor whose limits changed starts again from the current values."""
        old_losses, old_steps = getattr(self, "loss_limits", None), getattr(self, "margin_steps", None)
        state = TradingState.HALTED if risk.on_max_loss == "halted" else TradingState.REDUCING
        self.loss_limits = LossLimits(
            risk.max_daily_loss, risk.max_loss, risk.max_hedge_daily_loss, risk.max_hedge_loss, state
        )
        self.margin_steps = MarginSteps(
            risk.margin_warn_ratio,
            risk.margin_stop_adding_ratio,
            risk.margin_reduce_ratio,
            risk.margin_halt_ratio,
            risk.margin_hysteresis,
        )
        self.staleness_limits = StalenessLimits(
            parse_duration_ms(risk.max_price_age),
            parse_duration_ms(risk.max_funding_age),
            parse_duration_ms(risk.max_account_age),
        )
        if self.loss_limits != old_losses:
            self.drawdown = DrawdownMonitor(self.loss_limits)
        if self.margin_steps != old_steps:
            self.collateral = CollateralMonitor(self.margin_steps)

    def on_time(
        self,
        now: int,
        price_ts: Mapping[Symbol, int | None],
        funding_ts: Mapping[Symbol, int | None],
        account_ts: int | None,
    ) -> tuple[StateChanged | None, list[StaleNotice]]:
        """The staleness gate: the change of trading state it makes, and a notice for each input gone stale
        since the last check (or one "ok" once all are fresh again)."""
        gate = check_staleness(now, self.staleness_limits, price_ts, funding_ts, account_ts)
        stale = {f"{item.kind} {item.name}": item for item in gate.stale}
        notices = [StaleNotice(key, item.describe()) for key, item in stale.items() if key not in self._stale]
        if self._stale and not stale:
            notices.append(StaleNotice("ok", "prices, funding and account fresh again"))
        self._stale = frozenset(stale)
        return self._apply(staleness.SOURCE, gate.hold_state, gate.reason, now), notices

    def on_account(self, snapshot: AccountSnapshot, portfolio_value: float) -> AccountVerdict:
        """Max loss and collateral from a fresh account snapshot: state changes, a cut of the hedge when REDUCE
        begins, and a notice whenever the collateral step changes."""
        changes: list[StateChanged] = []
        breach = self.drawdown.update(snapshot.ts, snapshot.equity, portfolio_value)
        change = self._apply(
            drawdown.SOURCE, breach.state if breach else None, breach.reason if breach else "", snapshot.ts
        )
        changes.extend([change] if change else [])
        escalation: Escalation = self.collateral.update(snapshot.ts, snapshot)
        change = self._apply(collateral.SOURCE, escalation.hold_state, escalation.reason, snapshot.ts)
        changes.extend([change] if change else [])
        cut = None
        if escalation.changed and escalation.step is Step.REDUCE and escalation.reduce_fraction > 0:
            cut = CutHedge(escalation.reduce_fraction, escalation.reason)
        notice = CollateralNotice(str(escalation.step), escalation.reason) if escalation.changed else None
        return AccountVerdict(changes, cut, notice)

    def holdings_changed(self, value_moved: float) -> None:
        """The spot holdings changed by `value_moved` (quote, at the prices now) without a trade of ours: not a
        loss nor a gain of the portfolio."""
        self.drawdown.transfer(drawdown.Account.PORTFOLIO, value_moved)

    def acknowledge(self, now: int) -> None:
        """The operator resumed: losses are measured from here on."""
        self.drawdown.acknowledge(now)

    def _apply(self, source: str, state: TradingState | None, reason: str, now: int) -> StateChanged | None:
        if state is None:
            return self.governor.release(source, now, "cleared")
        return self.governor.hold(source, state, reason, now)
