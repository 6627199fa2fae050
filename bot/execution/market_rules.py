"""Market definitions for simulated venues, and the order checks an exchange applies to them. Pure.

Public API:

- `default_instrument(symbol) -> Instrument`: Binance-USDⓈ-M-like steps and minimums for a ccxt symbol.
  "BTC/USDT" is spot, "BTC/USDT:USDT" a linear perpetual, "BTC/USDT:USDT-261225" a linear dated future
  expiring at 08:00 UTC on 2026-12-25, "BTC/USD:BTC" (settled in the base coin) an inverse contract with a
  USD face value of 100 (BTC) or 10 (any other base). Unknown bases get a generic fallback. A symbol that is
  not in that form raises ValueError naming it.
- `expiry_ms_of(symbol) -> int | None`: the expiry of a dated symbol, None for one without a date suffix.
- `check_order(instrument, qty, price, reduce_only=False, limit=True) -> OrderProblem | None`: lot step,
  minimum quantity, tick and minimum notional, as an exchange checks them before it accepts an order.
  `price` is the limit price (`limit=True`, checked against the tick) or the reference price of a market
  order (`limit=False`, used for the notional only). Reduce-only orders are exempt from the minimum notional
  (as on Binance), so a small remainder can always be closed.
- `is_multiple(value, step) -> bool`: whether `value` is a whole number of `step`s, within float tolerance.
- `FundingSchedule`: which funding settlements fall due, each settlement time exactly once, at the rate last
  observed for it: `observe(observed, now) -> list[FundingObserved]`, `due(until) -> list[FundingObserved]`,
  `next_due` (ms, +inf when none). A settlement is identified by (symbol, next_funding_ts).
- `reducible_qty(position_qty, side) -> float`: how much an order on `side` can close (0 when it would add);
  `check_reduce_only(position_qty, side, qty) -> OrderProblem | None`: a reduce-only order may neither add to
  the position nor flip it.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain import FundingObserved, Instrument, InstrumentKind, Rounding, Side, Symbol, round_to_step

__all__ = [
    "FundingSchedule",
    "OrderProblem",
    "Problem",
    "check_order",
    "check_reduce_only",
    "default_instrument",
    "expiry_ms_of",
    "is_multiple",
    "reducible_qty",
]

_SYMBOL = re.compile(
    r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)"  # BTC/USDT: spot
    r"(?::(?P<settle>[A-Z0-9]+)(?:-(?P<date>\d{6}))?)?$"  # :USDT a derivative settled in USDT, -YYMMDD dated
)
_EXPIRY_HOUR_UTC = 8  # Binance delivers quarterly contracts at 08:00 UTC on the delivery date

# lot step, tick size, minimum notional (quote) of Binance USDⓈ-M perpetuals; minimum quantity = lot step.
# SOL follows the brief (lot 1, tick 0.001: its 2020-2022 spec); Binance lists it at 0.01/0.01 today.
_LINEAR_STEPS: dict[str, tuple[float, float, float]] = {
    "BTC": (0.001, 0.1, 100.0),
    "ETH": (0.001, 0.01, 20.0),
    "BNB": (0.01, 0.01, 5.0),
    "SOL": (1.0, 0.001, 5.0),
    "XRP": (0.1, 0.0001, 5.0),
    "ADA": (1.0, 0.0001, 5.0),
    "DOGE": (1.0, 0.00001, 5.0),
    "AVAX": (1.0, 0.001, 5.0),
    "LINK": (0.01, 0.001, 5.0),
    "DOT": (0.1, 0.001, 5.0),
    "LTC": (0.001, 0.01, 5.0),
    "MATIC": (1.0, 0.0001, 5.0),
    "TRX": (1.0, 0.00001, 5.0),
    "BCH": (0.001, 0.01, 5.0),
    "NEAR": (1.0, 0.001, 5.0),
    "ATOM": (0.01, 0.001, 5.0),
    "UNI": (1.0, 0.001, 5.0),
}
_GENERIC_LINEAR = (1.0, 0.0001, 5.0)

# Binance COIN-M: one contract is worth 100 USD for BTC and 10 USD for every other coin; lot 1 contract.
_INVERSE_TICKS = {"BTC": 0.1, "ETH": 0.01, "BNB": 0.01, "LTC": 0.01, "BCH": 0.01}
_GENERIC_INVERSE_TICK = 0.001


def _not_a_symbol(symbol: str) -> ValueError:
    return ValueError(f"{symbol!r} is not a ccxt symbol like 'BTC/USDT:USDT' or 'BTC/USDT:USDT-261225'")


def expiry_ms_of(symbol: str) -> int | None:
    """'BTC/USDT:USDT-261225' → 08:00 UTC on 2026-12-25 in ms; None when the symbol carries no date."""
    match = _SYMBOL.match(symbol)
    if not match:
        raise _not_a_symbol(symbol)
    date = match.group("date")
    if date is None:
        return None
    try:
        day = datetime.strptime(date, "%y%m%d").replace(hour=_EXPIRY_HOUR_UTC, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{symbol!r}: {date!r} is not a valid YYMMDD expiry date") from None
    return int(day.timestamp() * 1000)


def default_instrument(symbol: Symbol) -> Instrument:
    """Binance-like market definition for `symbol` (see the module docstring)."""
    match = _SYMBOL.match(symbol)
    if not match:
        raise _not_a_symbol(symbol)
    base, quote, settle = match.group("base"), match.group("quote"), match.group("settle")
    expiry = expiry_ms_of(symbol)
    if settle is None:
        lot, tick, min_notional = _LINEAR_STEPS.get(base, _GENERIC_LINEAR)
        spot = InstrumentKind.SPOT
        return Instrument(symbol, base, quote, spot, "", False, 1.0, lot, tick, lot, min_notional)
    kind = InstrumentKind.PERPETUAL if expiry is None else InstrumentKind.FUTURE
    if settle == base:  # coin-margined: settles in the coin, quantity in USD-face-value contracts
        face = 100.0 if base == "BTC" else 10.0
        tick = _INVERSE_TICKS.get(base, _GENERIC_INVERSE_TICK)
        return Instrument(symbol, base, quote, kind, settle, True, face, 1.0, tick, 1.0, 0.0, expiry)
    lot, tick, min_notional = _LINEAR_STEPS.get(base, _GENERIC_LINEAR)
    return Instrument(symbol, base, quote, kind, settle, False, 1.0, lot, tick, lot, min_notional, expiry)


# ---- order checks -------------------------------------------------------------------------------


class Problem(enum.StrEnum):
    """Why an exchange refuses an order's numbers (the exchange simulator maps these to Binance codes)."""

    QUANTITY = "quantity"  # not positive / not finite
    LOT_SIZE = "lot_size"  # not a multiple of the lot step
    MIN_QTY = "min_qty"
    PRICE = "price"  # not positive / not finite
    TICK_SIZE = "tick_size"  # not a multiple of the tick
    MIN_NOTIONAL = "min_notional"
    REDUCE_ONLY = "reduce_only"  # would add to the position or flip it


@dataclass(frozen=True, slots=True)
class OrderProblem:
    problem: Problem
    message: str


_RELATIVE_TOLERANCE = 1e-9


def is_multiple(value: float, step: float) -> bool:
    """Whether `value` is a whole number of `step`s; float noise (0.1 + 0.2) is tolerated, a remainder not."""
    if step <= 0:
        return True
    nearest = round_to_step(value, step, Rounding.NEAREST)
    return abs(value - nearest) <= _RELATIVE_TOLERANCE * max(abs(value), step)


def check_order(
    instrument: Instrument, qty: float, price: float, reduce_only: bool = False, limit: bool = True
) -> OrderProblem | None:
    """The first rule the order's quantity or price breaks, or None when an exchange would accept them."""
    name = instrument.symbol
    if not (qty > 0 and qty < float("inf")):
        return OrderProblem(Problem.QUANTITY, f"{name}: quantity {qty!r} must be a positive number")
    if not is_multiple(qty, instrument.lot_step):
        lot = instrument.lot_step
        return OrderProblem(Problem.LOT_SIZE, f"{name}: quantity {qty} is not a multiple of the lot {lot}")
    if qty < instrument.min_qty * (1 - _RELATIVE_TOLERANCE):
        least = instrument.min_qty
        return OrderProblem(Problem.MIN_QTY, f"{name}: quantity {qty} is below the minimum {least}")
    if not (price > 0 and price < float("inf")):
        return OrderProblem(Problem.PRICE, f"{name}: price {price!r} must be a positive number")
    if limit and not is_multiple(price, instrument.tick_size):
        tick = instrument.tick_size
        return OrderProblem(Problem.TICK_SIZE, f"{name}: price {price} is not a multiple of the tick {tick}")
    notional = abs(instrument.notional(qty, price))
    if not reduce_only and notional < instrument.min_notional * (1 - _RELATIVE_TOLERANCE):
        return OrderProblem(
            Problem.MIN_NOTIONAL,
            f"{name}: notional {notional:.2f} is below the minimum {instrument.min_notional}",
        )
    return None


def reducible_qty(position_qty: float, side: Side) -> float:
    """How much of the position an order on `side` can close: |position| when it points against it, else 0."""
    return abs(position_qty) if position_qty * side.sign < 0 else 0.0


def check_reduce_only(position_qty: float, side: Side, qty: float) -> OrderProblem | None:
    """A reduce-only order must point against the position and be no larger than it."""
    reducible, held = reducible_qty(position_qty, side), position_qty
    if reducible <= 0:
        return OrderProblem(Problem.REDUCE_ONLY, f"reduce-only {side} would add to the position {held}")
    if qty > reducible * (1 + _RELATIVE_TOLERANCE):
        return OrderProblem(Problem.REDUCE_ONLY, f"reduce-only {side} {qty} exceeds the position {held}")
    return None


# ---- funding ------------------------------------------------------------------------------------


class FundingSchedule:
    """Funding settlements as they fall due: each (symbol, settlement time) once, at the last rate seen.

    A live feed repeats the accruing rate with a future `next_funding_ts`; a replay gives the settled rate
    with `next_funding_ts == ts` ("settles now"). Either way each settlement time comes out once.
    """

    def __init__(self) -> None:
        self._latest: dict[Symbol, FundingObserved] = {}
        self._settled: dict[Symbol, int] = {}  # the last settlement time handed out, per symbol
        self.next_due: float = math.inf  # no settlement falls due before this time

    def observe(self, observed: FundingObserved, now: int) -> list[FundingObserved]:
        """Take a new observation; return what is due by `now`: the period it closes, and itself if due."""
        previous = self._latest.get(observed.symbol)
        self._latest[observed.symbol] = observed
        new_period = previous is not None and previous.next_funding_ts != observed.next_funding_ts
        closing = [previous] if previous is not None and new_period else []
        due = [o for o in (*closing, observed) if self._take(o, now)]
        self._refresh()
        return due

    def due(self, until: int) -> list[FundingObserved]:
        """Settlements due at or before `until` that were not handed out yet (each only once)."""
        if until < self.next_due:
            return []
        due = [o for o in self._latest.values() if self._take(o, until)]
        self._refresh()
        return due

    def _take(self, observed: FundingObserved, until: int) -> bool:
        when = observed.next_funding_ts
        if when > until or when <= self._settled.get(observed.symbol, -1):
            return False
        self._settled[observed.symbol] = when
        return True

    def _refresh(self) -> None:
        times = [(symbol, o.next_funding_ts) for symbol, o in self._latest.items()]
        self.next_due = min((t for symbol, t in times if t > self._settled.get(symbol, -1)), default=math.inf)
