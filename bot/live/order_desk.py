"""The order desk: sends the engine's orders and cancels, and learns the fate of every one. Shell.

Journal before act: an intent is journaled (and marked sent) before its request leaves, so a crash can never send
an order the journal does not know; a client order id journaled already is never sent again. Whatever the venue
answers is applied through the daemon's event path (journal, then engine). An answer that never came, or a
"not found", is resolved by asking for the order by its client id, never by sending it again blind; what cannot
be learned yet holds trading halted until a reconciliation settles it. A create refused for rate limits holds
trading halted for the wait the venue asks (`bot.risk.rate_limit`). The desk talks to the daemon only through
the `EventPath` port (`bot.live.ports`), so it can be driven without one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.domain import ClientOrderId, OrderStatus, OrderUpdate, Symbol
from bot.execution.actions import CancelOrder, PlaceOrder
from bot.execution.venue import Venue
from bot.execution.venue_errors import (
    OrderNotFound,
    RateLimited,
    Retryable,
    UnknownOutcome,
    VenueError,
    WouldTakeLiquidity,
)
from bot.live.ports import EventPath
from bot.report.text import order_line
from bot.risk import rate_limit
from bot.risk.rate_limit import RateLimitBackoff
from bot.risk.state import TradingState
from bot.store.journal import Journal

SettleLater = Callable[[int, str], Awaitable[None]]  # hold trading until a reconciliation learns what happened


class OrderDesk:
    def __init__(self, journal: Journal, venue: Venue, events: EventPath, log: Any, settle_later: SettleLater) -> None:
        self.journal = journal
        self.venue = venue
        self.events = events
        self.log = log
        self.settle_later = settle_later
        self.rate_limit = RateLimitBackoff()
        self._send_prices: dict[str, float] = {}  # the mark when each order left: its fills' slippage reference

    def send_price(self, client_id: str, fallback: float) -> float:
        """The mark when `client_id` was sent (`fallback` for an order sent by an earlier run)."""
        return self._send_prices.get(client_id, fallback)

    async def place(self, now: int, action: PlaceOrder) -> None:
        """Journal the intent, mark it sent, send it, and apply what the venue answers (or learn it)."""
        engine = self.events.running_engine()
        request = action.request
        with self.journal.atomic():  # the intent and its "sent" mark in one commit: one disk flush before the send
            if not self.journal.record_intent(request, now):  # journal before act; a known id is never resent
                # the journal's record of that id stands (the venue may have it): the engine drops this copy unsent
                self.log.error("order_already_journaled", client_id=request.client_id)
                reason = "client order id already used: not sent again"
                rejected = OrderUpdate(now, request.client_id, request.symbol, OrderStatus.REJECTED, reason=reason)
                engine.on_venue(rejected)
                return
            self._send_prices[request.client_id] = engine.prices[request.symbol]
            sent = OrderUpdate(now, request.client_id, request.symbol, OrderStatus.SUBMITTED)
            await self.events.apply_venue_event(sent)
        self.log.info(
            "order_sent",
            client_id=request.client_id,
            instrument=request.symbol,
            side=request.side,
            qty=request.qty,
            type=request.order_type,
            price=request.price,
            reduce_only=request.reduce_only,
        )
        update: OrderUpdate | None
        refused: VenueError | None = None
        try:
            update = await self.venue.create_order(request)
            self.rate_limit.placed()
        except UnknownOutcome as exc:
            self.log.warning("order_outcome_unknown", client_id=request.client_id, error=str(exc))
            update = await self.resolve_unknown(request.client_id, request.symbol, now)
        except VenueError as exc:  # rejected, or refused before it was sent: either way not placed
            reprice = isinstance(exc, WouldTakeLiquidity)  # a post-only price that would have crossed
            update = OrderUpdate(
                now, request.client_id, request.symbol, OrderStatus.REJECTED, reason=str(exc), would_take=reprice
            )
            refused = exc
        if update is not None:
            await self.events.apply_venue_event(update)
        if isinstance(refused, RateLimited):
            await self._back_off(now, refused)
        elif isinstance(refused, Retryable):  # it never left (connection refused): the venue is unreachable
            why = f"the venue cannot be reached ({refused}): order {request.client_id} was not placed"
            await self.settle_later(now, why)
        await self.events.drain()
        if update is not None and update.status.is_final:  # later fills still need their reference price
            self._send_prices.pop(request.client_id, None)
        if update is not None:
            self.events.say(order_line(now, request, update, action.parent_reason))

    async def cancel(self, now: int, action: CancelOrder) -> None:
        self.log.info("order_cancel", client_id=action.client_id, reason=action.reason)
        update: OrderUpdate | None
        try:
            update = await self.venue.cancel_order(action.client_id, action.symbol)
        except UnknownOutcome:
            update = await self.resolve_unknown(action.client_id, action.symbol, now)
        except VenueError as exc:  # already final at the venue, or not there: ask what it is
            self.log.warning("order_cancel_failed", client_id=action.client_id, error=str(exc))
            update = await self.resolve_unknown(action.client_id, action.symbol, now)
        if update is not None:
            await self.events.apply_venue_event(update)
        await self.events.drain()

    async def resolve_unknown(self, client_id: ClientOrderId, symbol: Symbol, now: int) -> OrderUpdate | None:
        """Ask the venue what became of an order; never send it again blind.

        "Not found" means what the order's last known state allows: one the venue had acknowledged was purged
        after it ended (expired; its fills, if any, come as fills); one only sent (a create answered 503 or timed
        out, or cancelled before its answer came) may still reach the venue until its request window closes.
        Until its fate is known such an order stays open (its instrument gets no further clip, its quantity
        counts as in flight) and trading is held halted; the reconciliation that then runs every reconcile_retry
        learns its fate (found, or lost once the window is over) and lifts the hold, without an operator.
        """
        try:
            return await self.venue.fetch_order(client_id, symbol)
        except OrderNotFound as exc:
            known = self.events.running_engine().orders.get(client_id)
            if known is not None and known.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                reason = f"the venue no longer knows this working order (purged after it ended): {exc}"
                return OrderUpdate(now, client_id, symbol, OrderStatus.EXPIRED, known.filled_qty, reason=reason)
            self.log.warning("order_not_seen_yet", client_id=client_id, error=str(exc))
            why = f"order {client_id} outcome unknown: no trace at the venue yet, it may arrive until its window closes"
        except VenueError as exc:
            self.log.error("order_state_unknown", client_id=client_id, error=str(exc))
            self.events.alert("order_state_unknown", str(client_id), f"order {client_id}: state unknown ({exc})")
            why = f"order {client_id} outcome unknown: the venue cannot be asked ({exc})"
        await self.settle_later(now, why)
        return None

    async def _back_off(self, now: int, refusal: RateLimited) -> None:
        """The venue rate-limited a create (after the venue edge's own short waits): no order until the back-off
        is over (`tick` lifts the hold by itself)."""
        self.rate_limit.refused(now, refusal.retry_after_s)
        reason = self.rate_limit.reason(now, str(refusal))
        self.log.warning("rate_limit_backoff", until=self.rate_limit.until_ms, strikes=self.rate_limit.strikes)
        change = self.events.running_engine().governor.hold(rate_limit.SOURCE, TradingState.HALTED, reason, now)
        if change is not None:
            await self.events.execute(now, change)
