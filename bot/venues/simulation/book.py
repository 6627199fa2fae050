"""Where simulated orders fill: a depth model walked by takers, a slippage model, resting maker orders. Pure.

Public API:

- `BookModel(instrument, levels=5, spacing_ticks=1.0, level_size_notional=None, when_exhausted=...)`:
  a book rebuilt from the best bid and ask. Level 0 is the observed best price with its observed size;
  level i sits i × spacing_ticks ticks further away and holds `level_size_notional` (quote value, converted
  to contracts at that level's price) or, when that is None, the observed best size again.
  `walk(side, qty, bid, ask, bid_size, ask_size, limit_price=None) -> list[tuple[qty, price]]` takes
  liquidity level by level (quantities rounded down to the lot step), never beyond `limit_price`; what the
  levels cannot fill stays unfilled (`WhenDepthRunsOut.LEAVE_UNFILLED`) or fills one level beyond the last
  (`WhenDepthRunsOut.SWEEP`).
- `slipped_price(side, reference, notional, slippage_bps, impact_bps_per_10k, tick_size=0.0) -> float`: the
  taker price when there is no book:
  reference × (1 ± (slippage_bps + impact_bps_per_10k × |notional| / 10,000) / 10,000),
  rounded to the tick against the taker.
- `crosses(side, limit_price, bid, ask) -> bool`: whether a limit order would take liquidity on arrival;
  `takes_liquidity(side, limit_price, reference, book)` the same against a book, or a bare price without one.
- `taker_fills(model, side, qty, reference, book, slippage_bps, impact_bps_per_10k, limit_price=None)`: what a
  taker gets now: `model.walk` over `book` when it shows size on the side taken, else all of `qty` at the
  slippage model's price (capped at the limit).
- `RestingOrders`: resting limit orders in price-time priority. `add(order, post_only=False, bid=None,
  ask=None)` (raises `PostOnlyWouldCross` for a post-only order that would take, ValueError for a duplicate
  id), `cancel(client_id)`, `cancel_symbol(symbol)`, `get`, `for_symbol`, and the matching calls that return
  the maker fills a new market state causes, each at the order's own limit price:
  `match_price(symbol, price)` (a trade strictly through the limit fills the whole order) and
  `match_book(symbol, bid, ask, bid_size, ask_size)` (an opposite best price at or through the limit fills up
  to the size shown there, shared in priority order; a size of 0 means "unknown" and fills in full).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.domain import BookObserved, ClientOrderId, Instrument, Rounding, Side, Symbol, round_to_step

__all__ = [
    "BookModel",
    "MakerFill",
    "PostOnlyWouldCross",
    "RestingOrder",
    "RestingOrders",
    "WhenDepthRunsOut",
    "crosses",
    "slipped_price",
    "taker_fills",
    "takes_liquidity",
]

_BPS = 1e4
_STEP_TOLERANCE = 1e-9  # a price within this many steps of a whole step *is* on that step (float noise)


class WhenDepthRunsOut(enum.StrEnum):
    LEAVE_UNFILLED = "leave_unfilled"  # the remainder is not filled (an IOC market order expires with it)
    SWEEP = "sweep"  # the remainder fills one level beyond the last modelled level


def _round_against(side: Side, price: float, tick: float) -> float:
    """Round a taker's price to the tick in the direction that costs the taker (buy up, sell down)."""
    if tick <= 0:
        return price
    steps = price / tick
    nearest = round(steps)
    if abs(steps - nearest) <= _STEP_TOLERANCE * max(1.0, abs(steps)):
        whole = float(nearest)
    else:
        whole = float(math.ceil(steps) if side is Side.BUY else math.floor(steps))
    return round_to_step(max(whole, 1.0) * tick, tick, Rounding.NEAREST)


def _lot_down(qty: float, lot: float) -> float:
    if lot <= 0:
        return qty
    return round_to_step(qty + lot * _STEP_TOLERANCE, lot, Rounding.DOWN)


def _lot_nearest(qty: float, lot: float) -> float:
    """Quantity left after subtracting fills, without float residue (0.3 − 0.1 − 0.2 is 0, not 5e-17)."""
    return round(qty, 12) if lot <= 0 else round_to_step(qty, lot, Rounding.NEAREST)


def slipped_price(
    side: Side,
    reference: float,
    notional: float,
    slippage_bps: float,
    impact_bps_per_10k: float,
    tick_size: float = 0.0,
) -> float:
    """Taker price without a book: a fixed slippage plus an impact growing with the order's notional."""
    bps = slippage_bps + impact_bps_per_10k * abs(notional) / 10_000
    return _round_against(side, reference * (1 + side.sign * bps / _BPS), tick_size)


def crosses(side: Side, limit_price: float, bid: float, ask: float) -> bool:
    """A buy at or above the ask, or a sell at or below the bid, takes liquidity."""
    return limit_price >= ask if side is Side.BUY else limit_price <= bid


def takes_liquidity(side: Side, limit_price: float, reference: float, book: BookObserved | None) -> bool:
    """`crosses` against the book when there is one, else against the reference price."""
    if book is None:
        return crosses(side, limit_price, reference, reference)
    return crosses(side, limit_price, book.bid, book.ask)


def _within(side: Side, price: float, limit_price: float | None) -> bool:
    if limit_price is None:
        return True
    return price <= limit_price if side is Side.BUY else price >= limit_price


@dataclass(frozen=True, slots=True)
class BookModel:
    """Depth rebuilt around the best bid and ask (see the module docstring)."""

    instrument: Instrument
    levels: int = 5
    spacing_ticks: float = 1.0
    level_size_notional: float | None = None
    when_exhausted: WhenDepthRunsOut = WhenDepthRunsOut.LEAVE_UNFILLED

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError(f"book levels {self.levels!r} must be at least 1")
        if not self.spacing_ticks > 0 or self.instrument.tick_size <= 0:
            raise ValueError(f"{self.instrument.symbol}: level spacing needs a positive tick and spacing")
        if self.level_size_notional is not None and not self.level_size_notional > 0:
            raise ValueError(f"level_size_notional {self.level_size_notional!r} must be positive")

    @property
    def spacing(self) -> float:
        return self.instrument.tick_size * self.spacing_ticks

    def _price(self, side: Side, top: float, level: int) -> float:
        tick = self.instrument.tick_size
        return round_to_step(top + side.sign * level * self.spacing, tick, Rounding.NEAREST)

    def _size(self, level: int, price: float, top_size: float) -> float:
        if level == 0 and top_size > 0:
            return top_size
        if self.level_size_notional is not None:
            return abs(self.instrument.contracts_for_notional(self.level_size_notional, price))
        return top_size

    def walk(
        self,
        side: Side,
        qty: float,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
        limit_price: float | None = None,
    ) -> list[tuple[float, float]]:
        """(quantity, price) per level a taker of `qty` fills, best first; they may sum to less than `qty`."""
        top, top_size = (ask, ask_size) if side is Side.BUY else (bid, bid_size)
        lot = self.instrument.lot_step
        fills: list[tuple[float, float]] = []
        remaining = _lot_nearest(qty, lot)
        for level in range(self.levels):
            price = self._price(side, top, level)
            if price <= 0 or not _within(side, price, limit_price):
                return fills
            take = _lot_down(min(remaining, self._size(level, price, top_size)), lot)
            if take > 0:
                fills.append((take, price))
                remaining = _lot_nearest(remaining - take, lot)
            if remaining <= 0:
                return fills
        beyond = self._price(side, top, self.levels)
        sweeps = self.when_exhausted is WhenDepthRunsOut.SWEEP
        if sweeps and beyond > 0 and _within(side, beyond, limit_price):
            fills.append((remaining, beyond))
        return fills


def taker_fills(
    model: BookModel,
    side: Side,
    qty: float,
    reference: float,
    book: BookObserved | None,
    slippage_bps: float,
    impact_bps_per_10k: float,
    limit_price: float | None = None,
) -> list[tuple[float, float]]:
    """(quantity, price) a taker fills now: across the modelled book, or at the slippage model's price."""
    shown = 0.0 if book is None else (book.ask_size if side is Side.BUY else book.bid_size)
    if book is not None and shown > 0:
        return model.walk(side, qty, book.bid, book.ask, book.bid_size, book.ask_size, limit_price)
    instrument = model.instrument
    notional = instrument.notional(qty, reference)
    price = slipped_price(side, reference, notional, slippage_bps, impact_bps_per_10k, instrument.tick_size)
    if limit_price is not None:
        price = min(price, limit_price) if side is Side.BUY else max(price, limit_price)
    return [(qty, price)]


# ---- resting orders -----------------------------------------------------------------------------


class PostOnlyWouldCross(ValueError):
    """A post-only order priced to take liquidity: the exchange rejects it instead of filling it as taker."""


@dataclass(frozen=True, slots=True)
class RestingOrder:
    client_id: ClientOrderId
    symbol: Symbol
    side: Side
    qty: float  # contracts still to fill, positive
    price: float  # limit price
    lot_step: float = 0.0  # partial maker fills are rounded down to this
    seq: int = 0  # time priority, assigned by RestingOrders.add


@dataclass(frozen=True, slots=True)
class MakerFill:
    client_id: ClientOrderId
    symbol: Symbol
    side: Side
    qty: float
    price: float


class RestingOrders:
    """Resting limit orders of one account, matched in price-time priority against new market states."""

    def __init__(self) -> None:
        self._orders: dict[ClientOrderId, RestingOrder] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self) -> Iterator[RestingOrder]:
        return iter(list(self._orders.values()))

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._orders

    def get(self, client_id: ClientOrderId) -> RestingOrder | None:
        return self._orders.get(client_id)

    def add(
        self, order: RestingOrder, post_only: bool = False, bid: float | None = None, ask: float | None = None
    ) -> RestingOrder:
        """Rest `order` (its seq is assigned here); a post-only order that would cross the book is refused."""
        if order.client_id in self._orders:
            raise ValueError(f"order {order.client_id} is already resting")
        if not (order.qty > 0 and order.price > 0):
            raise ValueError(f"order {order.client_id} needs a positive quantity and price")
        if post_only and bid is not None and ask is not None and crosses(order.side, order.price, bid, ask):
            raise PostOnlyWouldCross(f"post-only {order.side} at {order.price} would take ({bid} / {ask})")
        self._seq += 1
        resting = replace(order, seq=self._seq)
        self._orders[order.client_id] = resting
        return resting

    def cancel(self, client_id: ClientOrderId) -> RestingOrder | None:
        return self._orders.pop(client_id, None)

    def cancel_symbol(self, symbol: Symbol) -> list[RestingOrder]:
        gone = self.for_symbol(symbol)
        for order in gone:
            del self._orders[order.client_id]
        return gone

    def for_symbol(self, symbol: Symbol, side: Side | None = None) -> list[RestingOrder]:
        """Orders of `symbol` in priority order: best price first (highest bid, lowest ask), then oldest."""
        chosen = [o for o in self._orders.values() if o.symbol == symbol and (side is None or o.side is side)]
        return sorted(chosen, key=lambda o: (-o.side.sign * o.price, o.seq))

    def match_price(self, symbol: Symbol, price: float) -> list[MakerFill]:
        """A trade at `price` fills in full every order it went strictly through."""
        if not self._orders:
            return []
        through = [o for o in self.for_symbol(symbol) if (price - o.price) * o.side.sign < 0]
        return [self._fill(order, order.qty) for order in through]

    def match_book(
        self,
        symbol: Symbol,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
    ) -> list[MakerFill]:
        """Orders the opposite best price reached fill up to the size shown there (0 = unknown: in full)."""
        fills: list[MakerFill] = []
        if not self._orders:
            return fills
        for side, size in ((Side.BUY, ask_size), (Side.SELL, bid_size)):
            left = size if size > 0 else math.inf
            for order in self.for_symbol(symbol, side):
                if left <= 0 or not crosses(side, order.price, bid, ask):
                    break
                take = order.qty if left >= order.qty else _lot_down(left, order.lot_step)
                if take <= 0:
                    break
                fills.append(self._fill(order, take))
                left -= take
        return fills

    def state(self) -> dict[str, Any]:
        """The resting orders (in priority order) and the priority counter, as plain JSON."""
        orders = sorted(self._orders.values(), key=lambda o: o.seq)
        return {
            "seq": self._seq,
            "orders": [[o.client_id, o.symbol, o.side.value, o.qty, o.price, o.lot_step, o.seq] for o in orders],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Put back what `state()` returned: the same orders, with the same time priority."""
        self._seq = int(state["seq"])
        self._orders = {
            ClientOrderId(cid): RestingOrder(ClientOrderId(cid), Symbol(sym), Side(side), qty, price, lot, seq)
            for cid, sym, side, qty, price, lot, seq in state["orders"]
        }

    def _fill(self, order: RestingOrder, qty: float) -> MakerFill:
        remaining = _lot_nearest(order.qty - qty, order.lot_step)
        if remaining <= 0:
            del self._orders[order.client_id]
        else:
            self._orders[order.client_id] = replace(order, qty=remaining)
        return MakerFill(order.client_id, order.symbol, order.side, qty, order.price)
