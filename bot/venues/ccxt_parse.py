"""ccxt's unified structures (markets, orders, trades, balances, positions, tickers) → domain values. Pure.

Every number is checked before it becomes a value: missing, non-numeric, NaN, infinite, negative where a
size or price must be positive, or implausibly large (beyond 1e12) raises `BadPayload`; the domain types
raise `BadMarketData` on what is left (a crossed book, an absurd funding rate). Callers drop and count both
(`MALFORMED`), so a bad message never reaches the engine.

`Capabilities` reads what an exchange can do from ccxt's `has` table and options, without a network call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import (
    AccountSnapshot,
    BadMarketData,
    BookObserved,
    ClientOrderId,
    Fill,
    FundingObserved,
    FundingSettled,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    Position,
    PriceObserved,
    Rounding,
    Side,
    Symbol,
    TradeId,
    parse_duration_ms,
    round_to_step,
)

Payload = Mapping[str, Any]

MAX_MAGNITUDE = 1e12  # no price, size or balance we trade comes near this; beyond it a message is garbage
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 7_258_118_400_000  # 2000-01-01 .. 2200-01-01
_TICK_SIZE_MODE = 4  # ccxt.TICK_SIZE: precision values are steps (0.001), not decimal places (3)


class BadPayload(BadMarketData):
    """A venue or market payload with a missing or implausible field: dropped and counted, never acted on."""


MALFORMED = (BadPayload, BadMarketData)


# ---- field readers ------------------------------------------------------------------------------


def number(payload: Payload, key: str, *, positive: bool = False, signed: bool = False) -> float:
    """A finite, plausible number at `key`: > 0 with `positive`, any sign with `signed`, else >= 0."""
    value = _to_float(payload.get(key), key)
    if positive and value <= 0:
        raise BadPayload(f"{key}={value!r} is not positive")
    if not signed and value < 0:
        raise BadPayload(f"{key}={value!r} is negative")
    return value


def optional_number(payload: Payload, key: str, *, signed: bool = False) -> float | None:
    return None if payload.get(key) is None else number(payload, key, signed=signed)


def _to_float(raw: object, key: str) -> float:
    if raw is None or isinstance(raw, bool):
        raise BadPayload(f"{key} is missing" if raw is None else f"{key}={raw!r} is not a number")
    try:
        value = float(raw)  # type: ignore[arg-type]  # str, int, float or garbage: garbage raises
    except (TypeError, ValueError, OverflowError):
        raise BadPayload(f"{key}={raw!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise BadPayload(f"{key}={raw!r} is not a plausible number")
    return value


def timestamp(payload: Payload, key: str = "timestamp") -> int:
    raw = payload.get(key)
    if raw is None or isinstance(raw, bool):
        raise BadPayload(f"{key} is missing")
    try:
        value = int(float(raw))  # "1767225600000" and 1.7672256e12 both occur
    except (TypeError, ValueError, OverflowError):
        raise BadPayload(f"{key}={raw!r} is not a time") from None
    if not _EARLIEST_MS <= value <= _LATEST_MS:
        raise BadPayload(f"{key}={raw!r} is not a plausible time in ms")
    return value


def text(payload: Payload, key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise BadPayload(f"{key} is missing")
    return str(value)


def _info(payload: Payload) -> Payload:
    return _mapping(payload.get("info"))


def _mapping(value: object) -> Payload:
    """A nested object of a payload, or {} when it is absent or not an object (its fields then read as missing)."""
    return value if isinstance(value, Mapping) else {}


# ---- markets --------------------------------------------------------------------------------------


def instrument_from_market(market: Payload, precision_mode: int = _TICK_SIZE_MODE) -> Instrument:
    """A ccxt market as an Instrument; BadPayload when a step or the kind cannot be read."""
    kind = {"swap": InstrumentKind.PERPETUAL, "future": InstrumentKind.FUTURE, "spot": InstrumentKind.SPOT}.get(
        str(market.get("type"))
    )
    if kind is None:
        raise BadPayload(f"{market.get('symbol')}: market type {market.get('type')!r} is not traded here")
    precision, limits = _mapping(market.get("precision")), _mapping(market.get("limits"))
    return Instrument(
        symbol=Symbol(text(market, "symbol")),
        base=text(market, "base"),
        quote=text(market, "quote"),
        kind=kind,
        settle=str(market.get("settle") or ""),
        inverse=market.get("inverse") is True,
        contract_size=number(market, "contractSize", positive=True) if market.get("contractSize") else 1.0,
        lot_step=_step(precision, "amount", precision_mode),
        tick_size=_step(precision, "price", precision_mode),
        min_qty=optional_number(_mapping(limits.get("amount")), "min") or 0.0,
        min_notional=optional_number(_mapping(limits.get("cost")), "min") or 0.0,
        expiry_ms=timestamp(market, "expiry") if market.get("expiry") is not None else None,
    )


def _step(precision: Payload, key: str, precision_mode: int) -> float:
    value = number(precision, key, positive=precision_mode == _TICK_SIZE_MODE)
    step = value if precision_mode == _TICK_SIZE_MODE else 10.0 ** -int(value)  # decimal places → a step
    if step <= 0:  # hundreds of decimal places underflow to 0.0: no order could ever be sized on it
        raise BadPayload(f"precision {key}={value!r} gives no usable step")
    return step


# ---- orders and fills ---------------------------------------------------------------------------

_CLIENT_ID_KEYS = ("c", "clientOrderId", "clOrdId", "orderLinkId")  # binance stream, binance REST, okx, bybit


def client_id_of(payload: Payload, by_exchange_id: Mapping[str, ClientOrderId] | None = None) -> ClientOrderId:
    """Our client order id of an order or trade: from the payload, else from the exchange order id we know."""
    for source in (payload, _info(payload)):
        for key in _CLIENT_ID_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value:
                return ClientOrderId(value)
    order_id = payload.get("order") or payload.get("id")
    if by_exchange_id is not None and order_id is not None and str(order_id) in by_exchange_id:
        return by_exchange_id[str(order_id)]
    raise BadPayload("no client order id")


def order_status(ccxt_status: object, filled: float) -> OrderStatus:
    if ccxt_status in (None, "open"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    status = {
        "closed": OrderStatus.FILLED,
        "canceled": OrderStatus.CANCELLED,
        "cancelled": OrderStatus.CANCELLED,
        "expired": OrderStatus.EXPIRED,
        "rejected": OrderStatus.REJECTED,
    }.get(str(ccxt_status))
    if status is None:
        raise BadPayload(f"order status {ccxt_status!r} is unknown")
    return status


def order_update_from(
    order: Payload, now_ms: int, client_id: ClientOrderId | None = None, symbol: Symbol | None = None
) -> OrderUpdate:
    """A ccxt order as an OrderUpdate (`client_id` and `symbol` when the answer need not repeat them)."""
    filled = optional_number(order, "filled") or 0.0
    status = order_status(order.get("status"), filled)
    ts_key = next((k for k in ("lastUpdateTimestamp", "timestamp") if order.get(k) is not None), None)
    reason = str(_info(order).get("status") or "") if status.is_final and status is not OrderStatus.FILLED else ""
    return OrderUpdate(
        ts=timestamp(order, ts_key) if ts_key else now_ms,
        client_id=client_id_of(order) if client_id is None else client_id,
        symbol=symbol or Symbol(text(order, "symbol")),
        status=status,
        filled_qty=filled,
        avg_price=optional_number(order, "average") or 0.0,
        exchange_id=str(order.get("id") or ""),
        reason=reason.lower(),
    )


def fill_from_trade(trade: Payload, by_exchange_id: Mapping[str, ClientOrderId] | None = None) -> Fill:
    side = trade.get("side")
    if side not in ("buy", "sell"):
        raise BadPayload(f"trade side {side!r} is not buy or sell")
    fee = trade.get("fee") or {}
    liquidity = trade.get("takerOrMaker")
    return Fill(
        ts=timestamp(trade),
        trade_id=TradeId(text(trade, "id")),
        client_id=client_id_of(trade, by_exchange_id),
        symbol=Symbol(text(trade, "symbol")),
        side=Side(side),
        qty=number(trade, "amount", positive=True),
        price=number(trade, "price", positive=True),
        fee=(optional_number(fee, "cost", signed=True) or 0.0) if isinstance(fee, Mapping) else 0.0,
        fee_currency=str(fee.get("currency") or "") if isinstance(fee, Mapping) else "",
        liquidity=liquidity if liquidity in ("maker", "taker") else "taker",
    )


# ---- account --------------------------------------------------------------------------------------


def position_from(position: Payload) -> Position | None:
    """A ccxt position as a signed Position; None when flat."""
    contracts = optional_number(position, "contracts") or 0.0
    if contracts == 0:
        return None
    side = position.get("side")
    if side not in ("long", "short"):
        raise BadPayload(f"position side {side!r} is not long or short")
    qty = contracts if side == "long" else -contracts
    return Position(Symbol(text(position, "symbol")), qty, optional_number(position, "entryPrice") or 0.0)


_BINANCE_TOTALS = ("totalWalletBalance", "totalMarginBalance", "totalInitialMargin", "totalMaintMargin")
_COINM_ASSET = ("walletBalance", "marginBalance", "initialMargin", "maintMargin")


def _coinm_asset(info: Payload, currency: str) -> Payload | None:
    """The settlement coin's row of a Binance COIN-M account answer (`assets`), when that is what it is."""
    assets = info.get("assets")
    if not isinstance(assets, list):
        return None
    return next((a for a in assets if isinstance(a, Mapping) and a.get("asset") == currency), None)


def account_from(balance: Payload, positions: Sequence[Payload], currency: str, now_ms: int) -> AccountSnapshot:
    """Balance and positions as one snapshot at `now_ms`: the account totals when the exchange reports them
    (Binance), else the settlement currency's wallet plus the positions' unrealised P&L and margins."""
    held = [p for p in (position_from(raw) for raw in positions) if p is not None]
    info = _info(balance)
    coin_row = _coinm_asset(info, currency)
    if all(info.get(key) is not None for key in _BINANCE_TOTALS):
        wallet, equity, initial, maintenance = (number(info, key, signed=True) for key in _BINANCE_TOTALS)
    elif coin_row is not None:  # Binance COIN-M: no totals, one asset row per coin wallet
        wallet, equity, initial, maintenance = (number(coin_row, key, signed=True) for key in _COINM_ASSET)
    else:
        wallet = number(_mapping(balance.get(currency)), "total", signed=True)
        active = [raw for raw in positions if (optional_number(raw, "contracts") or 0.0) != 0]
        equity = wallet + sum(optional_number(p, "unrealizedPnl", signed=True) or 0.0 for p in active)
        initial = sum(optional_number(p, "initialMargin") or 0.0 for p in active)
        maintenance = sum(optional_number(p, "maintenanceMargin") or 0.0 for p in active)
    # stamped when observed: an exchange's "last updated" time would make a quiet account look stale
    return AccountSnapshot(now_ms, currency, wallet, equity, initial, maintenance, tuple(held))


def funding_settled_from(
    income: Payload, rate: float, mark: float, instrument: Instrument, currency: str
) -> FundingSettled:
    """A funding payment (ccxt funding history row) with the rate and mark it settled at.

    The position it was paid on follows from amount = −qty × contract_size × mark × rate (linear) or
    −qty × contract_size / mark × rate (inverse, in coin); shorts receive positive funding.
    """
    amount = number(income, "amount", signed=True)
    per_contract = instrument.contract_size * rate * (1.0 / mark if instrument.inverse else mark)
    qty = round_to_step(-amount / per_contract, instrument.lot_step, Rounding.NEAREST) if per_contract else 0.0
    return FundingSettled(timestamp(income), Symbol(text(income, "symbol")), rate, qty, mark, amount, currency)


# ---- market data ------------------------------------------------------------------------------


def mark_price_from(ticker: Payload, symbol: Symbol | None = None) -> PriceObserved:
    """The mark price of a mark-price or ticker update (the last price when an exchange sends no mark)."""
    key = "markPrice" if ticker.get("markPrice") is not None else "last"
    return PriceObserved(
        timestamp(ticker),
        symbol or Symbol(text(ticker, "symbol")),
        number(ticker, key, positive=True),
        _day_volume(ticker),
    )


def _day_volume(ticker: Payload) -> float | None:
    """A ticker's 24 h quote volume (proxy candidates' liquidity), None when it has none or an unusable one: a bad
    volume must not cost the mark it came with."""
    try:
        return optional_number(ticker, "quoteVolume")
    except BadPayload:
        return None


def index_price_from(ticker: Payload, spot: Symbol) -> PriceObserved:
    """The index price (a spot composite) of a derivative's update, as the price of its spot pair."""
    return PriceObserved(timestamp(ticker), spot, number(ticker, "indexPrice", positive=True))


_FUNDING_FIELDS = (("r", "T"), ("fundingRate", "nextFundingTime"))  # binance mark stream, bybit ticker


def funding_from_ticker(ticker: Payload, interval_hours: float = 8.0) -> FundingObserved | None:
    """The funding rate and next funding time an update carries in its raw fields; None when it has none
    (a dated contract: Binance sends an empty rate)."""
    info = _info(ticker)
    for rate_key, next_key in _FUNDING_FIELDS:
        if rate_key in info:
            if info[rate_key] in (None, ""):
                return None
            rate = number(info, rate_key, signed=True)
            symbol = Symbol(text(ticker, "symbol"))
            return FundingObserved(timestamp(ticker), symbol, rate, timestamp(info, next_key), interval_hours)
    return None


def funding_from_rate(rate: Payload, now_ms: int) -> FundingObserved | None:
    """A ccxt funding-rate structure; None for a contract without funding (a dated future)."""
    if rate.get("fundingRate") is None:
        return None
    hours = _interval_hours(rate.get("interval"))
    ts = timestamp(rate) if rate.get("timestamp") is not None else now_ms
    next_ts = timestamp(rate, "fundingTimestamp")
    return FundingObserved(ts, Symbol(text(rate, "symbol")), number(rate, "fundingRate", signed=True), next_ts, hours)


def _interval_hours(interval: object) -> float:
    """A funding interval like '8h' in hours (8 when absent); BadPayload when it is not a duration."""
    if not isinstance(interval, str) or not interval:
        return 8.0
    try:
        return parse_duration_ms(interval) / 3_600_000
    except (ValueError, OverflowError):  # not a duration, or too many digits for a float
        raise BadPayload(f"funding interval {interval!r} is not a duration") from None


def book_from(ticker: Payload) -> BookObserved:
    return BookObserved(
        ts=timestamp(ticker),
        symbol=Symbol(text(ticker, "symbol")),
        bid=number(ticker, "bid", positive=True),
        bid_size=number(ticker, "bidVolume"),
        ask=number(ticker, "ask", positive=True),
        ask_size=number(ticker, "askVolume"),
    )


# ---- what an exchange can do ------------------------------------------------------------------

_CLIENT_ID_QUERY_PARAM = {"binanceusdm": "origClientOrderId", "binancecoinm": "origClientOrderId"}
_CLIENT_ID_QUERY_PARAM |= {"bybit": "orderLinkId", "okx": "clOrdId"}


@dataclass(frozen=True, slots=True)
class Capabilities:
    """How hedgebot drives one exchange through ccxt, read from its `has` table (no network)."""

    exchange: str
    derivatives: bool  # lists perpetual or dated contracts
    mark_stream: str  # "watch_mark_prices" | "watch_tickers" | "" (none: REST snapshots only)
    funding_stream: str  # "mark" (in mark updates) | "watch_funding_rate" | "ticker" | ""
    book_stream: bool  # watch_bids_asks
    user_streams: tuple[str, ...]  # of watch_orders, watch_my_trades, watch_balance, watch_positions
    set_leverage: bool
    set_margin_mode: bool
    fetch_orders: bool  # all orders of a symbol (maps trades to our client ids after downtime)
    marks_from_funding_rates: bool  # fetch_funding_rates also answers dated contracts (Binance premiumIndex)
    client_id_param: str  # the request parameter naming our client order id on query and cancel

    @property
    def user_stream(self) -> bool:
        return {"watch_orders", "watch_my_trades"} <= set(self.user_streams)


def capabilities_of(exchange: Any) -> Capabilities:
    has: Mapping[str, Any] = exchange.has
    exchange_id = str(exchange.id)

    def can(name: str) -> bool:
        return bool(has.get(name))  # True or "emulated"

    mark = "watch_mark_prices" if can("watchMarkPrices") else "watch_tickers" if can("watchTickers") else ""
    binance = exchange_id.startswith("binance")
    funding = "mark" if binance and mark == "watch_mark_prices" else ""
    if not funding:
        funding = "watch_funding_rate" if can("watchFundingRate") else "ticker" if mark == "watch_tickers" else ""
    user = ("watchOrders", "watchMyTrades", "watchBalance", "watchPositions")
    return Capabilities(
        exchange=exchange_id,
        derivatives=can("swap") or can("future"),
        mark_stream=mark,
        funding_stream=funding,
        book_stream=can("watchBidsAsks"),
        user_streams=tuple(_snake(name) for name in user if can(name)),
        set_leverage=can("setLeverage"),
        set_margin_mode=can("setMarginMode"),
        fetch_orders=can("fetchOrders"),
        marks_from_funding_rates=binance and can("fetchFundingRates"),
        client_id_param=_CLIENT_ID_QUERY_PARAM.get(exchange_id, "clientOrderId"),
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
