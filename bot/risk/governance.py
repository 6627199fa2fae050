"""The monitors that move the trading state, fed by the engine: staleness, max loss from peak, collateral.

Each places or lifts its own hold on the Governor (sources "staleness", "max_loss", "collateral"); the
effective state is the strictest hold in force. Pure: times and values are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.config import RiskSection
from bot.domain import AccountSnapshot, HedgeTarget, Instrument, Symbol, parse_duration_ms
from bot.risk import buffer as buffers
from bot.risk import collateral, drawdown, headroom, inverse, staleness
from bot.risk.collateral import BufferSteps, CollateralMonitor, Escalation, Step
from bot.risk.drawdown import DrawdownMonitor, LossLimits
from bot.risk.staleness import StalenessLimits, check_staleness
from bot.risk.state import Governor, StateChanged, TradingState
from bot.risk.topup import Legs, ReserveLimits, ReservePlanner, TopUp, account_buffer


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
class LossNotice:
    """A max-loss breach began (`key`: the account, "portfolio" or "hedge account"; the worst if several began at
    once): the operator hears what it protects and what it does."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccountVerdict:
    changes: list[StateChanged]
    cut: CutHedge | None
    notice: CollateralNotice | None
    full_cover: bool = False  # a portfolio loss beyond its limit: the hedge goes to ratio 1 (on_max_loss full_cover)
    loss_notice: LossNotice | None = None
    top_up: TopUp | None = None  # move this much of the reserve into the hedge account (bot.risk.topup)


@dataclass(frozen=True, slots=True)
class CutHedge:
    """The collateral buffer asks for the hedge to be cut by this fraction of every position: a protective cut,
    asked on every account evaluation at the reduce step or below, that no trading state blocks."""

    fraction: float
    reason: str
    venue: str = ""  # legs on several venues: the cut is of this venue's positions only (its own account's)


class Governance:
    def __init__(self, risk: RiskSection, governor: Governor) -> None:
        self.governor = governor
        self._stale: frozenset[str] = frozenset()  # keys of the inputs stale at the last check
        self.escalation: Escalation | None = None  # the collateral buffer at the last account evaluation
        self._top_up_value = 0.0  # the top-up in flight in the quote (a coin account's, at the price it was asked)
        # the inputs of the last account evaluation when it changed nothing, and its verdict (`_inputs`)
        self._quiet: tuple[tuple[object, ...], AccountVerdict] | None = None
        self.configure(risk)

    def configure(self, risk: RiskSection) -> None:
        """(Re)apply the limits; a monitor whose limits changed starts again from the current values."""
        self._quiet = None
        old_losses, old_steps = getattr(self, "loss_limits", None), getattr(self, "buffer_steps", None)
        self.on_max_loss = risk.on_max_loss
        state = TradingState.HALTED if risk.on_max_loss == "halted" else TradingState.REDUCING
        self.loss_limits = LossLimits(
            risk.max_daily_loss, risk.max_loss, risk.max_hedge_daily_loss, risk.max_hedge_loss, state
        )
        steps = risk.collateral
        self.buffer_steps = BufferSteps(steps.warn, steps.top_up, steps.reduce, steps.floor, steps.hysteresis)
        self.staleness_limits = StalenessLimits(
            parse_duration_ms(risk.max_price_age),
            parse_duration_ms(risk.max_funding_age),
            parse_duration_ms(risk.max_account_age),
        )
        if self.loss_limits != old_losses:
            self.drawdown = DrawdownMonitor(self.loss_limits)
        if self.buffer_steps != old_steps:
            self.collateral = CollateralMonitor(self.buffer_steps)
        reserve = risk.reserve
        limits = ReserveLimits(reserve.amount, reserve.wallet, reserve.max_transfer, reserve.max_daily)
        if getattr(self, "reserve", None) is None:
            self.reserve = ReservePlanner(limits)
        self.reserve.limits = limits  # a reload keeps what was moved today and so far

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

    def on_account(
        self,
        snapshot: AccountSnapshot,
        portfolio_value: float,
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
        hedge_equity: float | None = None,
        *,
        top_up: bool = True,
    ) -> AccountVerdict:
        """Max loss and collateral from a fresh account snapshot (positions valued at `marks`): state changes, a
        protective cut of the hedge at the REDUCE step and below, and a notice whenever the collateral step
        changes. Below the top-up step, a transfer from the reserve comes first (`top_up`: allowed now)."""
        key = self._inputs(snapshot, portfolio_value, marks, instruments, hedge_equity, top_up)
        if self._quiet is not None and self._quiet[0] == key:
            return self._quiet[1]
        verdict = self._evaluate(snapshot, portfolio_value, marks, instruments, hedge_equity, top_up=top_up)
        quiet = not (verdict.changes or verdict.cut or verdict.notice or verdict.loss_notice or verdict.top_up)
        # a reserve credit is valued at a coin's price the key does not hold: with one, every evaluation is made
        self._quiet = (key, verdict) if quiet and not self.reserve.credit else None
        return verdict

    def _inputs(
        self,
        snapshot: AccountSnapshot,
        portfolio_value: float,
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
        hedge_equity: float | None,
        top_up: bool,
    ) -> tuple[object, ...]:
        """Everything an account evaluation reads, monitors aside: the same inputs after an evaluation that
        changed nothing (no state change, cut, notice, breach begun or top-up) give the same verdict and leave
        every monitor as it was (the loss peaks re-add the same value at the same time, the collateral step is
        a fixed point of `next_step`, the reserve plans nothing on the same figures), so it is not redone: the
        valuation's account of an instant without a fill is the one its start governed. What moves the monitors
        between evaluations (a settled transfer, a holdings change, an acknowledge, a reload) forgets it."""
        positions = tuple((marks.get(p.symbol), instruments.get(p.symbol)) for p in snapshot.positions)
        reserve = self.reserve  # its credit is 0 when an evaluation is kept (`on_account`)
        return (snapshot, portfolio_value, hedge_equity, top_up, positions, reserve.credit, reserve.in_flight,
                reserve.used, self.governor.holds)  # fmt: skip

    def _evaluate(
        self,
        snapshot: AccountSnapshot,
        portfolio_value: float,
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
        hedge_equity: float | None = None,
        *,
        top_up: bool = True,
    ) -> AccountVerdict:
        changes: list[StateChanged] = []
        planned = self._plan_top_up(snapshot, marks, instruments) if top_up else None
        credit = self.reserve.credit  # the reserve on its way is equity already: asked once, never cut for
        snapshot = replace(snapshot, equity=snapshot.equity + credit) if credit else snapshot
        # the hedge account's equity in the quote: a coin-margined one's as the caller valued it (`hedge_equity`)
        credit_value = credit * _rate(snapshot, marks, instruments)  # a coin account's credit is in its coin
        equity = snapshot.equity if hedge_equity is None else hedge_equity + credit_value
        breach = self.drawdown.update(snapshot.ts, equity, portfolio_value + credit_value)
        full_cover, loss_notice, held = self._loss_action(breach)
        change = self._apply(drawdown.SOURCE, held.state if held else None, held.reason if held else "", snapshot.ts)
        changes.extend([change] if change else [])
        escalation: Escalation = self.collateral.update(snapshot.ts, snapshot, marks, instruments)
        self.escalation = escalation
        hold = escalation.hold_state  # the reason (formatted figures) only for a hold placed: it is asked every mark
        change = self._apply(collateral.SOURCE, hold, escalation.reason if hold is not None else "", snapshot.ts)
        changes.extend([change] if change else [])
        cut = None
        if escalation.step >= Step.REDUCE and escalation.reduce_fraction > 0:  # the engine skips a cut under way
            cut = CutHedge(escalation.reduce_fraction, escalation.reason, escalation.venue)
        notice = CollateralNotice(str(escalation.step), escalation.reason) if escalation.changed else None
        return AccountVerdict(changes, cut, notice, full_cover, loss_notice, planned)

    def _plan_top_up(
        self, snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
    ) -> TopUp | None:
        """Below the top-up step, a transfer from the reserve lifting the buffer to where a cut would take it."""
        if not self.reserve.limits.enabled:
            return None
        coin = inverse.is_inverse_book(snapshot.positions, instruments)  # topped up with its coin, in the coin
        legs: Legs = (inverse.legs_of if coin else buffers.legs_of)(snapshot.positions, marks, instruments)
        buffer = account_buffer(snapshot.equity + self.reserve.credit, legs)
        if buffer is None or buffer >= self.buffer_steps.top_up:
            return None
        reason = f"liquidation {buffer:.1%} away, below top_up {self.buffer_steps.top_up:.0%}"
        top_up = self.reserve.plan(snapshot.ts, snapshot.equity, legs, self.buffer_steps.cut_target, reason)
        if top_up is not None:  # value moved in, not gained: the loss limits' peaks move with it (in the quote)
            self._top_up_value = top_up.amount * _rate(snapshot, marks, instruments)
            self.drawdown.transfer(drawdown.Account.HEDGE, self._top_up_value)
            self.drawdown.transfer(drawdown.Account.PORTFOLIO, self._top_up_value)
        return top_up

    def cap_hedge(
        self,
        snapshot: AccountSnapshot,
        targets: dict[Symbol, HedgeTarget],
        *,
        held: Mapping[Symbol, float],
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
    ) -> headroom.HedgeCap | None:
        """What of a decision's `targets` the buffer allows: no more hedge than keeps it where a cut would restore
        it (`bot.risk.headroom`), counting as equity the reserve on its way and what top-ups could still bring in
        today (a buffer taken below `top_up` is topped up first). None with the ladder off."""
        if self.buffer_steps.top_up <= 0:
            return None
        reserve = self.reserve.credit + self.reserve.available(snapshot.ts)
        snapshot = replace(snapshot, equity=snapshot.equity + reserve)
        return headroom.cap_targets(snapshot, targets, held, marks, instruments, self.buffer_steps.cut_target)

    def cap_hedge_by_venue(
        self,
        accounts: Mapping[str, AccountSnapshot],
        venue_of: Mapping[Symbol, str],
        targets: dict[Symbol, HedgeTarget],
        *,
        held: Mapping[Symbol, float],
        marks: Mapping[Symbol, float],
        instruments: Mapping[Symbol, Instrument],
    ) -> headroom.HedgeCap | None:
        """`cap_hedge` for legs on several venues: each venue's legs (`venue_of`) by its own account (`accounts`),
        since each liquidates alone; the share named is the smallest. A leg whose venue has not reported yet is
        held where it is: nothing is added on an account never read. None with the ladder off."""
        if self.buffer_steps.top_up <= 0:
            return None
        out, target = dict(targets), self.buffer_steps.cut_target
        shares: list[float] = []
        for symbol, wanted in targets.items():
            if venue_of.get(symbol) not in accounts:
                out[symbol] = _unmoved(wanted, held.get(symbol, 0.0))
                shares.append(0.0)
        for venue, account in accounts.items():
            mine = {s: t for s, t in targets.items() if venue_of.get(s) == venue}
            cap = self.cap_hedge(account, mine, held=held, marks=marks, instruments=instruments) if mine else None
            if cap is not None:
                out.update(cap.targets)
                shares.append(cap.share)
                target = cap.target
        return headroom.HedgeCap(out, min(shares), target) if shares else None

    def transfer_settled(self, transfer: str, executed: bool, ts: int, *, refused: bool = True) -> TopUp | None:
        """The shell's word on a top-up; one not executed stops counting as equity (and as moved-in value)."""
        self._quiet = None
        top_up = self.reserve.settled(transfer, executed, ts, refused=refused)
        if top_up is not None and not executed:
            self.drawdown.transfer(drawdown.Account.HEDGE, -self._top_up_value)
            self.drawdown.transfer(drawdown.Account.PORTFOLIO, -self._top_up_value)
        return top_up

    def _loss_action(self, worst: drawdown.Breach | None) -> tuple[bool, LossNotice | None, drawdown.Breach | None]:
        """What the breaches in force do: (hedge to full cover?, a notice for a breach that began, the breach whose
        state to hold). `full_cover`: a portfolio breach takes the hedge to ratio 1 and holds nothing; a hedge-account
        breach (the spot gained what the hedge lost) holds `reducing`, the collateral action. Otherwise the worst
        breach holds `on_max_loss`."""
        breaches = self.drawdown.breaches
        began = max((b for b in breaches if b.new), key=lambda b: b.severity, default=None)
        notice = LossNotice(str(began.account), _loss_text(began)) if began else None
        if self.on_max_loss != "full_cover":
            return False, notice, worst
        portfolio = [b for b in breaches if b.account is drawdown.Account.PORTFOLIO]
        hedge = [b for b in breaches if b.account is drawdown.Account.HEDGE]
        return bool(portfolio), notice, max(hedge, key=lambda b: b.severity, default=None)

    def holdings_changed(self, value_moved: float) -> None:
        """The spot holdings changed by `value_moved` (quote, at the prices now) without a trade of ours: not a
        loss nor a gain of the portfolio."""
        self._quiet = None
        self.drawdown.transfer(drawdown.Account.PORTFOLIO, value_moved)

    def acknowledge(self, now: int) -> None:
        """The operator resumed: losses are measured from here on."""
        self._quiet = None
        self.drawdown.acknowledge(now)

    def _apply(self, source: str, state: TradingState | None, reason: str, now: int) -> StateChanged | None:
        if state is None:
            return self.governor.release(source, now, "cleared")
        return self.governor.hold(source, state, reason, now)


def _unmoved(wanted: HedgeTarget, held: float) -> HedgeTarget:
    """A leg kept at its position where the decider would add to it (a shrink is the decider's own business)."""
    if abs(wanted.qty) <= abs(held) and wanted.qty * held >= 0:
        return wanted
    notional = wanted.notional * held / wanted.qty if wanted.qty else 0.0
    return HedgeTarget(wanted.symbol, held, notional, wanted.residual)


def _loss_text(breach: drawdown.Breach) -> str:
    if breach.account is drawdown.Account.PORTFOLIO:
        action = "the hedge goes to full cover (ratio 1) until it recovers or the operator resumes"
    else:
        action = "the spot gained about as much: no adding to the hedge, top up the hedge account's collateral"
    return f"{breach.reason}; {action}"


def _rate(snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]) -> float:
    """The quote value of one unit of the hedge account's currency: 1 for a linear account; a coin account's coin
    at the mark of its inverse contract (its USD price, USD taken as the quote), 1 while it has none yet."""
    rate = inverse.coin_price(snapshot.currency, "USD", marks, instruments)
    return rate if rate is not None and rate > 0 else 1.0
