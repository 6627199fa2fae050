"""The paper venue: a simulated exchange account that implements `Venue` on the pure core in `simulation/`.

It sees the market only through `on_market(event)`; its clock is the latest event time, never the wall clock,
so a replay and a realtime paper session fill identically. On each event it first settles what fell due by
then (funding, expiries), then applies the event: a `PriceObserved` marks the position and fills resting
limits it traded through, a `BookObserved` becomes the book takers walk (while no newer price has arrived) and
fills resting limits it reached, a `FundingObserved` is the rate settled at its `next_funding_ts` (exactly
once per settlement time; a replay's `next_funding_ts == ts` means "settles now"). Last, an account whose
equity fell below maintenance margin is liquidated at the marks.

Orders fail closed: unknown symbol, no price yet, off-step quantity or price, below minimums, reduce-only
that would add, post-only that would take, not enough margin and reused client ids are refused with
`Rejected` / `InsufficientMargin` before anything happens. Market orders fill at once as taker (walking the
modelled book, or at the slippage model's price without one); marketable limits take up to their price and
rest the remainder; other limits rest and fill later as maker. `create_order` returns the order's state;
fills, later order updates, funding and snapshots after a liquidation or an expiry come out of `drain()`.

A liquidation is an event: the snapshot after it is a `Liquidated` (bot/domain.py) naming the
positions it closed and the equity before; every one of a run is kept in `liquidations`.

Durable: `state()` is the whole simulated account as plain JSON (balances, positions with their entries, open
orders with their time priority, the trade-id and order-id counters, the funding settlements paid) and
`restore(state)` continues from it. With `durable = True` (a realtime or exchange-fed paper run; the assembly
sets it), `durable_state()` hands the state over each time something changed the account (an order, a fill,
funding, an expiry, a liquidation; not a price alone), for the daemon to journal in the same transaction as the
fills and updates that changed it. Only open orders are kept: a restarted venue answers "not found" for one
that ended before, as an exchange purges them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.domain import (
    AccountSnapshot,
    BookObserved,
    ClientOrderId,
    DecisionId,
    Fill,
    FundingObserved,
    Instrument,
    InstrumentKind,
    Liquidated,
    LiquidatedPosition,
    MarketEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
    VenueEvent,
)
from bot.execution.market_rules import (
    FundingSchedule,
    OrderProblem,
    check_order,
    check_reduce_only,
    default_instrument,
    reducible_qty,
)
from bot.execution.transfers import VenueTransfer
from bot.execution.venue_errors import Fatal, InsufficientMargin, OrderNotFound, Rejected, WouldTakeLiquidity
from bot.risk.topup import ReserveWallet, TopUp
from bot.venues.paper_reserve import PaperReserve
from bot.venues.simulation.account import SimulatedAccount, liquidated
from bot.venues.simulation.book import (
    BookModel,
    MakerFill,
    RestingOrder,
    RestingOrders,
    WhenDepthRunsOut,
    taker_fills,
    takes_liquidity,
)
from bot.venues.simulation.bracket_margin import BracketMargin

__all__ = ["PaperSettings", "PaperVenue"]

_BPS = 1e4


@dataclass(frozen=True, slots=True)
class PaperSettings:
    collateral: float = 50_000.0  # starting wallet, in `currency`
    currency: str = "USDT"  # settlement currency: every instrument traded here must settle in it
    leverage: float = 5.0
    taker_fee_bps: float = 4.0
    maker_fee_bps: float = 2.0  # negative: a rebate
    slippage_bps: float = 1.0  # taker slippage when there is no book
    impact_bps_per_10k: float = 0.5  # plus this much per 10,000 of notional
    maintenance_margin_rate: float = 0.005
    book_levels: int = 5  # depth modelled behind the observed best bid and ask
    book_level_notional: float | None = None  # quote value per deeper level; None: the best size again
    sweep_beyond_depth: bool = True  # a market order larger than the modelled depth still fills, one level on
    reserve: float = 0.0  # the spot/funding wallet top-ups draw on ([risk.reserve] amount; paper_reserve.py)


@dataclass(frozen=True, slots=True)
class _Order:
    """The venue's record of one of our orders."""

    request: OrderRequest
    exchange_id: str
    status: OrderStatus
    ts: int
    filled_qty: float = 0.0
    filled_value: float = 0.0  # Σ qty × price, for the average price
    reason: str = ""

    @property
    def remaining(self) -> float:
        return max(round(self.request.qty - self.filled_qty, 12), 0.0)

    def filled(self, qty: float, price: float) -> _Order:
        value = self.filled_value + qty * price
        return replace(self, filled_qty=round(self.filled_qty + qty, 12), filled_value=value)

    def report(self) -> OrderUpdate:
        average = self.filled_value / self.filled_qty if self.filled_qty else 0.0
        cid, symbol, filled = self.request.client_id, self.request.symbol, self.filled_qty
        return OrderUpdate(self.ts, cid, symbol, self.status, filled, average, self.exchange_id, self.reason)


def _refuse(problem: OrderProblem | None) -> None:
    if problem is not None:
        raise Rejected(problem.message, code=str(problem.problem))


class PaperVenue:
    """Simulated fills, margin and funding for paper trading and backtests (see the module docstring)."""

    name = "paper"

    def __init__(self, settings: PaperSettings, instruments: Mapping[Symbol, Instrument] | None = None):
        self.settings = settings
        # maintenance margin and liquidation by Binance's brackets, as the collateral buffer measures them
        self.account: SimulatedAccount = BracketMargin(
            settings.currency, settings.collateral, (), settings.leverage, settings.maintenance_margin_rate
        )
        self._catalogue = dict(instruments or {})
        self._models: dict[Symbol, BookModel] = {}
        self._now = 0
        self._prices: dict[Symbol, PriceObserved] = {}
        self._books: dict[Symbol, BookObserved] = {}
        self._funding = FundingSchedule()
        self._next_expiry: float = math.inf  # no contract expires before this time
        self._orders: dict[ClientOrderId, _Order] = {}
        self._resting = RestingOrders()
        self._fills: list[Fill] = []
        self._outbox: list[VenueEvent] = []
        self._order_seq = 0
        self._funding_paid: dict[Symbol, int] = {}  # the last settlement time paid per perpetual
        self.liquidations: list[Liquidated] = []  # every liquidation of this account, oldest first
        self.reserve = PaperReserve(settings.reserve)
        self.durable = False  # hand the state over after each change (`durable_state`)
        self._changed = False
        # the last margin check found the account above maintenance and nothing that moves the margin ratio (a
        # mark, a fill, funding, a transfer, a restore) happened since: the next check would answer the same
        self._margin_safe = False
        for instrument in self._catalogue.values():
            self._admit(instrument)

    # ---- lifecycle and markets --------------------------------------------------------------------

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def load_instruments(self, symbols: Iterable[Symbol]) -> dict[Symbol, Instrument]:
        """The instruments given to the constructor, else Binance-like defaults; Fatal for a bad symbol."""
        loaded: dict[Symbol, Instrument] = {}
        for symbol in symbols:
            instrument = self.account.instruments.get(symbol) or self._catalogue.get(symbol)
            if instrument is None:
                try:
                    instrument = default_instrument(symbol)
                except ValueError as exc:
                    raise Fatal(str(exc)) from None
            if symbol not in self.account.instruments:
                self._admit(instrument)
            loaded[symbol] = instrument
        return loaded

    def _admit(self, instrument: Instrument) -> None:
        try:
            self.account.add_instrument(instrument)
        except ValueError as exc:
            raise Fatal(f"paper venue: {exc}") from None
        settings = self.settings
        runs_out = WhenDepthRunsOut.SWEEP if settings.sweep_beyond_depth else WhenDepthRunsOut.LEAVE_UNFILLED
        depth, levels = settings.book_level_notional, settings.book_levels
        self._models[instrument.symbol] = BookModel(instrument, levels, 1.0, depth, runs_out)
        self._refresh_next_expiry()

    # ---- market data ------------------------------------------------------------------------------

    def on_market(self, event: MarketEvent) -> None:
        self._now = max(self._now, event.ts)
        self._settle_due(self._now - 1)  # what fell due before this instant, at the marks it had then
        if isinstance(event, PriceObserved):
            self._on_price(event)
        elif isinstance(event, BookObserved):
            self._on_book(event)
        else:
            self._pay_funding(self._funding.observe(event, self._now))
        self._settle_due(self._now)  # what falls due at this very instant, at its prices
        self._liquidate_if_needed()

    def _settle_due(self, until: int) -> None:
        if until >= self._funding.next_due:  # twice per market event: nothing is due before next_due (its own test)
            self._pay_funding(self._funding.due(until))
        if until >= self._next_expiry:
            self._expire_due(until)

    def _tradable(self, symbol: Symbol) -> bool:
        return symbol in self.account.instruments and not self.account.is_expired(symbol)

    def _on_price(self, event: PriceObserved) -> None:
        self._prices[event.symbol] = event
        if self._tradable(event.symbol):
            self.account.mark(event.symbol, event.price)
            self._margin_safe = False
            self._fill_makers(self._resting.match_price(event.symbol, event.price))

    def _on_book(self, event: BookObserved) -> None:
        self._books[event.symbol] = event
        if self._tradable(event.symbol):
            if event.symbol not in self._prices:  # a book-only feed: mark at the mid rather than not at all
                self.account.mark(event.symbol, event.mid)
                self._margin_safe = False
            sizes = event.bid_size, event.ask_size
            self._fill_makers(self._resting.match_book(event.symbol, event.bid, event.ask, *sizes))

    def _fresh_book(self, symbol: Symbol) -> BookObserved | None:
        """The last book, unless a newer price has arrived since (then the book is stale)."""
        book = self._books.get(symbol)
        price = self._prices.get(symbol)
        if book is None or (price is not None and price.ts > book.ts):
            return None
        return book

    def _reference(self, symbol: Symbol) -> float | None:
        book = self._fresh_book(symbol)
        if book is not None:
            return book.mid
        price = self._prices.get(symbol)
        return price.price if price is not None else None

    def _pay_funding(self, settlements: list[FundingObserved]) -> None:
        """Settle each on its perpetual's position at the latest mark (never one paid before a restart)."""
        for observed in settlements:
            symbol = observed.symbol
            if observed.next_funding_ts <= self._funding_paid.get(symbol, -1):
                continue
            self._funding_paid[symbol] = observed.next_funding_ts
            instrument, mark = self.account.instruments.get(symbol), self.account.mark_price(symbol)
            if instrument is None or instrument.kind is not InstrumentKind.PERPETUAL or mark is None:
                continue
            settled = self.account.settle_funding(symbol, observed.rate, mark, observed.next_funding_ts)
            self._margin_safe = False
            if settled is not None:
                self._outbox.append(settled)

    def _expire_due(self, until: int) -> None:
        """Deliver dated contracts at their last mark, after expiring their resting orders."""
        for symbol, instrument in self.account.instruments.items():
            expiry = instrument.expiry_ms
            if expiry is None or expiry > until or self.account.is_expired(symbol):
                continue
            for order in self._resting.cancel_symbol(symbol):
                self._announce(self._finish(order.client_id, OrderStatus.EXPIRED, "the contract expired"))
            settle_price = self.account.mark_price(symbol) or self.account.position(symbol).entry_price
            fill = self.account.expire(symbol, settle_price, expiry)
            if fill is not None:
                self._record(fill)
                self._outbox.append(self.account.snapshot(self._now))
        self._refresh_next_expiry()

    def _refresh_next_expiry(self) -> None:
        account = self.account
        expiries = [i.expiry_ms for s, i in account.instruments.items() if not account.is_expired(s)]
        self._next_expiry = min((e for e in expiries if e is not None), default=math.inf)

    def _liquidate_if_needed(self) -> None:
        if self._margin_safe:  # checked on every market event, recomputed only after what can move it
            return
        if self.account.margin_ratio >= 1.0:  # +inf when flat
            self._margin_safe = True
            return
        for order in self._resting:  # the exchange cancels open orders before it closes positions
            self._resting.cancel(order.client_id)
            self._announce(self._finish(order.client_id, OrderStatus.CANCELLED, "liquidation"))
        held = {position.symbol: position for position in self.account.positions()}
        equity_before, realized_before = self.account.equity, self.account.realized_pnl
        closed: list[LiquidatedPosition] = []
        for fill in self.account.liquidate_if_needed(self._now):
            self._record(fill)
            position = held[fill.symbol]
            closed.append(LiquidatedPosition(fill.symbol, position.qty, fill.price, position.entry_price))
        snapshot = self.account.snapshot(self._now)
        if closed:
            realized = self.account.realized_pnl - realized_before
            event = liquidated(snapshot, tuple(closed), equity_before, realized)
            self.liquidations.append(event)
            self._outbox.append(event)
        else:
            self._outbox.append(snapshot)

    # ---- orders -----------------------------------------------------------------------------------

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        instrument, reference = self._market_of(request)
        self._check_terms(request, instrument, reference)  # raises Rejected / InsufficientMargin
        self._changed = True
        self._order_seq += 1
        order = _Order(request, f"paper-{self._order_seq}", OrderStatus.ACCEPTED, self._now)
        self._orders[request.client_id] = order
        if request.order_type is OrderType.MARKET:
            order = self._take(order, reference, None)
            exhausted = order.remaining > 0
            status = OrderStatus.EXPIRED if exhausted else OrderStatus.FILLED
            order = replace(order, status=status, reason="book depth exhausted" if exhausted else "")
        else:
            order = self._place_limit(order, instrument, reference)
        self._orders[request.client_id] = order
        return order.report()

    def _place_limit(self, order: _Order, instrument: Instrument, reference: float) -> _Order:
        request = order.request
        assert request.price is not None  # _check_terms refuses a limit order without a price
        if self._would_take(request.symbol, request.side, request.price, reference):
            order = self._take(order, reference, request.price)
        if order.remaining <= 0:
            return replace(order, status=OrderStatus.FILLED)
        lot = instrument.lot_step
        self._resting.add(
            RestingOrder(request.client_id, request.symbol, request.side, order.remaining, request.price, lot)
        )
        status = OrderStatus.PARTIALLY_FILLED if order.filled_qty else OrderStatus.ACCEPTED
        return replace(order, status=status)

    def _would_take(self, symbol: Symbol, side: Side, price: float, reference: float) -> bool:
        return takes_liquidity(side, price, reference, self._fresh_book(symbol))

    def _take(self, order: _Order, reference: float, limit: float | None) -> _Order:
        """Fill what a taker gets now, as taker, across the modelled book or at the slippage model's price."""
        request, settings = order.request, self.settings
        model, book = self._models[request.symbol], self._fresh_book(request.symbol)
        slip, impact = settings.slippage_bps, settings.impact_bps_per_10k
        levels = taker_fills(model, request.side, order.remaining, reference, book, slip, impact, limit)
        for qty, price in levels:
            order = self._fill(order, qty, price, "taker")
        return order

    def _fill_makers(self, makers: list[MakerFill]) -> None:
        for maker in makers:
            order = self._orders[maker.client_id]
            held = self.account.position(maker.symbol).qty
            qty = min(maker.qty, reducible_qty(held, maker.side)) if order.request.reduce_only else maker.qty
            if qty > 0:
                order = self._fill(order, qty, maker.price, "maker")
            if qty < maker.qty:  # a reduce-only order outlived the position it was reducing
                self._resting.cancel(maker.client_id)
                order = replace(order, reason="reduce-only: the position is already closed")
            if order.remaining <= 0:
                status = OrderStatus.FILLED
            elif maker.client_id in self._resting:
                status = OrderStatus.PARTIALLY_FILLED
            else:
                status = OrderStatus.EXPIRED
            order = replace(order, status=status, ts=self._now)
            self._orders[maker.client_id] = order
            self._announce(order)

    def _fill(self, order: _Order, qty: float, price: float, liquidity: str) -> _Order:
        """Book one execution of `order` in the account, report it, and return the order with it counted."""
        r = order.request
        bps = self.settings.maker_fee_bps if liquidity == "maker" else self.settings.taker_fee_bps
        fill = self.account.apply_fill(self._now, r.client_id, r.symbol, r.side, qty, price, bps, liquidity)
        self._record(fill)
        return order.filled(qty, price)

    def _market_of(self, request: OrderRequest) -> tuple[Instrument, float]:
        """The instrument and reference price of a new order, or Rejected when there is none to trade on."""
        symbol = request.symbol
        if request.client_id in self._orders:
            raise Rejected(f"client order id {request.client_id} is already in use", code="duplicate_id")
        instrument = self.account.instruments.get(symbol)
        if instrument is None:
            raise Rejected(f"{symbol} is not a market of this venue", code="unknown_symbol")
        if self.account.is_expired(symbol):
            raise Rejected(f"{symbol} has expired", code="expired")
        reference = self._reference(symbol)
        if reference is None:
            raise Rejected(f"{symbol}: no price yet; the paper venue does not fill blind", code="no_price")
        return instrument, reference

    def _check_terms(self, request: OrderRequest, instrument: Instrument, reference: float) -> None:
        symbol = request.symbol
        is_limit = request.order_type is OrderType.LIMIT
        if is_limit and request.price is None:
            raise Rejected(f"{symbol}: a limit order needs a price", code="invalid_order")
        if request.post_only and not is_limit:
            raise Rejected(f"{symbol}: post-only needs a limit order", code="invalid_order")
        price = request.price if is_limit and request.price is not None else reference
        _refuse(check_order(instrument, request.qty, price, request.reduce_only, limit=is_limit))
        if request.post_only and self._would_take(symbol, request.side, price, reference):
            raise WouldTakeLiquidity(f"{symbol}: post-only {request.side} at {price} would take", code="post_only")
        if request.reduce_only:
            _refuse(check_reduce_only(self.account.position(symbol).qty, request.side, request.qty))
        else:
            self._check_margin(request, instrument, price)

    def _check_margin(self, request: OrderRequest, instrument: Instrument, price: float) -> None:
        fee = abs(instrument.settlement_value(request.qty, price)) * self.settings.taker_fee_bps / _BPS
        reserved = sum(self._order_margin(order) for order in self._resting)
        if not self.account.can_open(request.symbol, request.signed_qty, price, reserved, fee):
            available = self.account.available_balance - reserved
            raise InsufficientMargin(
                f"{request.symbol}: {request.side} {request.qty} needs more margin than the available "
                f"{available:.2f} {self.account.currency}",
                code="insufficient_margin",
            )

    def _order_margin(self, order: RestingOrder) -> float:
        """Initial margin a resting order holds while it could add to a position (reduce-only: none)."""
        if self._orders[order.client_id].request.reduce_only:
            return 0.0
        return self.account.order_margin(order.symbol, order.qty, order.price)

    async def cancel_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        order = self._known(client_id, symbol)
        if order.status.is_final:
            raise Rejected(f"order {client_id} is already {order.status}", code="order_final")
        self._resting.cancel(client_id)
        self._changed = True
        return self._finish(client_id, OrderStatus.CANCELLED, "").report()

    def _finish(self, client_id: ClientOrderId, status: OrderStatus, reason: str) -> _Order:
        order = replace(self._orders[client_id], status=status, ts=self._now, reason=reason)
        self._orders[client_id] = order
        return order

    def _announce(self, order: _Order) -> None:
        """An order change no caller waits for (maker fill, expiry, liquidation) goes out through drain."""
        self._outbox.append(order.report())

    def _known(self, client_id: ClientOrderId, symbol: Symbol) -> _Order:
        order = self._orders.get(client_id)
        if order is None or order.request.symbol != symbol:
            raise OrderNotFound(f"no order {client_id} on {symbol}", code="unknown_order")
        return order

    async def fetch_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        return self._known(client_id, symbol).report()

    async def fetch_open_orders(self) -> list[OrderUpdate]:
        return [order.report() for order in self._orders.values() if order.status.is_open]

    async def fetch_fills(self, since_ms: int) -> list[Fill]:
        return [fill for fill in self._fills if fill.ts >= since_ms]

    async def fetch_account(self) -> AccountSnapshot:
        return self.account.snapshot(self._now)

    def account_now(self) -> AccountSnapshot:
        """The account as it stands (in memory, so without waiting): what `ctl status` shows between reads."""
        return self.account.snapshot(self._now)

    # ---- the reserve: top-ups from the spot/funding wallet (bot.venues.paper_reserve) ------------------------

    async def transfer_in(self, top_up: TopUp) -> VenueTransfer:
        done = self.reserve.transfer_in(top_up, self._now)
        self.account.collateral += top_up.amount  # the deposited base of the wallet balance
        self._changed = True
        self._margin_safe = False
        return done

    async def transfers_in(self, wallet: ReserveWallet) -> list[VenueTransfer]:
        return self.reserve.transfers_in(wallet)

    def _record(self, fill: Fill) -> None:
        self._margin_safe = False  # every fill (taker, maker, delivery, liquidation) passes here
        self._fills.append(fill)
        self._outbox.append(fill)

    def drain(self) -> list[VenueEvent]:
        events, self._outbox = self._outbox, []
        if events:
            self._changed = True
        return events

    # ---- durable state ------------------------------------------------------------------------------

    def durable_state(self) -> dict[str, Any] | None:
        """The state when `durable` and something changed the account since the last call; None otherwise."""
        if not (self.durable and self._changed):
            return None
        self._changed = False
        return self.state()

    def state(self) -> dict[str, Any]:
        """The whole simulated account as plain JSON (see the module docstring)."""
        open_orders = [order for order in self._orders.values() if order.status.is_open]
        return {
            "version": 1,
            "ts": self._now,
            "account": self.account.state(),
            "wallet_balance": self.account.wallet_balance,
            "equity": self.account.equity,
            "order_seq": self._order_seq,
            "orders": [_order_record(order) for order in open_orders],
            "resting": self._resting.state(),
            "funding_paid": dict(sorted(self._funding_paid.items())),
            "reserve": self.reserve.state(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()` of an earlier venue: its account, open orders, ids and funding paid."""
        version = state.get("version")
        if version != 1:
            raise Fatal(f"paper venue: cannot restore a paper account state of version {version!r}")
        account = state["account"]
        for symbol, *_ in account["positions"]:  # a position's instrument is known before anything values it
            if Symbol(symbol) not in self.account.instruments:
                self._admit(self._catalogue.get(Symbol(symbol)) or default_instrument(Symbol(symbol)))
        self.account.restore_state(account)
        self._margin_safe = False
        self._now = max(self._now, int(state["ts"]))
        self._order_seq = int(state["order_seq"])
        self._orders = {order.request.client_id: order for order in map(_order_from_record, state["orders"])}
        self._resting.restore(state["resting"])
        self._funding_paid = {Symbol(symbol): int(ts) for symbol, ts in state["funding_paid"].items()}
        self.reserve.restore(state.get("reserve"))
        self._refresh_next_expiry()


def _order_record(order: _Order) -> dict[str, Any]:
    r = order.request
    return {
        "client_id": r.client_id,
        "symbol": r.symbol,
        "side": r.side.value,
        "qty": r.qty,
        "order_type": r.order_type.value,
        "price": r.price,
        "reduce_only": r.reduce_only,
        "post_only": r.post_only,
        "decision_id": r.decision_id,
        "clip_no": r.clip_no,
        "exchange_id": order.exchange_id,
        "status": order.status.value,
        "ts": order.ts,
        "filled_qty": order.filled_qty,
        "filled_value": order.filled_value,
        "reason": order.reason,
    }


def _order_from_record(record: Mapping[str, Any]) -> _Order:
    request = OrderRequest(
        ClientOrderId(record["client_id"]),
        Symbol(record["symbol"]),
        Side(record["side"]),
        float(record["qty"]),
        OrderType(record["order_type"]),
        None if record["price"] is None else float(record["price"]),
        reduce_only=bool(record["reduce_only"]),
        post_only=bool(record["post_only"]),
        decision_id=DecisionId(record["decision_id"]),
        clip_no=int(record["clip_no"]),
    )
    status = OrderStatus(record["status"])
    filled, value = float(record["filled_qty"]), float(record["filled_value"])
    return _Order(request, str(record["exchange_id"]), status, int(record["ts"]), filled, value, str(record["reason"]))
