"""A simulated derivatives account: positions, fees, funding, margin, liquidation, expiry. Pure.

No I/O, no clock, no asyncio: every method takes the time it is told (`ts`) and the prices it is given. The
paper venue and the loopback exchange simulator both keep their book-keeping here.

Money is kept in the account's settlement `currency`: quote (USDT) for linear contracts, the coin (BTC) for
inverse ones — an account holds only instruments that settle in its currency (an inverse BTC contract needs
an account in "BTC"). Quantities are contracts, signed (+ long, − short).

Public API (`SimulatedAccount`):

- `SimulatedAccount(currency, collateral, instruments, leverage=5.0, maintenance_margin_rate=0.005)`;
  `add_instrument(instrument)`; `instruments` (read-only mapping); `instrument(symbol)` (KeyError if unknown).
- State: `position(symbol) -> Position` (flat Position when none), `positions() -> tuple[Position, ...]` (open
  ones), `mark(symbol, price)`, `mark_price(symbol) -> float | None`, `is_expired(symbol)`, `ledger` (every
  realised P&L, commission and funding amount as `LedgerEntry`, like Binance's income history).
- Figures, all in the settlement currency: `wallet_balance` (collateral + realised − fees + funding),
  `unrealized_pnl(symbol=None)`, `equity`, `initial_margin` (Σ |value| / leverage), `maintenance_margin`
  (Σ |value| × rate), `available_balance` (equity − initial margin; may be negative), `margin_ratio`
  (equity / maintenance, +inf when flat), `realized_pnl`, `fees_paid`, `funding_total`, `position_value`,
  `liquidation_price(symbol) -> float | None` (the price of that symbol, others held at their marks, at which
  equity would fall to the maintenance margin; None when flat or when no positive price would do it).
- `order_margin(symbol, qty, price)`: the initial margin an open order for `qty` at `price` holds.
- Changes: `can_open(symbol, signed_qty, price, reserved_margin=0.0, fee=0.0) -> bool`,
  `apply_fill(ts, client_id, symbol, side, qty, price, fee_bps, liquidity="taker") -> Fill`,
  `settle_funding(symbol, rate, mark, ts) -> FundingSettled | None`, `expire(symbol, settle_price, ts) -> Fill
  | None`, `liquidate_if_needed(ts) -> list[Fill]`, `snapshot(ts) -> AccountSnapshot`.

Margin is cross unless a symbol is switched to isolated (`set_margin_mode(symbol, isolated=True)`, only while
flat), as Binance does per symbol. An isolated position holds its own margin, moved out of the cross wallet
when it opens or grows (its initial margin at the fill price) and back when it shrinks (pro rata); its funding
is paid from and into that margin, its fees and realised P&L go to the wallet. `isolated_wallet(symbol)` and
`isolated_margin(symbol)` (wallet + unrealised P&L, Binance's `isolatedMargin`) tell it. It is liquidated alone
when its isolated margin falls below its maintenance margin, and the cross positions only when the cross
equity (`cross_wallet_balance` + their unrealised P&L) falls below theirs: `available_balance` and
`liquidation_price` count the cross side only, so a loss on one side never eats the other's margin. With no
isolated symbol (the paper venue) every figure is the cross account's, computed as before.
- `margin_mode(symbol)`, `set_margin_mode(symbol, isolated)`, `cross_wallet_balance`, `liquidation_due()`
  (the symbols a liquidation would close now).

Trade ids come from one counter per account ("1", "2", ...): unique and deterministic.

Durable state: `state() -> dict` (plain JSON: balances, positions with their entries, marks, expiries, margin
modes and the trade-id counter; not the ledger) and `restore_state(state)` put an account back where it was, so
a restarted paper daemon continues its account (and its trade ids) rather than starting afresh.

A liquidation is an event: `Liquidated` is the `AccountSnapshot` just after it (the engine reads it as one) that
also names what it closed (`LiquidatedPosition`: symbol, the quantity held, the mark it closed at, its entry) and
the equity before and the P&L closing them realised; `liquidated(snapshot, closed, equity_before, realized_pnl)`
makes one.
Module function: `apply_to_position(instrument, position, signed_qty, price) -> (Position, realised P&L)`; values
in the settlement currency come from `Instrument.settlement_value`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    FundingSettled,
    Instrument,
    InstrumentKind,
    Liquidated,
    LiquidatedPosition,
    Position,
    Side,
    Symbol,
    TimestampMs,
    TradeId,
)
from bot.money import apply_to_position, clean_qty

__all__ = [
    "LedgerEntry",
    "LedgerKind",
    "Liquidated",
    "LiquidatedPosition",
    "SimulatedAccount",
    "apply_to_position",
    "liquidated",
]

_BPS = 1e4


class LedgerKind(enum.StrEnum):
    REALIZED_PNL = "realized_pnl"
    COMMISSION = "commission"
    FUNDING_FEE = "funding_fee"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change of the wallet balance; `amount` in the settlement currency, + credited, − debited."""

    ts: TimestampMs
    kind: LedgerKind
    symbol: Symbol
    amount: float
    trade_id: TradeId | None = None


def liquidated(
    snapshot: AccountSnapshot, closed: tuple[LiquidatedPosition, ...], equity_before: float, realized_pnl: float
) -> Liquidated:
    """`snapshot` (the account after the liquidation) as the `Liquidated` event."""
    values = {f.name: getattr(snapshot, f.name) for f in fields(AccountSnapshot)}
    return Liquidated(**values, closed=closed, equity_before=equity_before, realized_pnl=realized_pnl)


class SimulatedAccount:
    """One cross-margin account in one settlement currency (see the module docstring)."""

    def __init__(
        self,
        currency: str,
        collateral: float,
        instruments: Mapping[Symbol, Instrument] | Iterable[Instrument] = (),
        leverage: float = 5.0,
        maintenance_margin_rate: float = 0.005,
    ) -> None:
        if not (math.isfinite(collateral) and collateral >= 0):
            raise ValueError(f"collateral {collateral!r} must be a finite non-negative amount")
        if not (math.isfinite(leverage) and leverage > 0):
            raise ValueError(f"leverage {leverage!r} must be positive")
        if not 0 < maintenance_margin_rate < 1:
            raise ValueError(f"maintenance_margin_rate {maintenance_margin_rate!r} must be between 0 and 1")
        self.currency = currency
        self.collateral = collateral
        self.leverage = leverage
        self.maintenance_margin_rate = maintenance_margin_rate
        self._instruments: dict[Symbol, Instrument] = {}
        self._positions: dict[Symbol, Position] = {}
        self._marks: dict[Symbol, float] = {}
        self._expired: set[Symbol] = set()
        self._isolated: set[Symbol] = set()  # symbols in isolated margin mode
        self._isolated_wallet: dict[Symbol, float] = {}  # margin held by each open isolated position
        self._ledger: list[LedgerEntry] = []
        self._realized = self._fees = self._funding = 0.0
        self._trade_seq = 0
        for instrument in instruments.values() if isinstance(instruments, Mapping) else instruments:
            self.add_instrument(instrument)

    # ---- instruments and state --------------------------------------------------------------------

    def add_instrument(self, instrument: Instrument) -> None:
        """Make `instrument` tradable here; ValueError when it settles in another currency."""
        settles_in = instrument.settle or instrument.quote
        if settles_in != self.currency:
            here = self.currency
            raise ValueError(f"{instrument.symbol} settles in {settles_in}; this account holds {here}")
        self._instruments[instrument.symbol] = instrument

    @property
    def instruments(self) -> Mapping[Symbol, Instrument]:
        return MappingProxyType(self._instruments)

    def instrument(self, symbol: Symbol) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise KeyError(f"{symbol} is not an instrument of this account") from None

    def position(self, symbol: Symbol) -> Position:
        return self._positions.get(symbol) or Position(symbol, 0.0)

    def positions(self) -> tuple[Position, ...]:
        """Open positions, by symbol."""
        return tuple(p for _, p in sorted(self._positions.items()) if p.qty != 0)

    def mark(self, symbol: Symbol, price: float) -> None:
        if not (math.isfinite(price) and price > 0):
            raise ValueError(f"{symbol}: mark price {price!r} must be a finite positive number")
        self.instrument(symbol)
        self._marks[symbol] = price

    def mark_price(self, symbol: Symbol) -> float | None:
        return self._marks.get(symbol)

    def is_expired(self, symbol: Symbol) -> bool:
        return symbol in self._expired

    def margin_mode(self, symbol: Symbol) -> str:
        """'isolated' or 'cross' (the default)."""
        return "isolated" if symbol in self._isolated else "cross"

    def set_margin_mode(self, symbol: Symbol, isolated: bool) -> None:
        """Switch `symbol` to isolated or cross margin; ValueError while a position is open (as Binance refuses)."""
        self.instrument(symbol)
        if self.position(symbol).qty != 0:
            raise ValueError(f"{symbol}: the margin mode cannot change while a position is open")
        if isolated:
            self._isolated.add(symbol)
        else:
            self._isolated.discard(symbol)

    def isolated_wallet(self, symbol: Symbol) -> float:
        """The margin an isolated position holds (0 for a cross or flat one)."""
        return self._isolated_wallet.get(symbol, 0.0)

    def isolated_margin(self, symbol: Symbol) -> float:
        """An isolated position's margin balance: its wallet plus its unrealised P&L (0 for a cross one)."""
        if symbol not in self._isolated:
            return 0.0
        return self.isolated_wallet(symbol) + self.unrealized_pnl(symbol)

    @property
    def ledger(self) -> tuple[LedgerEntry, ...]:
        return tuple(self._ledger)

    # ---- figures ----------------------------------------------------------------------------------

    @property
    def realized_pnl(self) -> float:
        return self._realized

    @property
    def fees_paid(self) -> float:
        return self._fees

    @property
    def funding_total(self) -> float:
        """Funding received (+) or paid (−) so far."""
        return self._funding

    @property
    def wallet_balance(self) -> float:
        return self.collateral + self._realized - self._fees + self._funding

    def _price_of(self, position: Position) -> float:
        """The mark, or the entry while the symbol has not been marked (unrealised P&L 0 until then)."""
        return self._marks.get(position.symbol, position.entry_price)

    def unrealized_pnl(self, symbol: Symbol | None = None) -> float:
        held = self._positions.values() if symbol is None else [self.position(symbol)]
        return sum(self._pnl_at_mark(p) for p in held if p.qty)

    def _pnl_at_mark(self, position: Position) -> float:
        instrument = self._instruments[position.symbol]
        return instrument.pnl(position.qty, position.entry_price, self._price_of(position))

    def position_value(self, symbol: Symbol) -> float:
        """Signed value of the position at its mark, in the settlement currency."""
        position = self.position(symbol)
        return self._value_at_mark(position) if position.qty else 0.0

    @property
    def equity(self) -> float:
        return self.wallet_balance + self.unrealized_pnl()

    @property
    def cross_wallet_balance(self) -> float:
        """The wallet less the margin held by isolated positions."""
        return self.wallet_balance - sum(self._isolated_wallet.values())

    def _cross_equity(self) -> float:
        cross = (p for p in self._positions.values() if p.qty and p.symbol not in self._isolated)
        return self.cross_wallet_balance + sum(self._pnl_at_mark(p) for p in cross)

    def _gross_value(self, exclude: Symbol | None = None, *, cross_only: bool = False) -> float:
        held = self._positions.values()
        isolated = self._isolated if cross_only else frozenset()
        return sum(
            abs(self._value_at_mark(p)) for p in held if p.qty and p.symbol != exclude and p.symbol not in isolated
        )

    def _value_at_mark(self, position: Position) -> float:
        return self._instruments[position.symbol].settlement_value(position.qty, self._price_of(position))

    @property
    def initial_margin(self) -> float:
        return self._gross_value() / self.leverage

    @property
    def maintenance_margin(self) -> float:
        return self._gross_value() * self.maintenance_margin_rate

    @property
    def available_balance(self) -> float:
        """What new orders can use: the cross equity less the cross positions' initial margin."""
        return self._cross_equity() - self._gross_value(cross_only=True) / self.leverage

    @property
    def margin_ratio(self) -> float:
        maintenance = self.maintenance_margin
        return math.inf if maintenance <= 0 else self.equity / maintenance

    def liquidation_price(self, symbol: Symbol) -> float | None:
        """Estimated price of `symbol` where equity meets maintenance margin (others held at their marks)."""
        position = self.position(symbol)
        if position.qty == 0:
            return None
        instrument = self._instruments[symbol]
        qty, entry, size = position.qty, position.entry_price, instrument.contract_size
        mmr = self.maintenance_margin_rate
        if symbol in self._isolated:  # only its own margin stands behind it
            free = self.isolated_wallet(symbol)
        else:  # what the cross side has beyond this position's P&L and the other cross positions' maintenance
            others = self._gross_value(exclude=symbol, cross_only=True) * mmr
            free = self._cross_equity() - self.unrealized_pnl(symbol) - others
        if instrument.inverse:  # equity is linear in 1/price: solve for x = 1/price
            x = (free + qty * size / entry) / (size * (qty + abs(qty) * mmr))
            return 1.0 / x if x > 0 else None
        price = (qty * size * entry - free) / (size * (qty - abs(qty) * mmr))
        return price if price > 0 else None

    # ---- changes ----------------------------------------------------------------------------------

    def order_margin(self, symbol: Symbol, qty: float, price: float) -> float:
        return abs(self.instrument(symbol).settlement_value(qty, price)) / self.leverage

    def can_open(
        self, symbol: Symbol, signed_qty: float, price: float, reserved_margin: float = 0.0, fee: float = 0.0
    ) -> bool:
        """Whether the margin allows trading `signed_qty` at `price`; reducing a position is always allowed.

        The added initial margin (of the resulting position over the current one, both valued at `price`)
        plus `fee` must fit in the available balance less `reserved_margin` (held by resting orders).
        """
        instrument = self.instrument(symbol)
        if symbol in self._expired:
            return False
        held = self.position(symbol).qty
        after = clean_qty(held + signed_qty)
        if abs(after) <= abs(held) and (after == 0 or math.copysign(1.0, after) == math.copysign(1.0, held)):
            return True
        value_after = abs(instrument.settlement_value(after, price))
        needed = (value_after - abs(instrument.settlement_value(held, price))) / self.leverage + fee
        return needed <= self.available_balance - reserved_margin

    def next_trade_id(self) -> TradeId:
        self._trade_seq += 1
        return TradeId(str(self._trade_seq))

    def apply_fill(
        self,
        ts: TimestampMs,
        client_id: ClientOrderId,
        symbol: Symbol,
        side: Side,
        qty: float,
        price: float,
        fee_bps: float,
        liquidity: str = "taker",
    ) -> Fill:
        """Book one execution: position, realised P&L, fee = |value| × fee_bps (negative bps: a rebate)."""
        instrument = self.instrument(symbol)
        if symbol in self._expired:
            raise ValueError(f"{symbol} has expired; it cannot be traded")
        if not (qty > 0 and math.isfinite(qty)) or not (price > 0 and math.isfinite(price)):
            raise ValueError(f"{symbol}: a fill needs a positive quantity and price, got {qty!r} @ {price!r}")
        trade_id = self.next_trade_id()
        before = self.position(symbol)
        moved, realized = apply_to_position(instrument, before, side.sign * qty, price)
        self._positions[symbol] = moved
        if symbol in self._isolated:
            self._move_isolated_margin(instrument, before.qty, moved.qty, price)
        fee = abs(instrument.settlement_value(qty, price)) * fee_bps / _BPS
        self._realized += realized
        self._fees += fee
        if realized:
            self._ledger.append(LedgerEntry(ts, LedgerKind.REALIZED_PNL, symbol, realized, trade_id))
        if fee:
            self._ledger.append(LedgerEntry(ts, LedgerKind.COMMISSION, symbol, -fee, trade_id))
        return Fill(ts, trade_id, client_id, symbol, side, qty, price, fee, self.currency, liquidity)

    def _move_isolated_margin(self, instrument: Instrument, held: float, after: float, price: float) -> None:
        """An isolated position's margin after a fill: released pro rata for what closed, and the added
        contracts' initial margin at `price` taken from the cross wallet."""
        symbol = instrument.symbol
        wallet = self._isolated_wallet.get(symbol, 0.0)
        same_side = held != 0 and after != 0 and math.copysign(1.0, held) == math.copysign(1.0, after)
        kept = min(abs(held), abs(after)) if same_side else 0.0
        if held:
            wallet *= kept / abs(held)
        added = abs(after) - kept
        if added > 0:
            wallet += abs(instrument.settlement_value(added, price)) / self.leverage
        if after == 0:
            self._isolated_wallet.pop(symbol, None)
        else:
            self._isolated_wallet[symbol] = wallet

    def settle_funding(self, symbol: Symbol, rate: float, mark: float, ts: int) -> FundingSettled | None:
        """Pay or receive one funding settlement; None when flat. Shorts receive a positive rate."""
        instrument = self.instrument(symbol)
        position = self.position(symbol)
        if position.qty == 0:
            return None
        amount = -instrument.settlement_value(position.qty, mark) * rate
        self._funding += amount
        if symbol in self._isolated:  # paid from (or into) the position's own margin
            self._isolated_wallet[symbol] = self.isolated_wallet(symbol) + amount
        self._ledger.append(LedgerEntry(ts, LedgerKind.FUNDING_FEE, symbol, amount))
        return FundingSettled(ts, symbol, rate, position.qty, mark, amount, self.currency)

    def expire(self, symbol: Symbol, settle_price: float, ts: TimestampMs) -> Fill | None:
        """Deliver a dated contract: close any position at `settle_price` (no fee); it can no longer trade.

        `settle_price` is used only when a position is open (a flat contract just stops trading).
        """
        instrument = self.instrument(symbol)
        if instrument.kind is not InstrumentKind.FUTURE:
            raise ValueError(f"{symbol} is a {instrument.kind}, not a dated future; it does not expire")
        if symbol in self._expired:
            return None
        fill = None
        if self.position(symbol).qty != 0:
            self.mark(symbol, settle_price)
            fill = self._close(symbol, settle_price, ts, ClientOrderId(f"delivery-{ts}"))
        self._expired.add(symbol)
        return fill

    def liquidation_due(self) -> tuple[Symbol, ...]:
        """The positions a liquidation would close now: each isolated one whose isolated margin is below its
        maintenance margin, and every cross one when the cross equity is below their maintenance margin."""
        held = self.positions()
        if not held:
            return ()
        mmr = self.maintenance_margin_rate
        due = [
            p.symbol
            for p in held
            if p.symbol in self._isolated and self.isolated_margin(p.symbol) < abs(self._value_at_mark(p)) * mmr
        ]
        cross = [p.symbol for p in held if p.symbol not in self._isolated]
        if cross and self._cross_equity() < self._gross_value(cross_only=True) * mmr:
            due.extend(cross)
        return tuple(sorted(due))

    def liquidate_if_needed(self, ts: TimestampMs) -> list[Fill]:
        """Close at its mark (no fee) every position `liquidation_due()` names and return the fills.

        The wallet may end negative after a gap through the bankruptcy price: the simulation has no insurance
        fund, and says so rather than hiding the loss.
        """
        due = self.liquidation_due()
        if not due:
            return []
        client_id = ClientOrderId(f"liquidation-{ts}")
        fills = [self._close(symbol, self._price_of(self.position(symbol)), ts, client_id) for symbol in due]
        return [fill for fill in fills if fill is not None]

    def _close(self, symbol: Symbol, price: float, ts: TimestampMs, client_id: ClientOrderId) -> Fill | None:
        held = self.position(symbol).qty
        if held == 0:
            return None
        return self.apply_fill(ts, client_id, symbol, Side.of(-held), abs(held), price, fee_bps=0.0)

    # ---- durable state ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to put this account back where it is (see the module docstring), as plain JSON."""
        return {
            "currency": self.currency,
            "collateral": self.collateral,
            "realized": self._realized,
            "fees": self._fees,
            "funding": self._funding,
            "trade_seq": self._trade_seq,
            "positions": [
                [p.symbol, p.qty, p.entry_price, p.realized_pnl] for _, p in sorted(self._positions.items()) if p.qty
            ],
            "marks": dict(sorted(self._marks.items())),
            "expired": sorted(self._expired),
            "isolated": sorted(self._isolated),
            "isolated_wallet": dict(sorted(self._isolated_wallet.items())),
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Put the account back to `state` (from `state()`); its instruments must already be added. ValueError
        for a state of another currency."""
        if state["currency"] != self.currency:
            raise ValueError(f"a {state['currency']} account's state cannot restore a {self.currency} account")
        self.collateral = float(state["collateral"])
        self._realized, self._fees = float(state["realized"]), float(state["fees"])
        self._funding = float(state["funding"])
        self._trade_seq = int(state["trade_seq"])
        self._positions = {
            Symbol(symbol): Position(Symbol(symbol), float(qty), float(entry), float(realized))
            for symbol, qty, entry, realized in state["positions"]
        }
        self._marks = {Symbol(symbol): float(price) for symbol, price in state["marks"].items()}
        self._expired = {Symbol(symbol) for symbol in state["expired"]}
        self._isolated = {Symbol(symbol) for symbol in state["isolated"]}
        self._isolated_wallet = {Symbol(symbol): float(amount) for symbol, amount in state["isolated_wallet"].items()}

    def snapshot(self, ts: TimestampMs) -> AccountSnapshot:
        return AccountSnapshot(
            ts,
            self.currency,
            self.wallet_balance,
            self.equity,
            self.initial_margin,
            self.maintenance_margin,
            self.positions(),
        )
