"""Hedge legs: what the config names versus the contracts that hold it. Pure.

A leg is written four ways in `[hedge] instruments`:

- a perpetual, "BTC/USDT:USDT": the leg is that one contract;
- a dated contract, "BTC/USDT:USDT-250328": held until its roll window opens, then closed in steps (it has no
  successor); no new exposure goes to it inside the window;
- "BTC/USDT:USDT@quarterly": the front quarterly, rolled into the next one inside the roll window; new
  exposure goes to the next one as soon as the window opens;
- "BTC/USDT:USDT@carry": the perpetual or the @quarterly of the pair, whichever the carry rule chooses
  (`bot.core.carry_book`); on the quarterly it rolls like one, and a switch is a perpetual ↔ dated roll.

The hedge maths (estimators, policies, targets) sees a leg by its spec and prices it with its *reference*,
the perpetual of the same pair: a continuous series across expiries. Execution turns the leg's target into
positions on real contracts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import Symbol
from bot.execution.dated_contracts import perpetual_of
from bot.execution.roll_plan import CARRY, QUARTERLY, dated_symbol, expiry_of, hedge_contract, quarterly_expiries_after
from bot.settings.instruments import check_hedge_legs


class LegKind(enum.StrEnum):
    PERPETUAL = "perpetual"
    DATED = "dated"
    QUARTERLY = "quarterly"
    CARRY = "carry"


@dataclass(frozen=True, slots=True)
class HedgeLeg:
    spec: Symbol  # as configured
    reference: Symbol  # the perpetual whose price the hedge maths uses
    kind: LegKind

    @staticmethod
    def parse(spec: str) -> HedgeLeg:
        if spec.endswith(QUARTERLY):
            return HedgeLeg(Symbol(spec), Symbol(spec.removesuffix(QUARTERLY)), LegKind.QUARTERLY)
        if spec.endswith(CARRY):
            return HedgeLeg(Symbol(spec), Symbol(spec.removesuffix(CARRY)), LegKind.CARRY)
        if expiry_of(spec) is not None:
            return HedgeLeg(Symbol(spec), perpetual_of(Symbol(spec)), LegKind.DATED)
        return HedgeLeg(Symbol(spec), Symbol(spec), LegKind.PERPETUAL)

    @property
    def rolls(self) -> bool:
        return self.kind is not LegKind.PERPETUAL

    @property
    def roll_spec(self) -> Symbol:
        """The spec its quarterly rolls are planned by (`roll_plan.roll_window`): a carry leg rolls as @quarterly."""
        return Symbol(f"{self.reference}{QUARTERLY}") if self.kind is LegKind.CARRY else self.spec

    def holds(self, symbol: Symbol) -> bool:
        """Whether a position in `symbol` is part of this leg."""
        if self.kind is LegKind.CARRY and symbol == self.reference:
            return True
        if self.kind in (LegKind.QUARTERLY, LegKind.CARRY):
            return expiry_of(symbol) is not None and perpetual_of(symbol) == self.reference
        return symbol == self.spec

    def contract(self, now_ms: int, window_ms: int, dated: bool = False) -> Symbol | None:
        """Where new exposure goes at `now_ms`; None for a dated contract inside its closing window. A carry leg
        on the perpetual (`dated` False: the carry book's choice) trades it, else the quarterly it would hold."""
        if self.kind is LegKind.CARRY:
            return hedge_contract(self.roll_spec, now_ms, window_ms) if dated else self.reference
        if self.kind is LegKind.QUARTERLY:
            return hedge_contract(self.spec, now_ms, window_ms)
        if self.kind is LegKind.DATED:
            expiry = expiry_of(self.spec)
            return self.spec if expiry is not None and now_ms < expiry - window_ms else None
        return self.spec

    def contracts_listed(self, now_ms: int) -> tuple[Symbol, ...]:
        """The contracts this leg may trade from `now_ms` on: a quarterly (or carry) leg's front quarterly and the
        next (a carry leg's perpetual is its reference, loaded as such), any other leg's own."""
        if self.kind in (LegKind.QUARTERLY, LegKind.CARRY):
            return tuple(dated_symbol(self.reference, e) for e in quarterly_expiries_after(now_ms, 2))
        return (self.spec,)


def parse_legs(specs: Iterable[str]) -> tuple[HedgeLeg, ...]:
    """The legs of `[hedge] instruments`. A quarterly leg holds every dated contract of its pair, so no other
    leg may share its perpetual (their positions would mix)."""
    specs = tuple(specs)
    check_hedge_legs(specs)  # the rule lives with the config's values; ValueError naming the legs that overlap
    return tuple(HedgeLeg.parse(s) for s in specs)


def reference_symbols(specs: Iterable[str]) -> tuple[Symbol, ...]:
    """The perpetuals a market feed must price for these hedge instruments."""
    return tuple(dict.fromkeys(HedgeLeg.parse(s).reference for s in specs))


def contracts_for(specs: Iterable[str], now_ms: int) -> list[Symbol]:
    """Every market a venue must load for these hedge instruments at `now_ms`: references and listed contracts."""
    legs = [HedgeLeg.parse(s) for s in specs]
    return list(dict.fromkeys(c for leg in legs for c in (leg.reference, *leg.contracts_listed(now_ms))))
