"""The live venue: one class over any ccxt exchange with futures (binanceusdm first; bybit and okx map too).

    venue = await open_ccxt_venue(config)     # keys from HEDGEBOT_API_KEY / HEDGEBOT_API_SECRET (or 0600 files)
    await venue.start()                       # margin mode and leverage per symbol, then the user stream
    update = await venue.create_order(request)
    events = venue.drain()                    # fills, order updates, funding, account snapshots
    await venue.close()

Requests map ccxt's exceptions once (`ccxt_errors`); queries are retried a few times with backoff, creates
and cancels never: a timeout is `UnknownOutcome`, resolved with `fetch_order` by client order id. Orders
are checked against the market's steps and minimums before anything is sent. The user stream
(`ccxt_user_stream`) reports fills, order updates, account snapshots and funding through `drain()`; a Fatal
stream error (a revoked key) is raised by the next `drain()` or `create_order`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bot.clock import Clock, WallClock
from bot.config import Config
from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Fill,
    FundingObserved,
    FundingSettled,
    Instrument,
    InstrumentKind,
    MarketEvent,
    OrderRequest,
    OrderType,
    OrderUpdate,
    Rounding,
    Symbol,
    VenueEvent,
    round_to_step,
)
from bot.execution.legs import contracts_for
from bot.execution.transfers import VenueTransfer
from bot.execution.venue_errors import Fatal, OrderNotFound, Rejected, Retryable, UnknownOutcome
from bot.logs import get_logger
from bot.risk.topup import ReserveWallet, TopUp
from bot.venues import ccxt_transfers
from bot.venues.ccxt_client import CcxtRest, make_client, read_api_keys, read_api_password
from bot.venues.ccxt_dialect import (
    answers_in_full,
    fetch_order_by,
    funding_mark,
    funding_payment,
    leverage_params,
    margin_mode_params,
    order_params,
    trades_page,
)
from bot.venues.ccxt_errors import Backoff, Operation, StreamStats, already_so
from bot.venues.ccxt_parse import (
    MALFORMED,
    Capabilities,
    Payload,
    account_from,
    capabilities_of,
    client_id_of,
    fill_from_trade,
    funding_from_rate,
    funding_settled_from,
    instrument_from_market,
    number,
    order_update_from,
    timestamp,
)
from bot.venues.ccxt_user_stream import OrderMemory, UserStream
from bot.venues.dead_man import DeadManSettings, DeadManSwitch

__all__ = ["CcxtVenue", "CcxtVenueSettings", "open_ccxt_venue", "with_markets_loaded"]

V = TypeVar("V", bound="CcxtVenue")
_FUNDING_MATCH_MS = 60_000  # a funding payment and a rate row are the same settlement within this


@dataclass(frozen=True, slots=True)
class CcxtVenueSettings:
    margin_mode: Literal["cross", "isolated"] = "cross"
    leverage: int = 3
    read_attempts: int = 3  # queries: tries before a Retryable reaches the caller
    backoff: Backoff = field(default_factory=Backoff)  # of query retries and stream reconnects
    fills_page: int = 500  # trades per REST page when catching up
    dead_man: DeadManSettings = field(default_factory=DeadManSettings)  # countdownCancelAll; off by default


async def open_ccxt_venue(config: Config, *, overrides: Mapping[str, Any] | None = None) -> CcxtVenue:
    """The live venue of `config` ([venue] and the hedge instruments) with its markets loaded; `start()` next.

    Raises Fatal when keys are missing, the endpoint is malformed or a hedge instrument is not listed.
    `overrides` are extra ccxt constructor settings (timeouts, rate limiting).
    """
    key, secret = read_api_keys(config.venue)
    password = read_api_password(config.venue)
    client = make_client(config.venue, api_key=key, secret=secret, password=password, overrides=overrides)
    settings = CcxtVenueSettings(margin_mode=config.venue.margin_mode, leverage=config.venue.leverage)
    venue = CcxtVenue(client, contracts_for(config.hedge.instruments, WallClock().now_ms()), settings)
    return await with_markets_loaded(venue)


async def with_markets_loaded(venue: V) -> V:
    """`venue` with the markets of its symbols loaded; closed (and the error raised) when that fails."""
    try:
        await venue.load_instruments(venue.symbols)
    except BaseException:
        await venue.close()
        raise
    return venue


class CcxtVenue:
    """`Venue` over a ccxt.pro client (see the module docstring). Closes the client unless told not to."""

    def __init__(
        self,
        client: Any,
        symbols: Iterable[Symbol],
        settings: CcxtVenueSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        owns_client: bool = True,
    ) -> None:
        self.client = client
        self.name = str(client.id)
        self.capabilities: Capabilities = capabilities_of(client)
        self.settings = settings or CcxtVenueSettings()
        self.symbols = tuple(dict.fromkeys(symbols))
        self.instruments: dict[Symbol, Instrument] = {}
        self.log = get_logger(component="ccxt_venue", exchange=self.name)
        self._clock = clock or WallClock()
        rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._rest = CcxtRest(client, self.settings.backoff, self.settings.read_attempts, rng)
        self._owns_client = owns_client
        self._memory = OrderMemory()
        self._outbox: list[VenueEvent] = []
        self._has_events = asyncio.Event()
        self._drops: dict[str, StreamStats] = {}
        self._user = UserStream(
            client,
            self,
            self._memory,
            self._emit,
            self.capabilities.user_streams,
            self.settings.backoff,
            rng,
            self._clock.now_ms,
        )
        self._user.on_failure = lambda _: self._has_events.set()
        self._user.on_reconnect = self._user_stream_reconnected
        self.on_reconnect: Callable[[str], None] | None = None  # told a user stream's name at each reconnect
        self._started = False
        self.dead_man = DeadManSwitch(client, self.settings.dead_man)  # armed while our orders rest

    def _user_stream_reconnected(self, stream: str) -> None:
        if self.on_reconnect is not None:
            self.on_reconnect(stream)

    @property
    def stats(self) -> dict[str, StreamStats]:
        """Counters per user stream (updates, reconnects, re-syncs) and of dropped messages."""
        return {**self._drops, **self._user.stats}

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        await self.load_instruments(self.symbols)
        for symbol in self.symbols:
            await self._configure(symbol)
        if self.capabilities.user_stream:
            self._user.start()
        self.dead_man.start(lambda: self._memory.working.values())
        self._started = True
        self.log.info("venue_started", symbols=list(self.symbols), user_streams=list(self.capabilities.user_streams))

    async def _configure(self, symbol: Symbol) -> None:
        """Margin mode, then leverage, in the exchange's dialect (`ccxt_dialect`); "already so" is no error."""
        mode, leverage = self.settings.margin_mode, self.settings.leverage
        try:
            if self.capabilities.set_margin_mode:
                params = await self._rest.call(Operation.SETUP, margin_mode_params, self.client, leverage)
                await self._setup(self.client.set_margin_mode, mode, symbol, params)
            if self.capabilities.set_leverage:
                await self._setup(self.client.set_leverage, leverage, symbol, leverage_params(self.name, mode))
        except (Rejected, Fatal) as exc:
            raise Fatal(f"cannot set {mode} margin and leverage {leverage} on {symbol}: {exc}") from exc

    async def _setup(self, method: Any, *args: Any) -> None:
        try:
            await self._rest.call(Operation.SETUP, method, *args)
        except Rejected as exc:
            if not already_so(exc):
                raise

    async def close(self) -> None:
        await self.dead_man.stop()  # stops renewing; a countdown armed runs on (a clean stop disarms first)
        await self._user.stop()
        if self._owns_client:
            await self.client.close()

    async def load_instruments(self, symbols: Iterable[Symbol]) -> dict[Symbol, Instrument]:
        """Steps, minimums and contract sizes from the exchange; Fatal for a symbol it does not list."""
        if self.client.markets is None:
            await self._rest.call(Operation.SETUP, self.client.load_markets)
        loaded: dict[Symbol, Instrument] = {}
        for symbol in symbols:
            market = self.client.markets.get(symbol)
            if market is None:
                raise Fatal(f"{symbol} is not listed on {self.name}")
            try:
                instrument = instrument_from_market(market, self.client.precisionMode)
            except MALFORMED as exc:
                raise Fatal(f"{symbol}: unreadable market definition ({exc})") from None
            if not instrument.is_derivative:
                raise Fatal(f"{symbol} is a spot market; this venue trades perpetual and dated contracts")
            loaded[symbol] = self.instruments[symbol] = instrument
        await self._trade(loaded)
        return loaded

    async def _trade(self, loaded: Mapping[Symbol, Instrument]) -> None:
        """Contracts loaded after the start (the next quarterly of a rolling hedge) join the symbols whose
        orders and trades are queried, with leverage and margin mode set like the others."""
        new = [symbol for symbol in loaded if symbol not in self.symbols]
        if not new:
            return
        self.symbols = (*self.symbols, *new)
        if self._started:
            for symbol in new:
                await self._configure(symbol)

    # ---- orders -------------------------------------------------------------------------------

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        self._raise_failure()
        symbol = request.symbol
        instrument = self.instruments.get(symbol) or (await self.load_instruments([symbol]))[symbol]
        qty, price = _checked(request, instrument)
        params: dict[str, Any] = {
            "clientOrderId": request.client_id,
            **order_params(self.name, self.settings.margin_mode),
        }
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.post_only:
            params["postOnly"] = True
        kind, side = request.order_type.value, request.side.value
        await self.dead_man.before_create(symbol)
        create = self.client.create_order
        answer = await self._rest.call(Operation.CREATE, create, symbol, kind, side, qty, price, params)
        return self._answered(answer, request.client_id, symbol, processed=True)

    async def cancel_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        params = {self.capabilities.client_id_param: client_id}
        answer = await self._rest.call(Operation.CANCEL, self.client.cancel_order, None, symbol, params)
        if not answers_in_full(answer):  # ids only (bybit): ask what the cancel did
            return await self.fetch_order(client_id, symbol)
        return self._answered(answer, client_id, symbol, processed=True)

    async def fetch_order(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate:
        answer = await self._rest.read(
            fetch_order_by, self.client, symbol, self.capabilities.client_id_param, client_id
        )
        return self._answered(answer, client_id, symbol)

    async def fetch_open_orders(self) -> list[OrderUpdate]:
        """Our symbols' open orders (every one, not only those not yet reported)."""
        updates = []
        for symbol in self.symbols:
            for order in await self._rest.read(self.client.fetch_open_orders, symbol):
                update = self._read_order(order)
                if update is not None:
                    self._memory.remember(update)
                    updates.append(update)
        return updates

    async def changed_orders(self) -> list[OrderUpdate]:
        """Open orders, and the final state of orders last seen working: only reports that move one forward."""
        changed, vanished = [], dict(self._memory.working)
        for symbol in self.symbols:
            for order in await self._rest.read(self.client.fetch_open_orders, symbol):
                update = self._read_order(order)
                if update is not None:
                    vanished.pop(update.client_id, None)
                    moved = self._memory.remember(update)
                    if moved is not None:
                        changed.append(moved)
        for client_id, symbol in vanished.items():  # filled, cancelled or expired while we were not listening
            moved = await self._final_state(client_id, symbol)
            if moved is not None:
                changed.append(moved)
        return changed

    async def _final_state(self, client_id: ClientOrderId, symbol: Symbol) -> OrderUpdate | None:
        try:
            id_param = self.capabilities.client_id_param
            answer = await self._rest.read(fetch_order_by, self.client, symbol, id_param, client_id)
        except OrderNotFound:  # purged (Binance drops unfilled cancelled orders after days): stop asking
            self.log.warning("working_order_not_found", client_id=client_id, instrument=symbol)
            self._memory.working.pop(client_id, None)
            return None
        update = self._read_order(answer)
        return self._memory.remember(update) if update is not None else None

    def parse_order(self, order: Payload) -> OrderUpdate | None:
        update = self._read_order(order)
        return self._memory.remember(update) if update is not None else None

    def _read_order(self, order: Payload) -> OrderUpdate | None:
        try:
            client_id = client_id_of(order, self._memory.client_ids)
            return order_update_from(order, self._clock.now_ms(), client_id)
        except MALFORMED as exc:
            self._count_drop("orders", exc)
            return None

    def _answered(
        self, answer: Payload, client_id: ClientOrderId, symbol: Symbol, *, processed: bool = False
    ) -> OrderUpdate:
        """A REST answer about one order, remembered so that the stream does not report it again."""
        try:
            update = order_update_from(answer, self._clock.now_ms(), client_id, symbol)
        except MALFORMED as exc:
            message = f"unreadable answer about order {client_id}: {exc}"
            if processed:  # the request went through; what it did must be asked again
                raise UnknownOutcome(message) from None
            raise Retryable(message) from None
        self._memory.remember(update)
        return update

    # ---- fills, account, funding ------------------------------------------------------------------

    async def fetch_fills(self, since_ms: int) -> list[Fill]:
        fills: list[Fill] = []
        for symbol in self.symbols:
            trades = await self._trades_since(symbol, since_ms)
            unknown = {str(t.get("order")) for t in trades if self._client_id(t) is None}
            if unknown:
                await self._learn_client_ids(symbol, since_ms, unknown)
            fills.extend(fill for trade in trades if (fill := self.parse_fill(trade)) is not None)
        return sorted(fills, key=lambda f: (f.ts, f.trade_id))

    def parse_fill(self, trade: Payload) -> Fill | None:
        try:
            return fill_from_trade(trade, self._memory.client_ids)
        except MALFORMED as exc:
            self._count_drop("fills", exc)
            return None

    def _client_id(self, payload: Payload) -> ClientOrderId | None:
        try:
            return client_id_of(payload, self._memory.client_ids)
        except MALFORMED:
            return None

    async def _trades_since(self, symbol: Symbol, since_ms: int) -> list[Payload]:
        """Every trade of ours in `symbol` since `since_ms`, page by page (pages may share a millisecond)."""
        by_id: dict[str, Payload] = {}
        cursor, page = since_ms, trades_page(self.name, self.settings.fills_page)
        while True:
            batch: list[Payload] = await self._rest.read(self.client.fetch_my_trades, symbol, cursor, page)
            fresh = [t for t in batch if str(t.get("id")) not in by_id]
            by_id.update((str(t.get("id")), t) for t in fresh)
            if len(batch) < page or not fresh:
                return list(by_id.values())
            cursor = max([cursor, *(at for t in batch if (at := _time_of(t)) is not None)])

    async def _learn_client_ids(self, symbol: Symbol, since_ms: int, order_ids: set[str]) -> None:
        """REST trades name the exchange's order id only: learn our client ids from the orders."""
        if self.capabilities.fetch_orders:
            orders: list[Payload] = await self._rest.read(self.client.fetch_orders, symbol, since_ms)
        else:
            orders = [
                await self._rest.read(fetch_order_by, self.client, symbol, "id", oid) for oid in sorted(order_ids)
            ]
        for order in orders:
            update = self._read_order(order)
            if update is not None and update.exchange_id:
                self._memory.learn(update.exchange_id, update.client_id)

    async def fetch_account(self) -> AccountSnapshot:
        balance = await self._rest.read(self.client.fetch_balance)
        positions = await self._rest.read(self.client.fetch_positions)
        currency = next((i.settle for i in self.instruments.values() if i.settle), "USDT")
        try:
            return account_from(balance, positions, currency, self._clock.now_ms())
        except MALFORMED as exc:
            raise Retryable(f"unreadable account answer: {exc}") from None

    # ---- the reserve: top-ups by universal transfer (bot.venues.ccxt_transfers, bot.execution.transfers) -----

    async def transfer_in(self, top_up: TopUp) -> VenueTransfer:
        return await ccxt_transfers.transfer_in(self._rest, self._settle_currency(), top_up, self._clock.now_ms())

    async def transfers_in(self, wallet: ReserveWallet) -> list[VenueTransfer]:
        return await ccxt_transfers.transfers_in(self._rest, self._settle_currency(), wallet)

    def _settle_currency(self) -> str:
        return next((i.settle for i in self.instruments.values() if i.settle), "USDT")

    async def fetch_funding_rates(self) -> list[FundingObserved]:
        """The funding rate accruing now on each of our perpetuals, and when it settles."""
        perpetuals = self._perpetuals()
        if not perpetuals:
            return []
        rates: Mapping[str, Payload] = await self._rest.read(self.client.fetch_funding_rates, perpetuals)
        observed = []
        for rate in rates.values():
            try:
                funding = funding_from_rate(rate, self._clock.now_ms())
            except MALFORMED as exc:
                self._count_drop("funding", exc)
                continue
            if funding is not None:
                observed.append(funding)
        return observed

    async def fetch_funding_settlements(self, since_ms: int) -> list[FundingSettled]:
        """Funding paid or received on our perpetuals since `since_ms`, with the rate and mark of each."""
        settled: list[FundingSettled] = []
        for symbol in self._perpetuals():
            payments: list[Payload] = await self._rest.read(self.client.fetch_funding_history, symbol, since_ms)
            if not payments:
                continue
            rates: list[Payload] = await self._rest.read(self.client.fetch_funding_rate_history, symbol, since_ms)
            for payment in payments:
                try:
                    settled.append(self._settlement(funding_payment(self.name, payment), rates))
                except MALFORMED as exc:
                    self._count_drop("funding", exc)
        return sorted(settled, key=lambda f: (f.ts, f.symbol))

    def _settlement(self, payment: Payload, rates: list[Payload]) -> FundingSettled:
        paid_at = timestamp(payment)
        timed = [(abs(at - paid_at), row) for row in rates if (at := _time_of(row)) is not None]
        distance, row = min(timed, key=lambda pair: pair[0], default=(None, None))
        rate = mark = 0.0  # unknown: the payment itself is still worth recording
        if row is not None and distance is not None and distance <= _FUNDING_MATCH_MS:
            rate = number(row, "fundingRate", signed=True)
            info = row.get("info")
            if isinstance(info, Mapping) and info.get("markPrice") is not None:  # Binance's rows carry the mark
                mark = number(info, "markPrice", positive=True)
        mark = mark or funding_mark(payment)  # Bybit's rate rows carry no mark; its payment does
        instrument = self.instruments[Symbol(str(payment.get("symbol")))]
        return funding_settled_from(payment, rate, mark, instrument, str(payment.get("code") or instrument.settle))

    def _perpetuals(self) -> list[Symbol]:
        return [s for s, i in self.instruments.items() if i.kind is InstrumentKind.PERPETUAL and s in self.symbols]

    # ---- events -------------------------------------------------------------------------------

    def on_market(self, event: MarketEvent) -> None:
        """The exchange marks and matches on its own data."""

    def drain(self) -> list[VenueEvent]:
        """What the user stream reported since the last call; raises the Fatal error that ended a stream."""
        self._raise_failure()
        events, self._outbox = self._outbox, []
        self._has_events.clear()
        return events

    async def wait_for_events(self) -> None:
        """Return once `drain()` has something to hand over (or will raise): the daemon can sleep on this."""
        await self._has_events.wait()

    async def wait_user_stream_live(self) -> None:
        """Return once every user stream is connected and re-synced: from then on no fill can go unseen."""
        await self._user.wait_live()

    def user_stream_down(self) -> tuple[int, str] | None:
        """While some user stream is not live (not connected, or not re-synced since it reconnected): since when
        (the venue's clock) and its last error; None while every one is live or the exchange has none."""
        since = self._user.down_since
        return None if since is None else (since, self._user.last_error)

    def _emit(self, event: VenueEvent) -> None:
        self._outbox.append(event)
        self._has_events.set()

    def _raise_failure(self) -> None:
        if self._user.failure is not None:
            raise self._user.failure

    def _count_drop(self, stream: str, exc: Exception) -> None:
        self._drops.setdefault(f"{stream}_payloads", StreamStats()).dropped += 1
        self.log.warning("venue_message_dropped", stream=stream, error=str(exc))


def _time_of(payload: Payload) -> int | None:
    try:
        return timestamp(payload)
    except MALFORMED:
        return None


def _on_step(value: float, step: float) -> float | None:
    """`value` as an exact multiple of `step` when it is one (to float noise), else None."""
    snapped = round_to_step(value, step, Rounding.NEAREST)
    return snapped if abs(snapped - value) <= 1e-9 * max(1.0, abs(value)) else None


def _checked(request: OrderRequest, instrument: Instrument) -> tuple[float, float | None]:
    """The quantity and (limit) price to send, exactly on the market's steps; Rejected before anything is sent
    for what the exchange would refuse: off-step sizes or prices, less than the minimum quantity."""
    problems = []
    qty = _on_step(request.qty, instrument.lot_step) if request.qty > 0 else None
    if qty is None:
        problems.append(f"quantity {request.qty} is not a positive multiple of the lot step {instrument.lot_step}")
    elif qty < instrument.min_qty:
        problems.append(f"quantity {request.qty} is below the minimum {instrument.min_qty}")
    price = None
    if request.order_type is OrderType.LIMIT:
        price = _on_step(request.price, instrument.tick_size) if request.price and request.price > 0 else None
        if price is None:
            problems.append(
                f"limit price {request.price} is not a positive multiple of the tick {instrument.tick_size}"
            )
    if problems or qty is None:
        raise Rejected(f"order {request.client_id} on {request.symbol}: " + "; ".join(problems), code="local")
    return qty, price
