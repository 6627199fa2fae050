"""The perpetual-or-dated choice replayed over a leg's funding history: which contract, when, and what it saved. Pure.

At each funding settlement of a short perpetual leg, the carry rule (`bot.hedge.carry.choose_contract`) compares
what the two contracts would earn from then on, both annualised and known before the period (no look-ahead):

- perpetual: the mean funding rate of the settlements in the trailing `lookback` (the rate itself is noisy);
- dated: its basis (modelled where the data has no dated prices) less the roll costs: a dated hedge closes one
  contract and opens the next at every quarterly roll, two trades of the notional each time.

It switches only when the other contract is better by more than `threshold` a year, and each switch costs two
trades of the notional. Over the period the leg then earns, per settlement, the funding actually paid on the
perpetual, or the dated contract's basis accrual over the settlement's interval, and the difference to the
perpetual-only leg is the carry saved.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import MS_PER_HOUR
from bot.hedge.carry import DAYS_PER_YEAR, annualised_funding, choose_contract

HOURS_PER_YEAR = DAYS_PER_YEAR * 24
ROLLS_PER_YEAR = 4.0  # quarterly contracts


@dataclass(frozen=True, slots=True)
class Settlement:
    """One funding settlement of a short leg: the rate, its interval and the short notional (positive)."""

    ts: int
    rate: float  # per settlement; + is received by a short
    interval_hours: float
    notional: float


@dataclass(frozen=True, slots=True)
class CarryRule:
    basis_annual: float  # the dated contract's annualised basis (modelled: `market.dated_basis_annual`)
    fee_rate: float  # per trade, as a fraction of notional (taker: 4 bps = 0.0004)
    threshold: float  # switch when the other contract is better by more than this a year
    lookback_ms: int  # the trailing window of funding rates the perpetual's yield is read from
    slippage_rate: float = 0.0  # per trade, as a fraction of notional: what a trade pays beyond its fee
    min_hold_ms: int = 0  # no switch sooner than this after the last one (the engine's hysteresis in time)

    @property
    def trade_cost(self) -> float:
        """One trade of the notional: its fee and its slippage, as a fraction of the notional."""
        return self.fee_rate + self.slippage_rate

    @property
    def roll_cost_annual(self) -> float:
        """The dated contract's quarterly rolls: two trades of the notional at each of four rolls a year."""
        return 2 * self.trade_cost * ROLLS_PER_YEAR

    @property
    def dated_yield(self) -> float:
        """The dated contract's basis net of its rolls."""
        return self.basis_annual - self.roll_cost_annual


@dataclass(frozen=True, slots=True)
class CarrySwitch:
    ts: int
    to_dated: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CarryOverlay:
    settlements: int
    dated_settlements: int  # settlements the leg spent on the dated contract
    perpetual_only: float  # quote earned (+) by the perpetual-only leg: the funding actually settled
    chosen: float  # quote earned by the leg following the choice, switches' fees included
    switches: tuple[CarrySwitch, ...]

    @property
    def saved(self) -> float:
        return self.chosen - self.perpetual_only

    @property
    def dated_share(self) -> float:
        return self.dated_settlements / self.settlements if self.settlements else 0.0


@dataclass(frozen=True, slots=True)
class CarryDecision:
    """One look at a leg's carry: the contract chosen, whether that is a switch, and the numbers behind it."""

    ts: int
    use_dated: bool
    switched: bool
    funding_yield: float  # the perpetual's trailing mean funding, annualised (+: a short receives)
    basis_yield: float  # the dated contract's annualised basis, before its rolls
    dated_yield: float  # the basis net of the quarterly rolls' costs
    reason: str
    roll_cost: float = 0.0  # the rolls' cost a year (fraction of notional) taken off the basis
    switch_cost: float = 0.0  # one switch: two trades of the notional (fraction of it)
    threshold: float = 0.0

    def numbers(self) -> dict[str, float]:
        """What a journaled decision carries (`carry_switch`)."""
        return {
            "funding_yield": self.funding_yield,
            "basis_yield": self.basis_yield,
            "dated_yield": self.dated_yield,
            "roll_cost": self.roll_cost,
            "switch_cost": self.switch_cost,
            "threshold": self.threshold,
            "use_dated": float(self.use_dated),
        }


class CarrySelector:
    """The carry rule for one short leg, fed as it goes: funding settlements in (`on_funding`), the choice out
    (`decide`, from what was seen before it: no look-ahead). The one home of the rule's state, for the offline
    replay below and for a leg that follows it."""

    def __init__(self, rule: CarryRule, dated: bool = False) -> None:
        self.rule = rule
        self.dated = dated
        self.since_ms: int | None = None  # when the current contract was chosen (None: never switched)
        self._trailing: deque[tuple[int, float]] = deque()  # (ts, annualised funding) of settlements in the lookback

    def on_funding(self, ts: int, rate: float, interval_hours: float) -> None:
        self._trailing.append((ts, annualised_funding(rate, interval_hours)))

    def restore(self, dated: bool, since_ms: int | None) -> None:
        """Carry on with the contract a journal (or the positions) says the leg holds, chosen at `since_ms`."""
        self.dated, self.since_ms = dated, since_ms

    def held_too_briefly(self, ts: int) -> bool:
        return self.since_ms is not None and ts - self.since_ms < self.rule.min_hold_ms

    def decide(self, ts: int, basis_annual: float | None = None, expected: float | None = None) -> CarryDecision | None:
        """The contract for the period from `ts` (the basis: the dated contract's, else the rule's model); None with
        no funding in the lookback yet. `expected`: the annualised rate accruing now (an exchange publishes it),
        counted beside the settled ones. Within `min_hold_ms` of the last switch the contract is kept."""
        while self._trailing and self._trailing[0][0] <= ts - self.rule.lookback_ms:
            self._trailing.popleft()
        yields = [y for _, y in self._trailing] + ([] if expected is None else [expected])
        if not yields:
            return None
        rule = self.rule
        basis = rule.basis_annual if basis_annual is None else basis_annual
        dated_yield = basis - rule.roll_cost_annual
        funding_yield = sum(yields) / len(yields)
        choice = choose_contract(funding_yield, dated_yield, self.dated, rule.threshold)
        switched = choice.use_dated != self.dated and not self.held_too_briefly(ts)
        if switched:
            self.dated, self.since_ms = choice.use_dated, ts
        reason = choice.reason if switched or choice.use_dated == self.dated else f"{choice.reason}, held (min hold)"
        return CarryDecision(
            ts, self.dated, switched, funding_yield, basis, dated_yield, reason,
            rule.roll_cost_annual, 2 * rule.trade_cost, rule.threshold,
        )  # fmt: skip


def replay_carry(settlements: Sequence[Settlement], rule: CarryRule) -> CarryOverlay:
    """The choice at each settlement from what was known before it, and what each leg earned."""
    selector = CarrySelector(rule)
    perpetual_only = chosen = 0.0
    dated_count = 0
    switches: list[CarrySwitch] = []
    for s in settlements:
        decision = selector.decide(s.ts)  # the choice for this period, from the settlements before it
        if decision is not None and decision.switched:
            chosen -= 2 * rule.trade_cost * s.notional  # close one contract, open the other
            switches.append(CarrySwitch(s.ts, decision.use_dated, decision.reason))
        perpetual = s.rate * s.notional
        perpetual_only += perpetual
        if selector.dated:
            dated_count += 1
            chosen += s.notional * rule.dated_yield * s.interval_hours / HOURS_PER_YEAR
        else:
            chosen += perpetual
        selector.on_funding(s.ts, s.rate, s.interval_hours)
    return CarryOverlay(len(settlements), dated_count, perpetual_only, chosen, tuple(switches))


def settlements_from_journal(rows: Sequence[tuple[int, float, float, float]]) -> list[Settlement]:
    """Journal funding rows (ts, rate, position qty, mark price) of one perpetual, oldest first, as a short leg's
    settlements; the interval is the gap to the previous settlement (8 h for the first)."""
    result: list[Settlement] = []
    previous: int | None = None
    for ts, rate, qty, mark in rows:
        hours = (ts - previous) / MS_PER_HOUR if previous is not None else 8.0
        previous = ts
        if qty < 0:  # only a short leg is a hedge; a flat or long position earns nothing here
            result.append(Settlement(ts, rate, min(hours, 8.0), -qty * mark))
    return result
