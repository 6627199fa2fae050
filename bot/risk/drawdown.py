"""Max loss from the peak, not from the start: daily and overall, on the hedge account and the whole portfolio.

Pure: values and times are passed in. Losses are fractions of the peak they are measured from, so one
config fits a portfolio of any size. Four watches, each with its own limit:

- daily: from the highest value of the trailing 24 h. A breach lifts by itself once the loss from that
  peak is back under 80 % of the limit (the peak ages out of the window, or the value recovers): a value
  hovering at the limit does not flap the trading state.
- overall: from the highest value since start (or since the last `acknowledge`). A breach stays until an
  operator acknowledges it: a large loss is looked at by a person before the bot adds risk again.

Governor: source `SOURCE`. While `update` returns a `Breach`, hold `breach.state` with `breach.reason`
(and alert when `breach.new`); when it returns None, release. On operator resume, call `acknowledge`.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, replace

from bot.domain import MS_PER_DAY
from bot.risk.state import TradingState

SOURCE = "max_loss"

# A daily breach lifts once the loss is under this share of its limit: hysteresis against flapping.
_DAILY_RECOVERY = 0.8


class Account(enum.StrEnum):
    PORTFOLIO = "portfolio"  # spot value + hedge-account equity
    HEDGE = "hedge account"  # hedge-account equity alone


class Period(enum.StrEnum):
    DAILY = "daily"
    OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class LossLimits:
    """Max loss as fractions of the peak (1.0: only a total loss breaches), and what a breach holds."""

    portfolio_daily: float
    portfolio_overall: float
    hedge_daily: float
    hedge_overall: float
    on_breach: TradingState = TradingState.REDUCING
    window_ms: int = MS_PER_DAY

    def __post_init__(self) -> None:
        fractions = (self.portfolio_daily, self.portfolio_overall, self.hedge_daily, self.hedge_overall)
        if not all(0 < fraction <= 1 for fraction in fractions):
            raise ValueError(f"max loss fractions must be in (0, 1], got {fractions}")
        if self.on_breach is TradingState.ACTIVE:
            raise ValueError("a max loss breach must hold trading to reducing or halted, not active")

    def limit(self, account: Account, period: Period) -> float:
        if account is Account.PORTFOLIO:
            return self.portfolio_daily if period is Period.DAILY else self.portfolio_overall
        return self.hedge_daily if period is Period.DAILY else self.hedge_overall


@dataclass(frozen=True, slots=True)
class Breach:
    account: Account
    period: Period
    ts: int  # the update that reports it
    since_ts: int  # when it was first seen
    peak: float
    peak_ts: int
    value: float
    limit: float  # fraction of the peak
    state: TradingState  # the hold it asks for
    new: bool  # first reported by this update: alert once

    @property
    def loss(self) -> float:
        return self.peak - self.value

    @property
    def loss_fraction(self) -> float:
        return _loss_fraction(self.peak, self.value)

    @property
    def severity(self) -> float:
        """Loss over limit: the worst breach is the one furthest past its limit."""
        return self.loss_fraction / self.limit

    @property
    def reason(self) -> str:
        since = "24 h" if self.period is Period.DAILY else "all-time"
        return (
            f"max {self.period} loss: {self.account} lost {self.loss:,.2f} ({self.loss_fraction:.1%}) "
            f"from its {since} peak {self.peak:,.2f}, limit {self.limit:.1%}"
        )


def _loss_fraction(peak: float, value: float) -> float:
    if peak > 0:
        return max(peak - value, 0.0) / peak
    return math.inf if value < peak else 0.0  # no positive peak to measure from: any loss is a total one


class _TrailingPeak:
    """Highest value of the trailing window: a deque of candidates, each higher than every later one."""

    def __init__(self, window_ms: int) -> None:
        self._window_ms = window_ms
        self._candidates: deque[tuple[int, float]] = deque()

    def add(self, ts: int, value: float) -> tuple[int, float]:
        while self._candidates and self._candidates[-1][1] <= value:
            self._candidates.pop()
        self._candidates.append((ts, value))
        while self._candidates[0][0] <= ts - self._window_ms:
            self._candidates.popleft()
        return self._candidates[0]

    def reset(self, ts: int, value: float) -> None:
        self._candidates = deque([(ts, value)])

    def shift(self, amount: float) -> None:
        self._candidates = deque((ts, value + amount) for ts, value in self._candidates)


class _AllTimePeak:
    def __init__(self) -> None:
        self._peak: tuple[int, float] | None = None

    def add(self, ts: int, value: float) -> tuple[int, float]:
        if self._peak is None or value > self._peak[1]:
            self._peak = (ts, value)
        return self._peak

    def reset(self, ts: int, value: float) -> None:
        self._peak = (ts, value)

    def shift(self, amount: float) -> None:
        if self._peak is not None:
            self._peak = (self._peak[0], self._peak[1] + amount)


class _Watch:
    """One limit on one account over one period, with its latched breach."""

    def __init__(self, account: Account, period: Period, limits: LossLimits) -> None:
        self.account, self.period = account, period
        self.limit = limits.limit(account, period)
        self.state = limits.on_breach
        self.peak = _TrailingPeak(limits.window_ms) if period is Period.DAILY else _AllTimePeak()
        self.breach: Breach | None = None

    def update(self, ts: int, value: float) -> Breach | None:
        peak_ts, peak = self.peak.add(ts, value)
        fraction = _loss_fraction(peak, value)
        if self.breach is None:
            if fraction >= self.limit:
                self.breach = Breach(
                    self.account, self.period, ts, ts, peak, peak_ts, value, self.limit, self.state, new=True
                )
        elif self.period is Period.DAILY and fraction < self.limit * _DAILY_RECOVERY:
            self.breach = None
        else:
            self.breach = replace(self.breach, ts=ts, peak=peak, peak_ts=peak_ts, value=value, new=False)
        return self.breach

    def acknowledge(self, ts: int, value: float) -> None:
        self.breach = None
        self.peak.reset(ts, value)


class DrawdownMonitor:
    def __init__(self, limits: LossLimits) -> None:
        self._watches = tuple(_Watch(account, period, limits) for account in Account for period in Period)
        self._last: tuple[int, float, float] | None = None  # ts, hedge equity, portfolio value

    def update(self, ts: int, hedge_equity: float, portfolio_value: float) -> Breach | None:
        """The worst breach in force after these values (None: no limit breached). Raises on non-finite input."""
        if not (math.isfinite(hedge_equity) and math.isfinite(portfolio_value)):
            raise ValueError(f"drawdown needs finite values, got equity {hedge_equity!r}, value {portfolio_value!r}")
        if self._last is not None:
            ts = max(ts, self._last[0])  # a wall clock stepped back by NTP must not reorder the window
        self._last = (ts, hedge_equity, portfolio_value)
        for watch in self._watches:
            watch.update(ts, hedge_equity if watch.account is Account.HEDGE else portfolio_value)
        return max(self.breaches, key=lambda breach: breach.severity, default=None)

    @property
    def breaches(self) -> tuple[Breach, ...]:
        """Every breach in force, as of the last update."""
        return tuple(watch.breach for watch in self._watches if watch.breach is not None)

    def transfer(self, account: Account, amount: float) -> None:
        """Value moved into (+) or out of (−) `account` without any gain or loss (the operator changed the spot
        holdings): the peaks move with it, so a transfer is never taken for a loss, nor for a gain."""
        for watch in self._watches:
            if watch.account is account:
                watch.peak.shift(amount)
        if self._last is not None and account is Account.PORTFOLIO:
            ts, hedge_equity, portfolio_value = self._last
            self._last = (ts, hedge_equity, portfolio_value + amount)

    def acknowledge(self, ts: int) -> None:
        """An operator has looked: clear every breach and measure all losses from the latest values."""
        if self._last is None:
            return
        _, hedge_equity, portfolio_value = self._last
        for watch in self._watches:
            watch.acknowledge(ts, hedge_equity if watch.account is Account.HEDGE else portfolio_value)
