"""Value types shared by every part of hedgebot: instruments, market events, orders, fills, positions.

Times are integer milliseconds since the Unix epoch (UTC), as ccxt uses them. Quantities of derivative
instruments are in contracts (signed: + long, − short); prices are in the instrument's quote currency.
Analytics use floats; what is sent to a venue is rounded to the market's steps with `round_to_step`.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any, NewType

Symbol = NewType("Symbol", str)  # a ccxt unified symbol: "ETH/USDT" (spot), "BTC/USDT:USDT" (perp)
ClientOrderId = NewType("ClientOrderId", str)
DecisionId = NewType("DecisionId", str)
TradeId = NewType("TradeId", str)
TimestampMs = int

MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.ASCII)  # "１h" is not a duration
_UNIT_MS = {
    "ms": 1,
    "s": MS_PER_SECOND,
    "m": MS_PER_MINUTE,
    "h": MS_PER_HOUR,
    "d": MS_PER_DAY,
    "w": 7 * MS_PER_DAY,
}


_LONGEST_MS = 100 * 366 * MS_PER_DAY


def parse_duration_ms(text: str) -> int:
    """'30d', '6h', '15m', '30s', '250ms', '1w' → milliseconds; ValueError naming the text otherwise (also for
    one beyond a century, which no setting means and which arithmetic on timestamps could not carry)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like '30s', '15m', '6h', '30d'")
    ms = float(match.group(1)) * _UNIT_MS[match.group(2)]
    if not ms <= _LONGEST_MS:
        raise ValueError(f"{text!r} is longer than a century")
    return int(ms)


def utc_time(ts_ms: int) -> str:
    """1767225700000 → '2026-01-01 00:01:40 UTC': a time in an operator's message, to the second."""
    return datetime.fromtimestamp(ts_ms / MS_PER_SECOND, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def readable_duration(ms: float) -> str:
    """A span in an operator's message: '45s', '12m', '9.5h'."""
    if ms < 2 * MS_PER_MINUTE:
        return f"{ms / MS_PER_SECOND:.0f}s"
    if ms < 2 * MS_PER_HOUR:
        return f"{ms / MS_PER_MINUTE:.0f}m"
    return f"{ms / MS_PER_HOUR:.1f}h"


class BadMarketData(ValueError):
    """A market message that must be dropped (and counted), never acted on."""


class InstrumentKind(enum.StrEnum):
    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"  # dated, expires


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @staticmethod
    def of(signed_qty: float) -> Side:
        return Side.BUY if signed_qty > 0 else Side.SELL


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class Rounding(enum.StrEnum):
    DOWN = "down"
    NEAREST = "nearest"
    UP = "up"


_ROUNDING_MODES = {Rounding.DOWN: ROUND_FLOOR, Rounding.NEAREST: ROUND_HALF_EVEN, Rounding.UP: ROUND_CEILING}


def round_to_step(value: float, step: float, rounding: Rounding = Rounding.DOWN) -> float:
    """Round `value` to a whole number of `step`s, exactly (Decimal), towards zero for DOWN."""
    if step <= 0:
        return value
    d_step = Decimal(repr(step))
    d_value = Decimal(repr(abs(value)))
    steps = (d_value / d_step).to_integral_value(rounding=_ROUNDING_MODES[rounding])
    return math.copysign(float(steps * d_step), value) if steps else 0.0


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable market with the steps and minimums a venue enforces."""

    symbol: Symbol
    base: str
    quote: str
    kind: InstrumentKind
    settle: str = ""  # margin/settlement currency; "" for spot
    inverse: bool = False  # coin-margined: contract_size is a USD face value
    contract_size: float = 1.0  # linear: base units per contract; inverse: quote (USD) per contract
    lot_step: float = 0.001
    tick_size: float = 0.01
    min_qty: float = 0.0
    min_notional: float = 0.0
    expiry_ms: TimestampMs | None = None

    @property
    def is_derivative(self) -> bool:
        return self.kind is not InstrumentKind.SPOT

    def notional(self, qty: float, price: float) -> float:
        """Quote-currency value of `qty` contracts at `price` (signed like qty)."""
        if self.inverse:
            return qty * self.contract_size
        return qty * self.contract_size * price

    def contracts_for_notional(self, notional: float, price: float) -> float:
        """Contracts (unrounded, signed like notional) worth `notional` quote at `price`."""
        if self.inverse:
            return notional / self.contract_size
        return notional / (self.contract_size * price)

    def settlement_value(self, qty: float, price: float) -> float:
        """Signed value of `qty` contracts at `price` in the settlement currency (coin for inverse contracts)."""
        if self.inverse:
            return qty * self.contract_size / price
        return qty * self.contract_size * price

    def pnl(self, qty: float, entry: float, exit_price: float) -> float:
        """P&L of holding `qty` contracts from entry to exit, in the settlement currency."""
        if self.inverse:  # coin-margined: paid in base coin
            return qty * self.contract_size * (1.0 / entry - 1.0 / exit_price)
        return qty * self.contract_size * (exit_price - entry)


@cache  # asked a dozen times per holding every instant (valuing, weighting, the staleness gate): a few pairs
def spot_symbol(base: str, quote: str) -> Symbol:
    return Symbol(f"{base}/{quote}")


def perp_symbol(base: str, quote: str) -> Symbol:
    return Symbol(f"{base}/{quote}:{quote}")


def base_of(symbol: str) -> str:
    return symbol.split("/", 1)[0]


def underlying_spot(symbol: str) -> Symbol:
    """'BTC/USDT:USDT-250328' → 'BTC/USDT': the spot pair a derivative tracks."""
    return Symbol(symbol.split(":", 1)[0])


# ---- market events (past tense: they happened) -------------------------------------------------


def _check_price(symbol: str, price: float) -> None:
    if not (math.isfinite(price) and price > 0):
        raise BadMarketData(f"{symbol}: price {price!r} is not a finite positive number")


@dataclass(frozen=True, slots=True)
class PriceObserved:
    """Last/mark price of a spot pair or derivative at `ts`."""

    ts: TimestampMs
    symbol: Symbol
    price: float
    # traded in the 24 h to `ts`, in the quote currency, when the feed tells it (a ticker; a replay's candles): the
    # liquidity of proxy candidates (bot.hedge.liquidity). Not part of the print's identity.
    quote_volume_24h: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_price(self.symbol, self.price)


@dataclass(frozen=True, slots=True)
class BookObserved:
    """Best bid and ask with their sizes (in contracts or base units)."""

    ts: TimestampMs
    symbol: Symbol
    bid: float
    bid_size: float
    ask: float
    ask_size: float

    def __post_init__(self) -> None:
        _check_price(self.symbol, self.bid)
        _check_price(self.symbol, self.ask)
        if self.ask < self.bid:
            raise BadMarketData(f"{self.symbol}: crossed book bid {self.bid} > ask {self.ask}")
        if not (self.bid_size >= 0 and self.ask_size >= 0):
            raise BadMarketData(f"{self.symbol}: negative book size")

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


@dataclass(frozen=True, slots=True)
class FundingObserved:
    """The funding rate currently accruing on a perpetual, and when it next settles."""

    ts: TimestampMs
    symbol: Symbol
    rate: float  # per settlement; 0.0001 = 0.01 %; shorts receive positive funding
    next_funding_ts: TimestampMs
    interval_hours: float = 8.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.rate) or abs(self.rate) > 0.05:
            raise BadMarketData(f"{self.symbol}: funding rate {self.rate!r} is not plausible")
        if not (math.isfinite(self.interval_hours) and self.interval_hours > 0):
            raise BadMarketData(f"{self.symbol}: funding interval {self.interval_hours!r} is not positive")


MarketEvent = PriceObserved | BookObserved | FundingObserved


# ---- orders, fills, positions -------------------------------------------------------------------


class OrderStatus(enum.StrEnum):
    NEW = "new"  # intent journaled, not yet sent
    SUBMITTED = "submitted"  # request sent, no answer yet
    ACCEPTED = "accepted"  # the venue has it, working
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return not self.is_final


_FINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What we ask a venue to do; quantities and prices already rounded to the market's steps."""

    client_id: ClientOrderId
    symbol: Symbol
    side: Side
    qty: float  # contracts, positive
    order_type: OrderType = OrderType.MARKET
    price: float | None = None  # limit price; None for market
    reduce_only: bool = False
    post_only: bool = False
    decision_id: DecisionId = DecisionId("")
    clip_no: int = 0

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What a venue reports about one of our orders."""

    ts: TimestampMs
    client_id: ClientOrderId
    symbol: Symbol
    status: OrderStatus
    filled_qty: float = 0.0
    avg_price: float = 0.0
    exchange_id: str = ""
    reason: str = ""
    would_take: bool = False  # rejected because a post-only price would have taken liquidity: re-price, go on


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution against one of our orders; `trade_id` is unique per venue and deduplicates."""

    ts: TimestampMs
    trade_id: TradeId
    client_id: ClientOrderId
    symbol: Symbol
    side: Side
    qty: float
    price: float
    fee: float  # in fee_currency, positive = paid
    fee_currency: str
    liquidity: str = "taker"  # taker | maker

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty


@dataclass(frozen=True, slots=True)
class FundingSettled:
    """Funding paid (negative) or received (positive) on a position at a settlement."""

    ts: TimestampMs
    symbol: Symbol
    rate: float
    position_qty: float
    mark_price: float
    amount: float  # settlement currency; + received
    currency: str


@dataclass(frozen=True, slots=True)
class Position:
    symbol: Symbol
    qty: float  # contracts, signed
    entry_price: float = 0.0
    realized_pnl: float = 0.0


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The hedge (derivatives) account as a venue reports it, in its settlement currency."""

    ts: TimestampMs
    currency: str
    wallet_balance: float  # deposits + realised P&L + funding − fees
    equity: float  # wallet + unrealised P&L
    initial_margin: float
    maintenance_margin: float
    positions: tuple[Position, ...] = ()
    # hedge legs on several venues (bot.venues.venue_set): each venue's own account, by venue id, the whole above
    # being their sum. Each venue liquidates on its own account: the collateral ladder reads these, not the sum.
    venues: tuple[tuple[str, AccountSnapshot], ...] = ()

    @property
    def margin_ratio(self) -> float:
        """Equity over maintenance margin; +inf with no positions. Below 1.0 means liquidation."""
        if self.maintenance_margin <= 0:
            return math.inf
        return self.equity / self.maintenance_margin


@dataclass(frozen=True, slots=True)
class LiquidatedPosition:
    """One position a liquidation closed: the quantity held (signed), the mark it closed at, its average entry."""

    symbol: Symbol
    qty: float
    price: float
    entry_price: float

    def as_record(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "qty": self.qty, "price": self.price, "entry_price": self.entry_price}


@dataclass(frozen=True, slots=True)
class Liquidated(AccountSnapshot):
    """The account just after a liquidation: a snapshot (positions, equity after it) that also names what it
    closed and the equity before (the paper venue's simulated account liquidates: bot.venues.simulation.account)."""

    closed: tuple[LiquidatedPosition, ...] = ()
    equity_before: float = 0.0
    realized_pnl: float = 0.0  # what closing them realised (a loss: negative)

    def as_record(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "currency": self.currency,
            "closed": [position.as_record() for position in self.closed],
            "equity_before": self.equity_before,
            "equity_after": self.equity,
            "realized_pnl": self.realized_pnl,
        }


VenueEvent = OrderUpdate | Fill | FundingSettled | AccountSnapshot  # a Liquidated is an AccountSnapshot


# ---- hedge decisions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HedgeTarget:
    """The position we want to hold in one hedge instrument."""

    symbol: Symbol
    qty: float  # contracts, signed (negative = short), already rounded to the lot step
    notional: float  # quote value of qty at the price used
    residual: float = 0.0  # unrounded qty − qty: what lot rounding left unhedged


@dataclass(frozen=True, slots=True)
class Decision:
    """One hedge decision: which trigger fired, the numbers behind it, and the targets chosen."""

    id: DecisionId
    ts: TimestampMs
    trigger: str
    reason: str
    targets: tuple[HedgeTarget, ...]
    numbers: dict[str, float] = field(default_factory=dict)
