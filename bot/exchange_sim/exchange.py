"""The simulated exchange's matching and account engine. Pure: no I/O, no clock, no asyncio.

Market events move market time (`on_event`); requests act at the current market time. Book-keeping
(positions, fees, funding, liquidation, delivery) is `SimulatedAccount`'s, with Binance's per-symbol leverage
and brackets (`margin.py`); fills across depth are `BookModel.walk`'s, resting limit orders are
`RestingOrders`' (bot/venues/simulation). This module adds what an exchange adds around them: order records
and ids, time-in-force, reduce-only, client ids unique among open orders, amends, the conditional orders'
triggers (`conditional_orders.py`), the public tape (`public_market.py`), the user-stream events each change
causes, and the schedule of funding and delivery.

After each call, `drain_user_events()` hands over the ORDER_TRADE_UPDATE / ACCOUNT_UPDATE payloads produced,
and `drain_moved()` the contracts whose market data changed (for the market streams).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.domain import ClientOrderId, Fill, MarketEvent, Side, Symbol
from bot.exchange_sim import account_payloads, errors, payloads
from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.conditional_orders import AlgoOrder, ConditionalOrders, algo_update
from bot.exchange_sim.earn import EarnPositions
from bot.exchange_sim.margin import BracketedAccount
from bot.exchange_sim.market import FundingDue, MarketState
from bot.exchange_sim.orders import (
    OrderSpec,
    check_filters,
    check_reduce_only,
    contract_of,
    order_ref,
    parse_new_order,
)
from bot.exchange_sim.public_market import PublicMarket
from bot.exchange_sim.records import SimOrder, SimTrade
from bot.exchange_sim.settings import SimSettings
from bot.exchange_sim.transfers import TransferDesk
from bot.exchange_sim.wallets import Wallets
from bot.venues.simulation.account import LedgerKind
from bot.venues.simulation.book import BookModel, RestingOrder, RestingOrders, crosses

Json = payloads.Json
_FIRST_ORDER_ID = 1_000_001


class SimExchange:
    def __init__(self, settings: SimSettings, start_ms: int) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.bases, settings.quote, settings.quarterlies, start_ms)
        self.market = MarketState(self.catalog, settings, start_ms)
        self.account = BracketedAccount(
            settings.quote, settings.collateral, [c.instrument for c in self.catalog.all()], settings.leverage
        )
        self.resting = RestingOrders()
        self.public = PublicMarket(self.market, settings)
        self.algos = ConditionalOrders(self.catalog)
        self._orders: dict[int, SimOrder] = {}
        self._by_client: dict[str, SimOrder] = {}
        self._trades: list[SimTrade] = []
        self._next_order_id = _FIRST_ORDER_ID
        self._delivered: set[str] = set()
        self._user_events: list[Json] = []
        self._moved: dict[str, Contract] = {}
        self.liquidations = 0
        quote = settings.quote
        reserves = {"MAIN": {quote: settings.spot_reserve}, "FUNDING": {quote: settings.funding_reserve}}
        self.wallets = Wallets.funded(reserves)  # the spot and funding wallets of the same account
        self.transfers = TransferDesk(self.wallets)  # universal transfers between them and the futures wallet
        self.earn = EarnPositions()  # Simple Earn positions of the same account (earn.py), read by their endpoints

    @property
    def now_ms(self) -> int:
        return self.market.now_ms

    # ---- market time --------------------------------------------------------------------------------

    def on_event(self, event: MarketEvent) -> None:
        """Apply one market event: settle what fell due before it, move prices, match, liquidate."""
        due = self.market.advance_to(event.ts)
        self._settle_fundings(due)
        self._deliver_due()
        for contract in self.catalog.refresh(self.now_ms):
            self.account.add_instrument(contract.instrument)
        moved, settled_now = self.market.apply(event)
        for contract in moved:
            self._mark(contract)
            self.public.on_move(contract, self.now_ms)
            self._moved[contract.id] = contract
        self._settle_fundings(settled_now)
        for contract in moved:
            self._match_resting(contract)
            if self.algos.open(contract):
                held = self.account.position(contract.symbol).qty
                fired = self.algos.fire(contract, self.now_ms, self.trigger_price, held, self.new_order)
                self._user_events.extend(fired)
        self._liquidate_if_needed()

    def _mark(self, contract: Contract) -> None:
        mark = self.market.mark(contract)
        if mark is not None and contract.id not in self._delivered:
            self.account.mark(contract.symbol, mark)

    def _settle_fundings(self, due: list[FundingDue]) -> None:
        for item in due:
            if item.mark <= 0:
                continue
            if self.account.settle_funding(item.contract.symbol, item.rate, item.mark, item.ts) is not None:
                self._account_update("FUNDING_FEE", [item.contract], item.ts)

    def _deliver_due(self) -> None:
        if self.now_ms < self.catalog.next_delivery_ms:
            return  # the common case: no delivery due
        for contract in self.catalog.due_for_delivery(self.now_ms):
            if contract.id in self._delivered:
                continue
            self._delivered.add(contract.id)
            for resting in self.resting.cancel_symbol(contract.symbol):
                self._finish(self._by_client[resting.client_id], "EXPIRED")
            for algo in self.algos.cancel_symbol(contract, self.now_ms):
                algo.status = "EXPIRED"
                self._user_events.append(algo_update(algo, self.now_ms))
            price = self.market.index(contract) or self.market.mark(contract)
            if price and self.account.expire(contract.symbol, price, contract.delivery_ms) is not None:
                self._account_update("ORDER", [contract], self.now_ms)

    def _liquidate_if_needed(self) -> None:
        # The account's own test, asked first because Binance cancels open orders before it liquidates: an
        # isolated position's orders with it; every cross symbol's orders with the cross positions.
        due = self.account.liquidation_due()
        if not due:
            return
        cross_due = any(self.account.margin_mode(symbol) == "cross" for symbol in due)
        for resting in list(self.resting):
            if resting.symbol in due or (cross_due and self.account.margin_mode(resting.symbol) == "cross"):
                self.resting.cancel(resting.client_id)
                self._finish(self._by_client[resting.client_id], "CANCELED")
        fills = self.account.liquidate_if_needed(self.now_ms)
        recent = self.account.ledger[-3 * len(fills) :]  # a copy, affordable: liquidations are rare
        realized = {e.trade_id: e.amount for e in recent if e.kind is LedgerKind.REALIZED_PNL}
        self.liquidations += 1
        for n, fill in enumerate(fills):
            contract = self._contract(fill.symbol)
            client_id = f"autoclose-{self.now_ms}-{self.liquidations}-{n}"
            spec = OrderSpec(contract, fill.side, "MARKET", "IOC", fill.qty, 0.0, True, client_id)
            order = self._register(spec, orig_type="LIQUIDATION")
            self._record(order, fill, realized.get(fill.trade_id, 0.0), maker=False)
        self._account_update("ORDER", [self._contract(f.symbol) for f in fills], self.now_ms)

    # ---- orders -------------------------------------------------------------------------------------

    def new_order(self, params: Mapping[str, str]) -> SimOrder:
        return self.place(params)[0]

    def place(self, params: Mapping[str, str]) -> tuple[SimOrder, Json]:
        """Place an order; returns it and its ACK answer (the order as accepted, before it executed)."""
        spec = parse_new_order(params, self.catalog)
        self._check_unique(spec.client_id)
        self._check_acceptable(spec)
        order = self._register(spec)
        acknowledged = payloads.order(order)
        self._execute(order, spec)
        return order, acknowledged

    def check_order(self, params: Mapping[str, str]) -> None:
        """Every check an order meets when placed, placing nothing (POST /fapi/v1/order/test)."""
        spec = parse_new_order(params, self.catalog)
        self._check_unique(spec.client_id)
        self._check_acceptable(spec)

    def _check_unique(self, client_id: str | None) -> None:
        # Binance requires a client id to be unique among *open* orders only: the id of a filled, cancelled or
        # expired order may be used again (and then names the new order).
        known = self._by_client.get(client_id) if client_id is not None else None
        if known is not None and known.is_open:
            raise errors.duplicate_client_order_id()

    def _check_acceptable(self, spec: OrderSpec) -> None:
        contract = spec.contract
        if contract.id in self._delivered or contract.delivery_ms <= self.now_ms:
            raise errors.bad_request(-4140, "Invalid symbol status for opening position.")
        top = self.market.top(contract)
        if top is None:
            raise errors.no_price_yet()
        reference = (top.ask if spec.side is Side.BUY else top.bid) if spec.order_type == "MARKET" else spec.price
        check_filters(spec, reference)
        check_reduce_only(spec, self.account.position(contract.symbol).qty)
        if spec.post_only and crosses(spec.side, spec.price, top.bid, top.ask):
            raise errors.post_only_rejected()
        # in the settlement currency (the coin for an inverse contract), as the account and its brackets count
        fee = abs(contract.instrument.settlement_value(spec.qty, reference)) * self.settings.taker_fee_bps / 1e4
        if not self.account.can_open(contract.symbol, spec.signed_qty, reference, self.reserved_margin(), fee):
            raise errors.margin_insufficient()
        held = self.account.position(contract.symbol).qty
        after = abs(contract.instrument.settlement_value(held + spec.signed_qty, reference))
        if abs(held + spec.signed_qty) > abs(held) and after > self.account.max_notional(contract.symbol):
            raise errors.max_position_exceeded()  # the bracket of the leverage set caps the position

    def _register(self, spec: OrderSpec, orig_type: str = "") -> SimOrder:
        order_id = self._next_order_id
        self._next_order_id += 1
        client_id = spec.client_id or f"sim-{order_id}"
        order = SimOrder(
            order_id, client_id, spec.contract, spec.side, spec.order_type, spec.time_in_force, spec.qty,
            spec.price, spec.reduce_only, self.now_ms, orig_type=orig_type,
        )  # fmt: skip
        self._orders[order_id] = order
        self._by_client[client_id] = order
        if not orig_type:
            self._order_update(order, "NEW", None)
        return order

    def _execute(self, order: SimOrder, spec: OrderSpec) -> None:
        contract = spec.contract
        top = self.market.top(contract)
        assert top is not None  # _check_acceptable refused the order otherwise
        is_market = spec.order_type == "MARKET"
        if is_market or crosses(spec.side, spec.price, top.bid, top.ask):
            limit = None if is_market else spec.price
            book = self.book_model(contract)
            levels = book.walk(spec.side, spec.qty, top.bid, top.ask, top.bid_size, top.ask_size, limit)
            if spec.time_in_force == "FOK" and sum(q for q, _ in levels) < spec.qty - 1e-12:
                levels = []
            for fill_qty, price in levels:
                self._fill(order, fill_qty, price, maker=False)
        if order.remaining > 0 and (is_market or spec.time_in_force in ("IOC", "FOK")):
            self._finish(order, "EXPIRED")
        elif order.remaining > 0:
            client_id, lot = ClientOrderId(order.client_id), contract.instrument.lot_step
            self.resting.add(RestingOrder(client_id, contract.symbol, spec.side, order.remaining, spec.price, lot))
        if order.executed_qty:
            self._account_update("ORDER", [contract], self.now_ms)

    def _match_resting(self, contract: Contract) -> None:
        if not self.resting.for_symbol(contract.symbol):
            return
        top = self.market.top(contract)
        if top is None or contract.id in self._delivered:
            return
        filled = False
        for maker in self.resting.match_book(contract.symbol, top.bid, top.ask, top.bid_size, top.ask_size):
            order = self._by_client[maker.client_id]
            qty = maker.qty
            if order.reduce_only:
                qty = min(qty, self._reducible(order))
            if qty > 0:
                self._fill(order, qty, maker.price, maker=True)
                filled = True
            if order.reduce_only and order.is_open and self._reducible(order) <= 0:
                self.resting.cancel(maker.client_id)
                self._finish(order, "EXPIRED")
        if filled:
            self._account_update("ORDER", [contract], self.now_ms)

    def _reducible(self, order: SimOrder) -> float:
        held = self.account.position(order.contract.symbol).qty
        return abs(held) if held * order.side.sign < 0 else 0.0

    def _fill(self, order: SimOrder, qty: float, price: float, *, maker: bool) -> None:
        fee_bps = self.settings.maker_fee_bps if maker else self.settings.taker_fee_bps
        realized_before = self.account.realized_pnl
        fill = self.account.apply_fill(
            self.now_ms,
            ClientOrderId(order.client_id),
            order.contract.symbol,
            order.side,
            qty,
            price,
            fee_bps,
            "maker" if maker else "taker",
        )
        self._record(order, fill, self.account.realized_pnl - realized_before, maker=maker)

    def _record(self, order: SimOrder, fill: Fill, realized: float, *, maker: bool) -> None:
        order.record_fill(fill.qty, fill.price, self.now_ms)
        trade = SimTrade(
            int(fill.trade_id),
            order.order_id,
            order.client_id,
            order.contract,
            order.side,
            fill.price,
            fill.qty,
            fill.fee,
            realized,
            maker,
            self.now_ms,
        )
        self._trades.append(trade)
        self.public.on_fill(order.contract, self.now_ms, fill.price, fill.qty, order.side, maker=maker)
        self._order_update(order, "TRADE", trade)

    def _finish(self, order: SimOrder, status: str) -> None:
        order.status = status
        order.update_ms = self.now_ms
        self._order_update(order, "EXPIRED" if status == "EXPIRED" else "CANCELED", None)

    def cancel_order(self, params: Mapping[str, str]) -> SimOrder:
        order = self._lookup(params, errors.unknown_order_on_cancel)
        if not order.is_open:
            raise errors.unknown_order_on_cancel()
        self.resting.cancel(ClientOrderId(order.client_id))
        self._finish(order, "CANCELED")
        return order

    def cancel_all(self, params: Mapping[str, str]) -> int:
        contract = contract_of(params, self.catalog)
        assert contract is not None
        gone = self.resting.cancel_symbol(contract.symbol)
        for resting in gone:
            self._finish(self._by_client[resting.client_id], "CANCELED")
        return len(gone)

    def amend_order(self, params: Mapping[str, str]) -> SimOrder:
        """Binance's PUT /fapi/v1/order: a resting LIMIT order's price and quantity change in place.

        It keeps its id and loses its queue place; a new price that crosses takes liquidity at once.
        """
        order = self._lookup(params, errors.order_does_not_exist)
        if not order.is_open:
            raise errors.order_does_not_exist()
        spec = parse_new_order({**params, "type": "LIMIT", "timeInForce": order.time_in_force}, self.catalog)
        if spec.side is not order.side:
            raise errors.bad_request(-4025, "Side does not match with origin order.")
        if spec.qty <= order.executed_qty:
            raise errors.bad_request(-4003, "Quantity less than or equal to zero.")
        check_filters(spec, spec.price)
        self.resting.cancel(ClientOrderId(order.client_id))
        order.qty, order.price, order.update_ms = spec.qty, spec.price, self.now_ms
        self._order_update(order, "AMENDMENT", None)
        remaining = OrderSpec(order.contract, order.side, "LIMIT", order.time_in_force, order.remaining,
                              order.price, order.reduce_only, order.client_id)  # fmt: skip
        self._execute(order, remaining)
        return order

    def trigger_price(self, contract: Contract, working_type: str) -> float | None:
        """The price a conditional order watches: the mark, or the contract's last trade (Binance's CONTRACT_PRICE)."""
        last = self.public.tape(contract).last
        if working_type == "CONTRACT_PRICE" and last is not None:
            return last.price
        return self.market.mark(contract)

    def report_algo(self, algo: AlgoOrder) -> None:
        self._user_events.append(algo_update(algo, self.now_ms))

    def account_changed(self, reason: str, contract: Contract) -> None:
        """Report an account change made outside trading (a margin transfer) on the user stream."""
        self._account_update(reason, [contract], self.now_ms)

    def report_balance_change(self, reason: str) -> None:
        """Report a wallet change made by a transfer (reason DEPOSIT / WITHDRAW) on the user stream."""
        self._account_update(reason, [], self.now_ms)

    def query_order(self, params: Mapping[str, str]) -> SimOrder:
        return self._lookup(params, errors.order_does_not_exist)

    def _lookup(self, params: Mapping[str, str], not_found: Callable[[], errors.BinanceError]) -> SimOrder:
        contract = contract_of(params, self.catalog)
        order_id, client_id = order_ref(params)
        order = self._orders.get(order_id) if order_id is not None else self._by_client.get(client_id or "")
        if order is None or order.contract is not contract or (client_id is not None and order.client_id != client_id):
            raise not_found()
        return order

    def orders(self, contract: Contract | None = None, *, open_only: bool = False) -> list[SimOrder]:
        return [
            o for o in self._orders.values()
            if (contract is None or o.contract is contract) and (o.is_open or not open_only)
        ]  # fmt: skip

    def trades(self, contract: Contract | None = None) -> list[SimTrade]:
        return [t for t in self._trades if contract is None or t.contract is contract]

    def reserved_margin(self) -> float:
        """Initial margin held by resting orders that could add to a position."""
        total = 0.0
        for resting in self.resting:
            order = self._by_client[resting.client_id]
            if not order.reduce_only:
                total += self.account.order_margin(order.contract.symbol, resting.qty, resting.price)
        return total

    def set_leverage(self, contract: Contract, leverage: int) -> None:
        """Binance's POST /fapi/v1/leverage: per symbol, within the brackets' maximum and the position's bracket."""
        symbol = contract.symbol
        table = self.account.table(symbol)
        if not 1 <= leverage <= table.max_leverage:
            raise errors.invalid_leverage(leverage)
        if abs(self.account.position_value(symbol)) > table.max_notional(leverage):
            raise errors.max_position_exceeded()
        self.account.set_symbol_leverage(symbol, leverage)

    # ---- plumbing -----------------------------------------------------------------------------------

    def _contract(self, symbol: Symbol) -> Contract:
        contract = self.catalog.by_symbol(symbol)
        if contract is None:
            raise KeyError(f"{symbol} is not listed by the simulator")
        return contract

    def book_model(self, contract: Contract) -> BookModel:
        return self.public.book_model(contract)

    def _order_update(self, order: SimOrder, execution: str, trade: SimTrade | None) -> None:
        self._user_events.append(payloads.order_trade_update(order, execution, trade, self.now_ms))

    def _account_update(self, reason: str, contracts: list[Contract], ts: int) -> None:
        self._user_events.append(account_payloads.account_update(self.account, reason, contracts, ts))

    def drain_user_events(self) -> list[Json]:
        events, self._user_events = self._user_events, []
        return events

    def drain_moved(self) -> list[Contract]:
        moved, self._moved = list(self._moved.values()), {}
        return moved
