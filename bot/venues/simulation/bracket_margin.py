"""A simulated account whose maintenance margin and liquidation follow Binance's brackets. Pure.

`SimulatedAccount` charges one flat maintenance rate on the gross value. Binance takes maintenance margin from
each symbol's brackets (`notional × rate − cum` of the position's bracket, `bot.risk.brackets`; COIN-M ones in
the coin, `bot.risk.inverse.coinm_table`), and the collateral buffer (`bot.risk.buffer`) measures the distance
to liquidation by the same tables. This class is the one home of that margin for every simulated account: the
paper venue's (so a backtest is liquidated where the buffer says it would be, and where Binance would) and the
loopback exchange's (`bot.exchange_sim.margin.BracketedAccount` adds per-symbol leverage on top).

Every figure that used the flat rate is recomputed per position: the maintenance margin, the liquidation test
(cross equity against the cross positions' maintenance, each isolated position against its own) and the
liquidation prices (linear: Binance's formula solved per bracket; inverse: `bot.risk.inverse`).
"""

from __future__ import annotations

from bot.domain import Position, Symbol
from bot.risk import inverse
from bot.risk.brackets import BracketTable, table_for
from bot.venues.simulation.account import SimulatedAccount


class BracketMargin(SimulatedAccount):
    # ---- tables ----------------------------------------------------------------------------------

    def table(self, symbol: Symbol) -> BracketTable:
        """The symbol's bracket table: USDⓈ-M for linear contracts, COIN-M (in the coin) for inverse ones."""
        instrument = self.instrument(symbol)
        return inverse.coinm_table(instrument.base) if instrument.inverse else table_for(instrument.base)

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
    def maintenance_margin(self) -> float:
        # `position_maint_margin` of each held position, without looking each position up again by its symbol
        # (asked at every mark of a perpetual: the paper venue's liquidation check)
        return sum(self.table(p.symbol).maintenance(self._value_at_mark(p)) for p in self._held())

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
        notional at P falls in that bracket (Binance's formula). Inverse contracts: Binance's COIN-M formula
        (`bot.risk.inverse.liquidation_price`).
        """
        position = self.position(symbol)
        if position.qty == 0:
            return None
        if self.instrument(symbol).inverse:
            return self._inverse_liquidation_price(symbol, position)
        q = position.qty * self.instrument(symbol).contract_size
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

    def _inverse_liquidation_price(self, symbol: Symbol, position: Position) -> float | None:
        if self.margin_mode(symbol) == "isolated":
            wallet, maint, unrealized = self.isolated_wallet(symbol), 0.0, 0.0
        else:
            others = self._held(cross_only=True, exclude=symbol)
            wallet = self.cross_wallet_balance
            maint = sum(self.position_maint_margin(p.symbol) for p in others)
            unrealized = sum(self.unrealized_pnl(p.symbol) for p in others)
        return inverse.liquidation_price(
            self.instrument(symbol),
            position.qty,
            position.entry_price,
            wallet,
            other_maintenance=maint,
            other_unrealized=unrealized,
        )
