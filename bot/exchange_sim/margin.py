"""The exchange's account: the simulated account with Binance's per-symbol leverage and leverage brackets. Pure.

Maintenance margin, the liquidation test and liquidation prices by the brackets come from `BracketMargin`
(bot/venues/simulation/bracket_margin.py, shared with the paper venue: one home). Binance also sets leverage per
symbol, so here the figures that used the account-wide leverage are recomputed per position: initial margin at
the symbol's leverage, and from it the available balance. The overrides keep the base class's structure (cross
equity, isolated wallets); `_move_isolated_margin` is overridden because it is where an isolated position takes
its initial margin, at its own leverage here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.domain import Instrument, Symbol
from bot.venues.simulation.bracket_margin import BracketMargin


class BracketedAccount(BracketMargin):
    def __init__(self, currency: str, collateral: float, instruments: Iterable[Instrument], leverage: int) -> None:
        self.default_leverage = leverage
        self._leverage: dict[Symbol, int] = {}
        # the base's flat figures stay as the defaults a symbol without a table would use; none is used here
        super().__init__(currency, collateral, list(instruments), leverage=float(leverage))

    # ---- per-symbol settings ---------------------------------------------------------------------

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

    # ---- account figures (overrides) -------------------------------------------------------------

    @property
    def initial_margin(self) -> float:
        return sum(self.position_initial_margin(p.symbol) for p in self._held())

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

    # ---- isolated margin top-up (POST /fapi/v1/positionMargin) -------------------------------------

    def change_isolated_margin(self, symbol: Symbol, amount: float) -> None:
        """Move `amount` (+ add, − reduce) between the cross wallet and an open isolated position's margin.

        The caller has checked the mode, the position and the balances (Binance's -4049/-4050/-4051/-4054).
        """
        self._isolated_wallet[symbol] = self.isolated_wallet(symbol) + amount
