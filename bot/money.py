"""One home for every money figure the bot adds up: fees in quote, slippage, gross and net notional. Pure.

Every total, limit and status line that shows one of these figures calls the function here, so the operator's
status can never disagree with the limit enforced, and a coin-margined (inverse) fee is converted exactly once.

Slippage has two references, named by the function that measures against each:
  - `slippage_cost`: one fill against the mark when its order was sent (what the order desk paid for crossing
    the book and for the time in flight), in quote currency;
  - `slippage_bps`: a price against an arrival price, the mark when the decision's parent started (the
    implementation shortfall of a whole staged execution, the parents' execution quality).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.domain import Fill, FundingSettled, Instrument, Position, Side, Symbol


def fee_in_quote(fill: Fill, quote: str) -> float:
    """The fill's fee in the quote currency: a fee in the base coin (inverse contracts) is valued at the fill."""
    return fill.fee if fill.fee_currency in (quote, "") else fill.fee * fill.price


def funding_in_quote(funding: FundingSettled, quote: str) -> float:
    """The settlement's amount in the quote currency: funding in the coin (inverse contracts) is valued once, at
    the settlement's mark."""
    return funding.amount if funding.currency in (quote, "") else funding.amount * funding.mark_price


def coin_in_quote(amount: float, coin_price: float) -> float:
    """A coin-margined account's figure (wallet, equity, margin: in the coin) in the quote currency."""
    return amount * coin_price


def slippage_bps(side: Side, reference: float, price: float) -> float:
    """How far `price` is from `reference` against a trade on `side`, in bps: positive is a cost."""
    return side.sign * (price / reference - 1.0) * 1e4


def slippage_cost(instrument: Instrument, fill: Fill, sent_at_mark: float) -> float:
    """Quote currency paid (+) or earned (−) by `fill` against the mark when its order was sent: what the fill's
    position would have lost at once marked there (an inverse contract's, in coin, valued at the fill)."""
    lost = -instrument.pnl(fill.signed_qty, fill.price, sent_at_mark)
    return lost * fill.price if instrument.inverse else lost


def traded_notional(instrument: Instrument, fill: Fill) -> float:
    """The fill's size in quote currency (always positive)."""
    return abs(instrument.notional(fill.qty, fill.price))


@dataclass(frozen=True, slots=True)
class BookNotional:
    """The positions' notional at the marks. `unpriced` lists positions that could not be valued (no mark or no
    instrument): `gross` and `net` leave them out, and a limit that must see the whole book refuses on them."""

    gross: float  # Σ |notional|
    net: float  # Σ notional, signed (short hedges negative)
    unpriced: tuple[Symbol, ...] = ()


def book_notional(
    positions: Mapping[Symbol, float],
    instruments: Mapping[Symbol, Instrument],
    marks: Mapping[Symbol, float],
    *,
    excluding: Symbol | None = None,
) -> BookNotional:
    """Gross and net notional of `positions` (contracts, signed) at `marks`, skipping `excluding` and flat ones."""
    gross = net = 0.0
    unpriced: list[Symbol] = []
    for symbol, qty in positions.items():
        if symbol == excluding or qty == 0:
            continue
        instrument, mark = instruments.get(symbol), marks.get(symbol)
        if instrument is None or mark is None:
            unpriced.append(symbol)
            continue
        value = instrument.notional(qty, mark)
        gross += abs(value)
        net += value
    return BookNotional(gross, net, tuple(unpriced))


def apply_to_position(
    instrument: Instrument, position: Position, signed_qty: float, price: float
) -> tuple[Position, float]:
    """The position after a fill of `signed_qty` at `price`, and the P&L that fill realised.

    Adding averages the entry (arithmetically for linear contracts, harmonically for inverse ones, so that
    `Instrument.pnl` of the average equals the sum over the fills); reducing realises P&L at the old entry;
    flipping closes the old side and opens the rest at `price`.
    """
    held, entry = position.qty, position.entry_price
    new_qty = clean_qty(held + signed_qty)
    if new_qty == held:  # a fill below the quantity resolution changes nothing
        return position, 0.0
    if held == 0 or math.copysign(1.0, held) == math.copysign(1.0, signed_qty):
        if instrument.inverse:
            new_entry = new_qty / (held / entry + signed_qty / price) if held else price
        else:
            new_entry = (held * entry + signed_qty * price) / new_qty
        return replace(position, qty=new_qty, entry_price=new_entry), 0.0
    # the part of the old position this fill closes
    closed = math.copysign(min(abs(signed_qty), abs(held)), held)
    realized = instrument.pnl(closed, entry, price)
    if new_qty == 0:
        new_entry = 0.0
    elif math.copysign(1.0, new_qty) != math.copysign(1.0, held):
        new_entry = price  # flipped: the remainder is a new position opened here
    else:
        new_entry = entry
    total_realized = position.realized_pnl + realized
    moved = replace(position, qty=new_qty, entry_price=new_entry, realized_pnl=total_realized)
    return moved, realized


_QTY_DECIMALS = 12  # positions are sums of lot multiples: round away the float noise of 0.1 + 0.2


def clean_qty(qty: float) -> float:
    """A position quantity with the float noise of summed lots rounded away (and never −0)."""
    rounded = round(qty, _QTY_DECIMALS)
    return 0.0 if rounded == 0 else rounded
