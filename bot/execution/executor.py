"""The executor: parents become clips, clips pass the limits and become order requests. Pure.

One parent per contract; a new target replaces it (re-planning the remainder, cancelling the in-flight clips
the new target makes wrong) instead of stacking a second. One working clip per contract at a time: the next
waits for the outcome of the last. How one parent is driven, clip by clip, is told in `bot.execution.clips`;
what each parent's execution cost is recorded in a `QualityLedger` and handed out (`ParentClosed`) once the
parent has ended and none of its orders is open any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from bot.config import Config, RiskSection
from bot.domain import (
    BookObserved,
    ClientOrderId,
    DecisionId,
    Fill,
    Instrument,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    Side,
    Symbol,
    parse_duration_ms,
)
from bot.execution.actions import CancelOrder, ClipHeld, ExecutionAction, ParentClosed, PlaceOrder
from bot.execution.clips import (
    ClipPolicy,
    Parent,
    ParentStatus,
    escalation_due,
    order_terms,
    plan_clip,
    slippage_hold,
    stale_clips,
)
from bot.execution.ids import client_order_id, decision_of
from bot.execution.order_states import OrderTracker, TrackedOrder
from bot.execution.quality import QualityLedger, open_quality
from bot.risk.limits import Limits, OrderRateWindow, PreTradeState, check_clip
from bot.risk.state import Governor

_EPS = 1e-12


class TradingView(Protocol):
    """What the executor reads of the engine's state (it never writes it)."""

    @property
    def instruments(self) -> Mapping[Symbol, Instrument]: ...
    @property
    def prices(self) -> Mapping[Symbol, float]: ...
    @property
    def price_ts(self) -> Mapping[Symbol, int]: ...
    @property
    def books(self) -> Mapping[Symbol, BookObserved]: ...
    @property
    def positions(self) -> Mapping[Symbol, float]: ...
    @property
    def equity(self) -> float | None: ...
    @property
    def governor(self) -> Governor: ...
    def venue_of(self, symbol: Symbol) -> str:
        """The venue that trades `symbol`: "" with one venue."""
        ...

    def venue_equity(self, venue: str) -> float | None:
        """That venue's own equity (legs on several venues: each is leveraged on its own account)."""
        ...


@dataclass(slots=True)
class ExecutionStats:
    clips: int = 0
    rejected: int = 0
    repriced: int = 0  # post-only clips refused because their price would have taken liquidity
    held: int = 0
    escalations: int = 0
    parents_closed: int = 0


@dataclass(frozen=True, slots=True)
class Clipped:
    """A clip as the limits let it go out: the request, or (request None) why it was held."""

    request: OrderRequest | None
    held: ClipHeld | None


def limits_from(risk: RiskSection) -> Limits:
    return Limits(
        max_leverage=risk.max_leverage,
        max_instrument_leverage=risk.max_instrument_leverage or risk.max_leverage,
        max_position_notional=risk.max_position_notional,
        max_order_notional=risk.max_order_notional,
        max_orders_per_minute=risk.max_orders_per_minute,
        price_band_bps=risk.price_band_bps,
        max_price_age_ms=parse_duration_ms(risk.max_price_age),
    )


class Executor:
    def __init__(self, config: Config, view: TradingView) -> None:
        self.view = view
        self.orders = OrderTracker()  # our orders whose fate is not final yet
        self.parents: dict[Symbol, Parent] = {}
        self.quality = QualityLedger(config.portfolio.quote)
        self.order_rate = OrderRateWindow()  # when our orders went out: the order-rate limit counts them
        self.stats = ExecutionStats()
        self._cancelling: set[ClientOrderId] = set()
        # since when each open order of ours has rested, as far as this engine knows (sent, or found open at a
        # restart): a resting clip escalates by its own age, whichever parent now drives its contract
        self._resting_since: dict[ClientOrderId, int] = {}
        # final orders (a create answered "filled") whose fills have not all arrived: until they do, what they
        # filled is in flight, or a decision in between would trade it again
        self._awaiting_fills: dict[ClientOrderId, TrackedOrder] = {}
        self._ended: set[tuple[DecisionId, Symbol]] = set()  # quality records to close once their orders end
        self.configure(config)

    def configure(self, config: Config) -> None:
        self.policy = ClipPolicy.from_config(config.execution)
        self.limits = limits_from(config.risk)

    # ---- orders in flight -------------------------------------------------------------------------

    def open_on(self, symbol: Symbol) -> list[TrackedOrder]:
        return [order for order in self.orders.open_orders() if order.request.symbol == symbol]

    def inflight_qty(self, symbol: Symbol) -> float:
        """Signed contracts still to come: what open orders may fill, and fills a final order has yet to report."""
        unfilled = sum(
            o.request.side.sign * (o.reported_qty - o.fills_qty)
            for o in self._awaiting_fills.values()
            if o.request.symbol == symbol
        )
        return sum(order.remaining for order in self.open_on(symbol)) + unfilled

    def planned_position(self, symbol: Symbol) -> float:
        """The position with every order in flight counted as filled."""
        return self.view.positions.get(symbol, 0.0) + self.inflight_qty(symbol)

    def inflight_symbols(self) -> list[Symbol]:
        """Contracts with something in flight: an open order, or a final one whose fills have not all arrived
        (a create answered "filled" while the user stream is slow or down)."""
        orders = [*self.orders.open_orders(), *self._awaiting_fills.values()]
        return list(dict.fromkeys(order.request.symbol for order in orders))

    def on_fill(self, fill: Fill) -> None:
        if not self.orders.fill(fill):
            self._fill_arrived_late(fill)
        decision = decision_of(fill.client_id)
        if decision is not None:
            self.quality.fill(decision, fill)

    def on_update(self, update: OrderUpdate) -> None:
        """Apply an order's status report. Raises IllegalTransition for an impossible one."""
        order = self.orders.update(update)
        if order is None:
            return
        if update.status is OrderStatus.REJECTED and update.would_take:
            self.stats.repriced += 1  # the parent goes on: its next clip is priced afresh after the interval
        elif update.status is OrderStatus.REJECTED:
            self.stats.rejected += 1
            self._stop_parent_of(order)
        if update.status.is_final:
            self._cancelling.discard(update.client_id)
            self._resting_since.pop(update.client_id, None)
            if order.reported_qty > order.fills_qty + _EPS:
                self._awaiting_fills[update.client_id] = order
            self.orders.forget_final()

    def _fill_arrived_late(self, fill: Fill) -> None:
        waiting = self._awaiting_fills.get(fill.client_id)
        if waiting is None or fill.trade_id in waiting.trade_ids:
            return
        waiting = replace(
            waiting, fills_qty=waiting.fills_qty + fill.qty, trade_ids=waiting.trade_ids | {fill.trade_id}
        )
        if waiting.fills_qty >= waiting.reported_qty - _EPS:
            del self._awaiting_fills[fill.client_id]
        else:
            self._awaiting_fills[fill.client_id] = waiting

    def positions_adopted(self) -> None:
        """The venue's positions replaced ours (reconciliation): they include every fill, reported or not."""
        self._awaiting_fills.clear()

    def _stop_parent_of(self, order: TrackedOrder) -> None:
        parent = self.parents.get(order.request.symbol)
        if parent is not None and parent.decision_id == order.request.decision_id:
            self._end(parent, ParentStatus.STOPPED)

    # ---- parents ----------------------------------------------------------------------------------

    def start(
        self,
        now: int,
        decision: DecisionId,
        leg: int,
        symbol: Symbol,
        target_qty: float,
        reason: str,
        *,
        protective: bool = False,
    ) -> list[ExecutionAction]:
        """Drive `symbol` to `target_qty` contracts, replacing its parent; cancel the clips the target makes wrong.

        `protective`: the parent is a collateral cut, whose reduce-only clips no trading state blocks."""
        previous = self.parents.get(symbol)
        working = previous is not None and previous.status is ParentStatus.WORKING
        if not working and not self.open_on(symbol) and self._on_target(symbol, target_qty):
            self.parents.pop(symbol, None)  # an ended parent is not what this contract does now
            return []  # nothing to trade: no parent, no execution record
        if previous is not None and working:
            self._end(previous, ParentStatus.STOPPED)
        arrival = self.view.prices[symbol]
        position = self.view.positions.get(symbol, 0.0)
        self.parents[symbol] = Parent(
            decision, leg, symbol, target_qty, reason, now, now, arrival_price=arrival, protective=protective
        )
        self.quality.open(open_quality(decision, symbol, arrival, position, target_qty, now))
        stale = stale_clips(target_qty, position, self.open_on(symbol))
        return self.cancel(stale, symbol, "the new target makes this clip wrong")

    def _on_target(self, symbol: Symbol, target_qty: float) -> bool:
        return abs(target_qty - self.planned_position(symbol)) < self.view.instruments[symbol].lot_step / 2

    def cancel(self, client_ids: tuple[ClientOrderId, ...], symbol: Symbol, reason: str) -> list[ExecutionAction]:
        wanted = [cid for cid in client_ids if cid not in self._cancelling]
        self._cancelling.update(wanted)
        return [CancelOrder(cid, symbol, reason) for cid in wanted]

    def stop_all(self, reason: str) -> list[ExecutionAction]:
        """Stop every working parent and cancel every open order."""
        for parent in list(self.parents.values()):
            if parent.status is ParentStatus.WORKING:
                self._end(parent, ParentStatus.STOPPED)
        by_symbol: dict[Symbol, list[ClientOrderId]] = {}
        for order in self.orders.open_orders():
            by_symbol.setdefault(order.request.symbol, []).append(order.request.client_id)
        return [a for symbol, ids in by_symbol.items() for a in self.cancel(tuple(ids), symbol, reason)]

    def hand_over(self, symbol: Symbol) -> None:
        """Another driver (a roll) takes `symbol` over: its parent ends; a clip in flight finishes on its own."""
        parent = self.parents.get(symbol)
        if parent is not None and parent.status is ParentStatus.WORKING:
            self._end(parent, ParentStatus.STOPPED)

    def _end(self, parent: Parent, status: ParentStatus) -> None:
        self.parents[parent.symbol] = parent.finished(status)
        self._ended.add((parent.decision_id, parent.symbol))

    def working(self) -> list[Parent]:
        return [p for p in self.parents.values() if p.status is ParentStatus.WORKING]

    def closing(self) -> list[Symbol]:
        """Contracts whose parent ended and whose execution record waits for the next work step (or for its
        clips' last outcomes): until then the journal has not heard of the end."""
        return sorted({symbol for _decision, symbol in self._ended})

    def work(self, now: int) -> list[ExecutionAction]:
        """Escalate resting clips that waited too long, send the clips that are due, close ended parents."""
        actions: list[ExecutionAction] = []
        for parent in self.working():
            resting = self.open_on(parent.symbol)
            if resting:  # one working clip per contract: the next waits for this one's outcome
                actions.extend(self._escalate(now, parent, resting))
            elif now >= parent.next_due_ts:
                actions.extend(self._next_clip(now, parent))
        actions.extend(self._close_ended(now))
        return actions

    def _escalate(self, now: int, parent: Parent, resting: list[TrackedOrder]) -> list[ExecutionAction]:
        """Cancel the contract's resting clips that waited too long, so the parent's next clip goes marketable.

        A clip escalates by its own age, whoever sent it: a clip of the parent a new target replaced, or one
        found open at a restart (its age counted from then), would otherwise rest until chance filled it while
        the parent driving the contract waits for it."""
        due = [
            o.request.client_id
            for o in resting
            if o.request.client_id not in self._cancelling
            and escalation_due(
                self.policy, o.request.order_type, self._resting_since.setdefault(o.request.client_id, now), now
            )
        ]
        if not due:
            return []
        self.parents[parent.symbol] = parent.escalating(now)
        self.stats.escalations += 1
        return self.cancel(tuple(due), parent.symbol, "resting too long: escalating")

    def _next_clip(self, now: int, parent: Parent) -> list[ExecutionAction]:
        symbol = parent.symbol
        instrument, mark = self.view.instruments[symbol], self.view.prices[symbol]
        position = self.planned_position(symbol)  # what a clip answered "filled" filled counts before its fills
        remaining = parent.target_qty - position
        hold = slippage_hold(self.policy, Side.of(remaining), parent.arrival_price, mark) if remaining else None
        if hold is not None:
            self.parents[symbol] = parent.waiting(now, self.policy.interval_ms)
            self.stats.held += 1
            return [ClipHeld(now, symbol, (hold,))]
        book = self.view.books.get(symbol)
        book_size = None if book is None else (book.ask_size if remaining > 0 else book.bid_size)
        clip = plan_clip(
            instrument, remaining, position, mark, self.policy.clip_notional,
            book_size=book_size, book_share=self.policy.book_share,
        )  # fmt: skip
        if clip is None:
            self._end(parent, ParentStatus.DONE)
            return []
        client_id = client_order_id(parent.decision_id, parent.leg, parent.next_clip_no)
        clipped = self.clip(
            now, instrument, clip.qty, clip.reduce_only, client_id, parent, parent.escalated, parent.protective
        )
        held: list[ExecutionAction] = [clipped.held] if clipped.held else []
        if clipped.request is None:
            self.parents[symbol] = parent.waiting(now, self.policy.interval_ms)
            return held
        self.parents[symbol] = parent.placed(now, self.policy.interval_ms)
        return [*held, PlaceOrder(clipped.request, parent.reason)]

    def clip(
        self,
        now: int,
        instrument: Instrument,
        qty: float,
        reduce_only: bool,
        client_id: ClientOrderId,
        parent: Parent | None,
        escalated: bool,
        protective: bool = False,
        roll_pair: bool = False,
    ) -> Clipped:
        """Price a clip, pass it through the limits, and (if any of it may go) track it as an order to send.

        The limits see the order as it would go out (its limit price), and positions with every order still
        in flight counted as filled: two contracts' clips cannot pass the leverage cap together.
        """
        symbol = instrument.symbol
        mark = self.view.prices[symbol]
        terms = order_terms(self.policy, instrument, Side.of(qty), mark, escalated)
        exposed = dict.fromkeys([*self.view.positions, *self.inflight_symbols()])
        venue, equity = self.view.venue_of(symbol), self.view.equity
        if venue:  # legs on several venues: leverage on the account the order goes to, its positions only
            exposed = dict.fromkeys(s for s in exposed if self.view.venue_of(s) == venue)
            equity = self.view.venue_equity(venue)
        state = PreTradeState(
            now=now,
            trading=self.view.governor.state,
            positions={s: self.planned_position(s) for s in exposed},
            marks=self.view.prices,
            mark_ts=self.view.price_ts,
            instruments=self.view.instruments,
            equity=equity if equity is not None else 0.0,
            orders_last_minute=self.order_rate.count(now),
        )
        price = mark if terms.price is None else terms.price
        verdict = check_clip(
            instrument, qty, price, state, self.limits, protective=protective and reduce_only, roll_pair=roll_pair
        )
        held = ClipHeld(now, symbol, verdict.notes) if verdict.notes else None
        if held is not None:
            self.stats.held += 1
        if verdict.blocked:
            return Clipped(None, held)
        decision = parent.decision_id if parent is not None else decision_of(client_id) or DecisionId("")
        request = OrderRequest(
            client_id=client_id,
            symbol=symbol,
            side=Side.of(verdict.qty),
            qty=abs(verdict.qty),
            order_type=terms.order_type,
            price=terms.price,
            reduce_only=reduce_only,
            post_only=terms.post_only,
            decision_id=decision,
            clip_no=int(client_id.rsplit("-", 1)[-1]),
        )
        self.orders.add(request)
        self._resting_since[client_id] = now
        self.order_rate.record(now)
        self.stats.clips += 1
        return Clipped(request, held)

    def _close_ended(self, now: int) -> list[ExecutionAction]:
        if not self._ended:
            return []
        busy = {(o.request.decision_id, o.request.symbol) for o in self.orders.open_orders()}
        closed: list[ExecutionAction] = []
        for key in sorted(self._ended - busy):
            self._ended.discard(key)
            parent = self.parents.get(key[1])
            outcome = parent.status.value if parent is not None and parent.decision_id == key[0] else "replaced"
            record = self.quality.close(key[0], key[1], now, outcome)
            if record is not None:
                self.stats.parents_closed += 1
                closed.append(ParentClosed(record))
        return closed
