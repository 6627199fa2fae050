"""The coin-margined (inverse) account in the coin: wallet, margin, unrealised P&L, liquidation, buffer. Pure.

An inverse contract (Binance COIN-M "BTCUSD_PERP", ccxt "BTC/USD:BTC") has a fixed face value in USD
(`Instrument.contract_size`: 100 USD for BTC, 10 for the others); its margin and P&L are in the coin. For `q`
contracts (signed) of face `CS` entered at `EP` and marked at `P`, as Binance documents them:

- position value (coin)    |q| × CS / P
- unrealised P&L (coin)    q × CS × (1/EP − 1/P)                     (`Instrument.pnl`)
- initial margin (coin)    |q| × CS / P / leverage
- maintenance (coin)       value × MMR − cum, by the COIN-M bracket the value falls in (brackets in coin)
- liquidation price        LP = |q| × (MMR + side) / ((WB − TMM + UPNL + cum) / CS + side × |q| / EP),
                           side +1 long, −1 short; WB the cross wallet balance, TMM and UPNL the maintenance
                           margin and unrealised P&L of the account's other contracts; the bracket whose value
                           range holds |q| × CS / LP. No positive solution: the position cannot be liquidated
                           (Binance shows "--").

Equity is linear in 1/P, not in P: a short inverse contract loses ever less coin per dollar of rally, and one
whose wallet holds at least its face value in coin (the holder of ETH shorting ETHUSD 1:1) is never
liquidated by a rise. So the buffer (`account_buffer`, the adverse move of the prices at which equity meets
maintenance) is solved here in the coin, not by the linear `bot.risk.buffer`; it shares its bisection depth,
its MAX_MOVE and its cut search.

The COIN-M brackets (`coinm_table`) are in coin: Binance's published tables for BTCUSD, ETHUSD and a few 20x
coins, FILUSD's standing in for the rest (`bot.risk.coinm_brackets`, which names the sources).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from bot.domain import AccountSnapshot, Instrument, Position, Symbol
from bot.risk.brackets import Bracket, BracketTable
from bot.risk.buffer import MAX_MOVE, smallest_fraction
from bot.risk.coinm_brackets import coinm_table as coinm_table  # re-exported: the inverse maths' own table

_ITERATIONS = 60  # bisection steps, as bot.risk.buffer
_RESOLUTION = 1e-12  # relative: a denominator below it is float noise on zero (no liquidation price)
_NEAR_ZERO = 1.0 - 1e-9  # a long's worst fall: the price cannot reach zero (1/P would be infinite)


# ---- one position -------------------------------------------------------------------------------


def position_value(instrument: Instrument, qty: float, mark: float) -> float:
    """|q| × CS / P: the position's size in the coin (always positive)."""
    return abs(instrument.settlement_value(qty, mark))


def initial_margin(instrument: Instrument, qty: float, mark: float, leverage: float) -> float:
    return position_value(instrument, qty, mark) / leverage


def maintenance_margin(instrument: Instrument, qty: float, mark: float) -> float:
    """Value × MMR − cum of the COIN-M bracket the value falls in, in the coin."""
    return coinm_table(instrument.base).maintenance(position_value(instrument, qty, mark))


def _price_in(bracket: Bracket, size: float, side: float, entry: float, face: float, wallet: float) -> float | None:
    """LP of Binance's formula with this bracket's rate and amount; None when no positive price solves it."""
    collateral, exposure = (wallet + bracket.cum) / face, size / entry
    denominator = collateral + side * exposure
    numerator = size * (bracket.maint_rate + side)
    if abs(denominator) <= _RESOLUTION * (abs(collateral) + exposure):  # a wallet of exactly the face shorted
        return None
    price = numerator / denominator
    return price if price > 0 else None


def liquidation_price(
    instrument: Instrument,
    qty: float,
    entry: float,
    wallet: float,
    *,
    other_maintenance: float = 0.0,
    other_unrealized: float = 0.0,
) -> float | None:
    """Binance's COIN-M liquidation price of `qty` contracts entered at `entry` on a cross `wallet` (coin).

    The bracket is the one whose coin range holds the position's value at the liquidation price itself, as
    the FAQ prescribes (recalculate with the bracket of the result). None when flat or not liquidatable."""
    if qty == 0 or entry <= 0:
        return None
    size, side, face = abs(qty), (1.0 if qty > 0 else -1.0), instrument.contract_size
    balance = wallet - other_maintenance + other_unrealized
    for bracket in coinm_table(instrument.base).brackets:
        price = _price_in(bracket, size, side, entry, face, balance)
        if price is not None and bracket.floor <= size * face / price <= bracket.cap:
            return price
    return None


# ---- the account --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoinLeg:
    """One inverse position as the buffer sees it: contracts (signed), face value, entry, mark, its table."""

    symbol: Symbol
    qty: float
    face: float
    mark: float
    table: BracketTable

    def pnl_to(self, price: float) -> float:
        """Coin P&L of moving this leg's price from its mark to `price`."""
        return self.qty * self.face * (1.0 / self.mark - 1.0 / price)

    def maintenance(self, price: float) -> float:
        return self.table.maintenance(abs(self.qty) * self.face / price)


def legs_of(
    positions: Iterable[Position], marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
) -> tuple[CoinLeg, ...]:
    """The open inverse positions at their marks (the entry price when no mark is known yet)."""
    legs = []
    for position in positions:
        instrument = instruments.get(position.symbol)
        mark = marks.get(position.symbol) or position.entry_price
        if instrument is None or not instrument.inverse or position.qty == 0 or not mark > 0:
            continue
        table = coinm_table(instrument.base)
        legs.append(CoinLeg(position.symbol, position.qty, instrument.contract_size, mark, table))
    return tuple(legs)


def is_inverse_book(positions: Iterable[Position], instruments: Mapping[Symbol, Instrument]) -> bool:
    """True when the open positions are all of inverse contracts (and there is at least one)."""
    known = [instruments.get(p.symbol) for p in positions if p.qty != 0]
    return bool(known) and all(i is not None and i.inverse for i in known)


def maintenance(legs: Iterable[CoinLeg]) -> float:
    return sum(leg.maintenance(leg.mark) for leg in legs)


def adverse_move(equity: float, legs: tuple[CoinLeg, ...], moving: frozenset[Symbol] | None = None) -> float | None:
    """The smallest adverse move of the `moving` legs' prices (all when None), as a fraction of their marks, at
    which the coin equity meets the coin maintenance margin. 0.0: already there (or equity unreadable); None:
    no rise up to MAX_MOVE (a net short) does it. A net long always has one: its coin loss is unbounded."""
    moved = [leg for leg in legs if moving is None or leg.symbol in moving]
    if not moved:
        return None
    direction = 1.0 if sum(leg.qty for leg in moved) < 0 else -1.0  # a net short is hurt by a rise
    ceiling = MAX_MOVE if direction > 0 else _NEAR_ZERO

    def margin_left(move: float) -> float:
        factor = 1.0 + direction * move
        left = equity
        for leg in legs:
            price = leg.mark * factor if leg in moved else leg.mark
            left += leg.pnl_to(price) - leg.maintenance(price)
        return left

    if not margin_left(0.0) > 0:  # also NaN equity: fail closed
        return 0.0
    if margin_left(ceiling) > 0:
        return None
    low, high = 0.0, ceiling
    for _ in range(_ITERATIONS):
        middle = (low + high) / 2
        low, high = (middle, high) if margin_left(middle) > 0 else (low, middle)
    return low


def account_buffer(equity: float, legs: tuple[CoinLeg, ...]) -> float | None:
    """The coin account's buffer: every inverse contract's price moves together against the book."""
    return adverse_move(equity, legs)


def cut_fraction(equity: float, legs: tuple[CoinLeg, ...], target: float) -> float:
    """The smallest share of every position to close for the buffer to reach `target` (as bot.risk.buffer)."""
    if not equity > 0:
        return 1.0 if legs else 0.0

    def enough(fraction: float) -> bool:
        kept = tuple(replace(leg, qty=leg.qty * (1.0 - fraction)) for leg in legs)
        buffer = account_buffer(equity, kept)
        return buffer is None or buffer >= target

    return smallest_fraction(enough)


# ---- the coin account in the quote currency -----------------------------------------------------------


def coin_price(
    coin: str, quote: str, prices: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
) -> float | None:
    """Quote per unit of `coin`: 1 for the quote itself; the coin's spot price when known, else the mark of an
    inverse contract settled in it (its USD price, USD taken as the quote); None when neither is known yet."""
    if coin in (quote, ""):
        return 1.0
    spot = prices.get(Symbol(f"{coin}/{quote}"))
    if spot:
        return spot
    for symbol, instrument in instruments.items():
        if instrument.inverse and instrument.settle == coin and prices.get(symbol):
            return prices[symbol]
    return None


def equity_in_quote(
    snapshot: AccountSnapshot, quote: str, prices: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument]
) -> float:
    """The account's equity in the quote currency (NaN while a coin account's coin has no price yet: unreadable,
    so every limit that reads it fails closed)."""
    rate = coin_price(snapshot.currency, quote, prices, instruments)
    return snapshot.equity * rate if rate is not None else math.nan
