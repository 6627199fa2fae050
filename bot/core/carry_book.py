"""Carry legs ("BTC/USDT:USDT@carry"): each holds its perpetual or its front quarterly, whichever the carry rule
chooses, and moves between them by a roll pair. Pure.

- Funding: each settlement of a carry leg's perpetual is counted once by the leg's `CarrySelector` (a replay
  publishes a settlement as it settles; an exchange publishes the accruing rate until it settles), and the rate
  accruing now counts beside them (so a live leg has a funding yield from its first look, not after 8 hours).
- Basis: the quarterly the leg would hold (`HedgeLeg.contract(dated=True)`) against the perpetual, both at their
  latest prices (modelled from the perpetual in a replay, the exchange's own live and paper), annualised.
- Review, at each sampling step while trading is allowed and no roll, parent or order works the leg: the selector
  decides (threshold, minimum holding time). A switch is a `carry_switch` decision, journaled before anything is
  sent, and a carry switch roll (`Roller.switch`): paired clips, journaled step by step, resumed after a restart.
- Restart: the latest `carry_switch` in the journal restores the choice (`restore`); without one the leg carries
  on with the contract it holds. A leg holding the contract it did not choose (a crash between the decision and
  its roll) is moved by a switch roll again, without a new decision: a restarted daemon never flips by itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.domain import Decision, DecisionId, FundingObserved, HedgeTarget, Symbol, parse_duration_ms
from bot.execution.actions import ExecutionAction
from bot.execution.dated_contracts import implied_basis_annual
from bot.execution.legs import HedgeLeg, LegKind
from bot.execution.roll_driver import Roller
from bot.execution.roll_plan import expiry_of
from bot.hedge.carry import annualised_funding
from bot.hedge.carry_overlay import CarryDecision, CarryRule, CarrySelector

CARRY_SWITCH = "carry_switch"  # the decision's trigger, and how the journal's rows are found again

NewDecisionId = Callable[[int], DecisionId]


@dataclass(frozen=True, slots=True)
class CarrySwitched:
    """A carry leg chose the other contract: the decision to journal (the roll that moves it follows it)."""

    decision: Decision


def carry_rule(config: Config) -> CarryRule:
    carry = config.hedge.carry
    return CarryRule(
        basis_annual=config.execution.dated_basis_annual,  # the model, where no dated contract is priced
        fee_rate=carry.fee_bps / 10_000,
        threshold=carry.threshold,
        lookback_ms=parse_duration_ms(carry.lookback),
        slippage_rate=carry.slippage_bps / 10_000,
        min_hold_ms=parse_duration_ms(carry.min_hold),
    )


class _FundingTape:
    """Settlements of one perpetual, each once: a replay's event settles as it is published (ts = settlement);
    an exchange's accruing rate is counted, at its last value, once a later event names the next settlement."""

    def __init__(self) -> None:
        self._pending: FundingObserved | None = None
        self._counted: int | None = None  # the latest settlement counted

    @property
    def accruing(self) -> float | None:
        """The annualised rate accruing towards the next settlement (an exchange's), None when none is."""
        pending = self._pending
        return None if pending is None else annualised_funding(pending.rate, pending.interval_hours)

    def settled(self, event: FundingObserved) -> list[FundingObserved]:
        out: list[FundingObserved] = []
        pending, self._pending = self._pending, event
        if pending is not None and pending.next_funding_ts != event.next_funding_ts:
            out.extend(self._count(pending))
        if event.ts >= event.next_funding_ts:
            out.extend(self._count(event))
            self._pending = None
        return out

    def _count(self, event: FundingObserved) -> list[FundingObserved]:
        if self._counted is not None and event.next_funding_ts <= self._counted:
            return []
        self._counted = event.next_funding_ts
        return [event]


class CarryBook:
    def __init__(self, config: Config, legs: Iterable[HedgeLeg], roller: Roller) -> None:
        self.legs = {leg.spec: leg for leg in legs if leg.kind is LegKind.CARRY}
        self.roller = roller
        self.max_price_age_ms = parse_duration_ms(config.risk.max_price_age)
        rule = carry_rule(config)
        self.selectors = {spec: CarrySelector(rule) for spec in self.legs}
        self._leg_of = {leg.reference: spec for spec, leg in self.legs.items()}
        self._tapes = {leg.reference: _FundingTape() for leg in self.legs.values()}
        self._known: set[Symbol] = set()  # legs whose contract is known: from the journal, else their positions
        self.looks: dict[Symbol, CarryDecision] = {}  # each leg's latest review
        self.switches = 0

    def configure(self, config: Config) -> None:
        self.max_price_age_ms = parse_duration_ms(config.risk.max_price_age)
        rule = carry_rule(config)
        for selector in self.selectors.values():
            selector.rule = rule

    def on_funding(self, event: FundingObserved) -> None:
        spec = self._leg_of.get(event.symbol)
        if spec is None:
            return
        for settled in self._tapes[event.symbol].settled(event):
            self.selectors[spec].on_funding(settled.next_funding_ts, settled.rate, settled.interval_hours)

    def dated(self, spec: Symbol) -> bool:
        selector = self.selectors.get(spec)
        return selector is not None and selector.dated

    def contract(self, leg: HedgeLeg, now: int, window_ms: int) -> Symbol | None:
        """Where the leg's new exposure goes: a carry leg's chosen contract, any other leg's own."""
        if leg.spec in self.legs:
            self._know(leg, self._held(leg))
        return leg.contract(now, window_ms, self.dated(leg.spec))

    def _know(self, leg: HedgeLeg, held: Mapping[Symbol, float]) -> None:
        """A leg with no choice journaled carries on with the contract it holds (the perpetual when flat)."""
        if leg.spec not in self._known:
            self._known.add(leg.spec)
            self.selectors[leg.spec].restore(any(symbol != leg.reference for symbol in held), None)

    def restore(self, spec: Symbol, dated: bool, since_ms: int) -> None:
        """The journal's latest choice for `spec` (a leg no longer configured is ignored)."""
        if spec in self.selectors:
            self.selectors[spec].restore(dated, since_ms)
            self._known.add(spec)

    def restore_from(self, decisions: Sequence[Mapping[str, Any]]) -> list[Symbol]:
        """The choices of the journal's `carry_switch` decision rows (oldest first); the legs restored."""
        for row in decisions:
            if row["trigger"] != CARRY_SWITCH:
                continue
            numbers, targets = _json(row["numbers"]), _json(row["targets"])
            for target in targets if isinstance(targets, list) else []:
                self.restore(Symbol(str(target["symbol"])), bool(numbers.get("use_dated")), int(row["ts"]))
        return sorted(self._known)

    # ---- the review -------------------------------------------------------------------------------

    def review(
        self, now: int, targets: Mapping[Symbol, HedgeTarget], new_id: NewDecisionId
    ) -> list[CarrySwitched | ExecutionAction]:
        """Each free carry leg looked at once: a switch decided (and its roll started), or a leg holding the
        contract it did not choose moved back onto the chosen one."""
        actions: list[CarrySwitched | ExecutionAction] = []
        for spec, leg in self.legs.items():
            if not self.roller.rolling(spec) and not self._busy(leg):
                actions.extend(self._review_leg(now, leg, targets.get(spec), new_id))
        return actions

    def _review_leg(
        self, now: int, leg: HedgeLeg, target: HedgeTarget | None, new_id: NewDecisionId
    ) -> list[CarrySwitched | ExecutionAction]:
        selector = self.selectors[leg.spec]
        held = self._held(leg)
        self._know(leg, held)
        dated = leg.contract(now, self.roller.window_ms, dated=True)
        qty = None if target is None else target.qty
        moved = self._realign(now, leg, held, dated, qty)
        if moved or dated is None:
            return list(moved)
        basis = self._basis(leg, dated, now)
        look = None if basis is None else selector.decide(now, basis, self._tapes[leg.reference].accruing)
        if look is None:
            return []
        self.looks[leg.spec] = look
        if not look.switched:
            return []
        self.switches += 1
        numbers = {**look.numbers(), "held_qty": sum(held.values())}
        side = f"dated {dated}" if look.use_dated else f"perpetual {leg.reference}"
        decision = Decision(
            id=new_id(now),
            ts=now,
            trigger=CARRY_SWITCH,
            reason=f"{leg.spec} → {side}: {look.reason}",
            targets=(target or HedgeTarget(leg.spec, sum(held.values()), 0.0),),
            numbers=numbers,
        )
        return [CarrySwitched(decision), *self._realign(now, leg, held, dated, qty)]

    def _realign(
        self, now: int, leg: HedgeLeg, held: Mapping[Symbol, float], dated: Symbol | None, target: float | None
    ) -> list[ExecutionAction]:
        """A switch roll moving what the leg holds on the contract it did not choose; [] when it holds none."""
        if self.dated(leg.spec):
            perpetual = held.get(leg.reference, 0.0)
            expiry = None if dated is None else expiry_of(dated)
            if not perpetual or dated is None or expiry is None:
                return []
            return self.roller.switch(now, leg, leg.reference, dated, expiry, target)
        on_dated = [symbol for symbol in held if symbol != leg.reference]
        if not on_dated:
            return []
        near = max(on_dated, key=lambda symbol: abs(held[symbol]))
        return self.roller.switch(now, leg, near, leg.reference, expiry_of(near) or now, target)

    def _held(self, leg: HedgeLeg) -> dict[Symbol, float]:
        return {symbol: qty for symbol, qty in self.roller.executor.view.positions.items() if qty and leg.holds(symbol)}

    def _busy(self, leg: HedgeLeg) -> bool:
        """An order or a parent works one of the leg's contracts: the leg is looked at once it is done."""
        executor = self.roller.executor
        return any(leg.holds(symbol) for symbol in executor.inflight_symbols()) or any(
            leg.holds(parent.symbol) for parent in executor.working()
        )

    def _basis(self, leg: HedgeLeg, dated: Symbol, now: int) -> float | None:
        """The quarterly's annualised basis over the perpetual; None unless both are priced within the price age
        limit (`risk.max_price_age`): a stale quarterly is no reason to switch."""
        view = self.roller.executor.view
        expiry = expiry_of(dated)
        fresh = all(
            now - view.price_ts.get(symbol, -(2**62)) <= self.max_price_age_ms for symbol in (dated, leg.reference)
        )
        if expiry is None or not fresh:
            return None
        return implied_basis_annual(view.prices[dated], view.prices[leg.reference], now, expiry)

    def status(self) -> dict[str, Any]:
        """Each carry leg for `ctl status` and the report: the contract chosen and the numbers of its last look."""
        legs: dict[str, Any] = {}
        for spec, selector in self.selectors.items():
            look = self.looks.get(spec)
            legs[spec] = {
                "on": "dated" if selector.dated else "perpetual",
                "since": selector.since_ms,
                "last_look": None if look is None else {"ts": look.ts, **look.numbers(), "reason": look.reason},
            }
        return {"legs": legs, "switches": self.switches}


def _json(value: Any) -> Any:
    """A journal row's JSON column, as stored or already read."""
    return json.loads(value) if isinstance(value, str) else value
