"""Pre-trade limits, checked on every clip against the state after the clip. Pure.

A check passes a clip, shrinks it to fit (and says so in a note) or blocks it (quantity 0, with a note).

Every order, whatever it does to exposure, must:
- be allowed by the trading state (halted: nothing but cancels and protective cuts; reducing: only orders that
  reduce the position),
- be priced on a fresh mark, and within the price band around it (no order far through the market),
- keep the order rate of the last minute under its limit (a runaway loop stops here, reducing or not),
- be a whole number of lots, at least the venue's minimum quantity and notional.

Orders that add exposure must also keep, after the clip: the order and position notional under their caps,
and leverage (hedge notional / hedge-account equity) under its cap per instrument and in total. Orders that
only reduce a position are never shrunk by these: each of them makes every exposure limit safer.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.domain import MS_PER_MINUTE, Instrument, Rounding, Symbol, round_to_step
from bot.money import book_notional
from bot.risk.state import TradingState

ORDER_RATE = "order rate"  # the opening words of the notes of these two limits
PRICE_BAND = "price band"
# Relative slack when rounding room down to lots: room computed as 0.0999999… contracts must still allow 0.1.
_ROOM_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Limits:
    max_leverage: float  # total gross hedge notional / hedge-account equity
    max_instrument_leverage: float  # one instrument's position notional / hedge-account equity
    max_position_notional: float  # per instrument, quote currency
    max_order_notional: float  # quote currency
    max_orders_per_minute: int  # every order counts, reducing ones too
    price_band_bps: float  # how far through the latest mark an order may be priced
    max_price_age_ms: int  # no order priced on a mark older than this


@dataclass(frozen=True, slots=True)
class PreTradeState:
    """What the checks look at: the state before the clip, as the caller knows it at `now`."""

    now: int
    trading: TradingState
    positions: Mapping[Symbol, float]  # contracts, signed; include orders still in flight (the worst case)
    marks: Mapping[Symbol, float]
    mark_ts: Mapping[Symbol, int]
    instruments: Mapping[Symbol, Instrument]
    equity: float  # hedge account, quote currency; 0 when unknown (nothing that adds exposure passes)
    orders_last_minute: int


@dataclass(frozen=True, slots=True)
class ClipVerdict:
    qty: float  # signed contracts allowed (0 = blocked)
    notes: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return self.qty == 0


# The governance limits a clip's note can report a breach of, by the note's opening words: the `[risk]` setting.
_BREACHES = (
    ("max_order_notional:", "max_order_notional"),
    ("max_position_notional:", "max_position_notional"),
    ("max_leverage", "max_leverage"),  # also "max_leverage (no mark for the position in ...)"
    ("max_instrument_leverage:", "max_instrument_leverage"),
    (f"{ORDER_RATE}:", "max_orders_per_minute"),
    (f"{PRICE_BAND}:", "price_band_bps"),
)


def breached_limit(note: str) -> str | None:
    """The `[risk]` limit a `check_clip` note reports a breach of, or None for a note that reports none: lot
    rounding, venue minimums, the trading state, a missing or stale mark (the staleness gate reports that)."""
    for opening, limit in _BREACHES:
        if note.startswith(opening):
            return limit
    return None


def reduces_position(position: float, qty: float) -> bool:
    """True when `qty` only shrinks `position` towards zero, without crossing it."""
    return position * qty < 0 and abs(qty) <= abs(position) + 1e-12


def check_clip(
    instrument: Instrument,
    qty: float,
    order_price: float,
    state: PreTradeState,
    limits: Limits,
    *,
    protective: bool = False,
    roll_pair: bool = False,
) -> ClipVerdict:
    """How much of a clip of `qty` contracts in `instrument`, priced at `order_price`, may go out now.

    `order_price` is the limit price, or for a market order the price it was planned at. `protective`: the clip
    belongs to a cut that keeps the hedge account from liquidation; if it only reduces, no trading state blocks it.
    `roll_pair`: the clip is a leg of a roll pair that moves exposure from one contract to the next (see
    `TradingState.allows`); the exposure limits still apply to it.
    """
    position = state.positions.get(instrument.symbol, 0.0)
    reduces = reduces_position(position, qty)
    blocked = _why_blocked(instrument, qty, order_price, reduces and protective, reduces, state, limits, roll_pair)
    if blocked:
        return ClipVerdict(0.0, (blocked,))
    notes: list[str] = []
    if not reduces:
        for name, room in _exposure_rooms(instrument, qty, order_price, state, limits):
            allowed = _shrink(qty, room, instrument.lot_step)
            if allowed != qty:
                notes.append(f"{name}: {_shrunk(qty, allowed)}")
                qty = allowed
    return _fit_to_venue(instrument, qty, order_price, reduces, notes)


def _why_blocked(
    instrument: Instrument,
    qty: float,
    order_price: float,
    protective: bool,
    reduces: bool,
    state: PreTradeState,
    limits: Limits,
    roll_pair: bool = False,
) -> str:
    """The first check that blocks the whole clip, or "" when none does."""
    symbol = instrument.symbol
    if qty == 0 or not math.isfinite(qty):
        return f"no order: quantity {qty!r} of {symbol}"
    if not state.trading.allows(reduces=reduces, protective=protective, roll_pair=roll_pair):
        what = "nothing but cancels" if state.trading is TradingState.HALTED else "only orders that reduce"
        return f"trading is {state.trading}: {what} may go out"
    mark, mark_ts = state.marks.get(symbol), state.mark_ts.get(symbol)
    if mark is None or mark_ts is None:
        return f"no mark for {symbol}: cannot check the order against the market"
    age_ms = state.now - mark_ts
    if age_ms > limits.max_price_age_ms:
        return f"price of {symbol} is {age_ms / 1000:.0f}s old (stale)"
    if state.orders_last_minute >= limits.max_orders_per_minute:
        rate = f"{state.orders_last_minute} orders in the last minute, limit {limits.max_orders_per_minute}"
        return f"{ORDER_RATE}: {rate}"
    return _outside_band(symbol, qty, order_price, mark, limits.price_band_bps)


def _outside_band(symbol: Symbol, qty: float, order_price: float, mark: float, band_bps: float) -> str:
    if not (math.isfinite(order_price) and order_price > 0):
        return f"no order: price {order_price!r} of {symbol} is not a finite positive number"
    # bps the order is priced through the market: above the mark for a buy, below it for a sell
    through_bps = (order_price / mark - 1.0) * 1e4 * (1 if qty > 0 else -1)
    if through_bps > band_bps:
        side = "buy" if qty > 0 else "sell"
        return (
            f"{PRICE_BAND}: {side} {symbol} at {order_price:g} is {through_bps:.0f} bps through the mark {mark:g}, "
            f"limit {band_bps:g} bps"
        )
    return ""


def _exposure_rooms(
    instrument: Instrument, qty: float, order_price: float, state: PreTradeState, limits: Limits
) -> Iterator[tuple[str, float]]:
    """(limit name, contracts that may still be traded in the clip's direction) for each exposure limit.

    Each limit caps the absolute position after the clip at some B contracts; trading `a` contracts in
    direction s from position p gives |p + s·a| ≤ B exactly when a ≤ B − s·p (the order adds exposure).
    """
    symbol = instrument.symbol
    # value at the worse of mark and order price: an order priced above the mark commits more notional
    unit = abs(instrument.notional(1.0, max(state.marks[symbol], order_price)))
    position = state.positions.get(symbol, 0.0)
    along = position if qty > 0 else -position  # s·p: + when the clip adds to the position
    yield "max_order_notional", limits.max_order_notional / unit
    yield "max_position_notional", limits.max_position_notional / unit - along
    equity = max(state.equity, 0.0)  # unknown or negative equity leaves no room to add exposure
    others = book_notional(state.positions, state.instruments, state.marks, excluding=symbol)
    if others.unpriced:  # fail closed: a position we cannot value leaves no room
        yield f"max_leverage (no mark for the position in {others.unpriced[0]})", 0.0
    else:
        yield "max_leverage", (limits.max_leverage * equity - others.gross) / unit - along
    # after the total: with caps alike the total binds first, and a note names this one only when stricter
    yield "max_instrument_leverage", limits.max_instrument_leverage * equity / unit - along


def _shrink(qty: float, allowed_abs: float, lot: float) -> float:
    allowed = round_to_step(max(allowed_abs, 0.0) * (1 + _ROOM_SLACK), lot, Rounding.DOWN)
    return qty if abs(qty) <= allowed else math.copysign(allowed, qty)


def _shrunk(before: float, after: float) -> str:
    if after == 0:
        return f"clip of {abs(before):g} contracts blocked (no room left)"
    return f"clip shrunk from {abs(before):g} to {abs(after):g} contracts"


def _fit_to_venue(
    instrument: Instrument, qty: float, order_price: float, reduces: bool, notes: list[str]
) -> ClipVerdict:
    """Whole lots only, and at least the venue's minimum quantity and notional; else the clip is blocked.

    An order that only reduces is exempt from the minimum notional (as at Binance): a dust remainder of a
    position can always be closed.
    """
    if qty == 0:
        return ClipVerdict(0.0, tuple(notes))
    lots = math.copysign(round_to_step(abs(qty) * (1 + _ROOM_SLACK), instrument.lot_step, Rounding.DOWN), qty)
    if abs(lots - qty) > instrument.lot_step * 1e-6:
        notes.append(f"lot_step: {_shrunk(qty, lots)} (lot {instrument.lot_step:g})")
    notional = abs(instrument.notional(lots, order_price))
    below_notional = notional < instrument.min_notional and not reduces
    if lots == 0 or abs(lots) < instrument.min_qty - 1e-12 or below_notional:
        notes.append(
            f"venue minimums: {abs(lots):g} contracts ({notional:,.2f} notional) is under the minimum "
            f"{instrument.min_qty:g} contracts / {instrument.min_notional:g} notional: clip blocked"
        )
        return ClipVerdict(0.0, tuple(notes))
    return ClipVerdict(lots, tuple(notes))


class OrderRateWindow:
    """When the orders of the last window (a minute) were sent: explicit state, times passed in."""

    def __init__(self, window_ms: int = MS_PER_MINUTE) -> None:
        self._window_ms = window_ms
        self._sent: deque[int] = deque()

    def record(self, ts: int) -> None:
        self._sent.append(ts)

    def count(self, now: int) -> int:
        """Orders sent in (now − window, now]."""
        while self._sent and self._sent[0] <= now - self._window_ms:
            self._sent.popleft()
        return len(self._sent)
