"""The exchange's account: `SimulatedAccount` with Binance's per-symbol leverage and leverage brackets. Pure.

`SimulatedAccount` (bot/venues/simulation, shared with the paper venue) has one account-wide leverage and one
flat maintenance rate. Binance sets leverage per symbol and takes maintenance margin from each symbol's
brackets, so here every figure that used those two numbers is recomputed per position: initial margin at the
symbol's leverage, maintenance margin `notional × rate − cum` of the position's bracket, and from them the
available balance, liquidation test and liquidation prices. The overrides keep the base class's structure
(cross equity, isolated wallets); `_move_isolated_margin` is overridden because it is where an isolated
position takes its initial margin, at its own leverage here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.domain import Instrument, Position, Symbol
from bot.risk.brackets import BracketTable
from bot.venues.simulation.account import SimulatedAccount


class BracketedAccount(SimulatedAccount):
    def __init__(self, currency: str, collateral: float, instruments: Iterable[Instrument], leverage: int) -> None:
        self.default_leverage = leverage
        self._leverage: dict[Symbol, int] = {}
        self._tables: dict[str, BracketTable] = {}
        # the base's flat figures stay as the defaults a symbol without a table would use; none is used here
        super().__init__(currency, collateral, list(instruments), leverage=float(leverage))

    # ---- per-symbol settings ---------------------------------------------------------------------

    def table(self, symbol: Symbol) -> BracketTable:
        base = self.instrument(symbol).base
        table = self._tables.get(base)
        if table is None:
            table = self._tables[base] = BracketTable.for_base(base)
        return table

    def leverage_of(self, symbol: Symbol) -> int:
        return min(self._leverage.get(symbol, self.default_leverage), self.table(symbol).max_leverage)

    def set_symbol_leverage(self, symbol: Symbol, leverage: int) -> None:
        self.instrument(symbol)
        self._leverage[symbol] = leverage
        # `leverage`, the base class's account-wide figure, is used by no figure here; it keeps the last value
        # set, as the simulator reported it before leverage was per symbol (tests/venues still read it)
        self.leverage = float(leverage)

    def max_notional(self, symbol: Symbol) -> float:
        return self.table(symbol).max_notional(self.leverage_of(symbol))

    # ---- per-position figures --------------------------------------------------------------------

    def position_initial_margin(self, symbol: Symbol) -> float:
        return abs(self.position_value(symbol)) / self.leverage_of(symbol)

    def position_maint_margin(self, symbol: Symbol) -> float:
        return self.table(symbol).maintenance(self.position_value(symbol))

    def maint_rate(self, symbol: Symbol) -> float:
        return self.table(symbol).at(self.position_value(symbol)).maint_rate

    def _held(self, *, cross_only: bool = False, exclude: Symbol | None = None) -> list[Position]:
        return [
            p
            for p in self.positions()
            if p.symbol != exclude and not (cross_only and self.margin_mode(p.symbol) == "isolated")
        ]

    # ---- account figures (overrides) -------------------------------------------------------------

    @property
    def initial_margin(self) -> float:
        return sum(self.position_initial_margin(p.symbol) for p in self._held())

    @property
    def maintenance_margin(self) -> float:
        return sum(self.position_maint_margin(p.symbol) for p in self._held())

    @property
    def available_balance(self) -> float:
        cross_initial = sum(self.position_initial_margin(p.symbol) for p in self._held(cross_only=True))
        return self._cross_equity() - cross_initial

    def order_margin(self, symbol: Symbol, qty: float, price: float) -> float:
        return abs(self.instrument(symbol).settlement_value(qty, price)) / self.leverage_of(symbol)

    def can_open(
        self, symbol: Symbol, signed_qty: float, price: float, reserved_margin: float = 0.0, fee: float = 0.0
    ) -> bool:
        """As the base class, with the added initial margin at the symbol's own leverage."""
        instrument = self.instrument(symbol)
        if self.is_expired(symbol):
            return False
        held = self.position(symbol).qty
        after = round(held + signed_qty, 12)
        if abs(after) <= abs(held) and (after == 0 or math.copysign(1.0, after) == math.copysign(1.0, held)):
            return True
        added = abs(instrument.settlement_value(after, price)) - abs(instrument.settlement_value(held, price))
        return added / self.leverage_of(symbol) + fee <= self.available_balance - reserved_margin

    def _move_isolated_margin(self, instrument: Instrument, held: float, after: float, price: float) -> None:
        # The base class takes the added contracts' margin at its account-wide leverage; Binance takes it at
        # the symbol's. Swap the figure in for the call (pure, single-threaded: nothing sees it meanwhile).
        account_wide, self.leverage = self.leverage, float(self.leverage_of(instrument.symbol))
        try:
            super()._move_isolated_margin(instrument, held, after, price)
        finally:
            self.leverage = account_wide

    def liquidation_due(self) -> tuple[Symbol, ...]:
        held = self.positions()
        due = [
            p.symbol
            for p in held
            if self.margin_mode(p.symbol) == "isolated"
            and self.isolated_margin(p.symbol) < self.position_maint_margin(p.symbol)
        ]
        cross = self._held(cross_only=True)
        if cross and self._cross_equity() < sum(self.position_maint_margin(p.symbol) for p in cross):
            due.extend(p.symbol for p in cross)
        return tuple(sorted(due))

    def liquidation_price(self, symbol: Symbol) -> float | None:
        """Where the margin behind the position meets its maintenance margin, the bracket taken at that price.

        Linear contracts: free + q(P − entry) = |q|·P·rate − cum, solved per bracket and kept where the
        notional at P falls in that bracket (Binance's formula). Inverse contracts keep the base estimate.
        """
        position = self.position(symbol)
        instrument = self.instrument(symbol)
        if position.qty == 0 or instrument.inverse:
            return super().liquidation_price(symbol) if position.qty else None
        q = position.qty * instrument.contract_size
        if self.margin_mode(symbol) == "isolated":
            free = self.isolated_wallet(symbol)
        else:
            others = sum(self.position_maint_margin(p.symbol) for p in self._held(cross_only=True, exclude=symbol))
            free = self._cross_equity() - self.unrealized_pnl(symbol) - others
        candidates = []
        for bracket in self.table(symbol).brackets:
            denominator = q - abs(q) * bracket.maint_rate
            if denominator == 0:
                continue
            price = (q * position.entry_price - free - bracket.cum) / denominator
            if price > 0 and bracket.floor <= abs(q) * price <= bracket.cap:
                candidates.append(price)
        if not candidates:
            return None
        return max(candidates) if q > 0 else min(candidates)  # the first one the mark would reach

    # ---- isolated margin top-up (POST /fapi/v1/positionMargin) -------------------------------------

    def change_isolated_margin(self, symbol: Symbol, amount: float) -> None:
        """Move `amount` (+ add, − reduce) between the cross wallet and an open isolated position's margin.

        The caller has checked the mode, the position and the balances (Binance's -4049/-4050/-4051/-4054).
        """
        self._isolated_wallet[symbol] = self.isolated_wallet(symbol) + amount
