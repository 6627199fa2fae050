"""Reconciliation plans adopt what the venue has, abandon what it never saw, apply missed fills once, never send."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    DecisionId,
    Fill,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    Position,
    Side,
    Symbol,
    TradeId,
)
from bot.execution.ids import client_order_id, decision_id
from bot.execution.order_states import OrderTracker
from bot.execution.reconcile_plan import (
    SENT_GRACE_MS,
    ForeignOrders,
    JournalView,
    ReconcilePlan,
    VenueView,
    is_our_client_id,
    known_order_ids,
    plan_reconciliation,
    reconciliation_due,
    sent_grace_ms,
)
from bot.store.journal import JournaledOrder

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
NOW = 1_767_225_600_000
LOTS = {BTC: 0.001, ETH: 0.01}
S = OrderStatus


def cid(n: int) -> ClientOrderId:
    return client_order_id(decision_id(NOW - 3_600_000, 0), 0, n)


def request(n: int, qty: float = 1.0, symbol: Symbol = BTC, side: Side = Side.SELL) -> OrderRequest:
    return OrderRequest(cid(n), symbol, side, qty, decision_id=DecisionId("d"), clip_no=n)


def journaled(req: OrderRequest, status: OrderStatus, filled: float = 0.0, at: int = NOW - 600_000) -> JournaledOrder:
    return JournaledOrder(req, status, filled, 0.0, "", at, at)


def fill(client_id: str, trade: str, qty: float, symbol: Symbol = BTC, side: Side = Side.SELL) -> Fill:
    return Fill(NOW - 60_000, TradeId(trade), ClientOrderId(client_id), symbol, side, qty, 30_000.0, 0.1, "USDT")


def account(**positions: float) -> AccountSnapshot:
    held = tuple(Position(Symbol(f"{base}/USDT:USDT"), qty) for base, qty in positions.items())
    return AccountSnapshot(NOW, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, held)


@dataclass
class World:
    """A journal (orders, fills, adopted positions) and a tracker, changed only by applying plans."""

    orders: dict[ClientOrderId, JournaledOrder] = field(default_factory=dict)
    fills: dict[tuple[Symbol, TradeId], Fill] = field(default_factory=dict)
    adopted: dict[Symbol, float] = field(default_factory=dict)
    tracker: OrderTracker = field(default_factory=OrderTracker)

    def view(self, venue: VenueView, now: int = NOW) -> JournalView:
        open_orders = tuple(o for o in self.orders.values() if o.status.is_open)
        named = known_order_ids(open_orders, venue)
        positions = dict(self.adopted)
        for f in self.fills.values():
            positions[f.symbol] = positions.get(f.symbol, 0.0) + f.signed_qty
        filled: dict[ClientOrderId, float] = {}
        for f in self.fills.values():
            filled[f.client_id] = filled.get(f.client_id, 0.0) + f.qty
        return JournalView(
            now=now,
            open_orders=open_orders,
            known={c: self.orders[c] for c in named if c in self.orders},
            fill_keys=frozenset(self.fills),
            filled_by_order=filled,
            positions=positions,
            lot_steps=LOTS,
        )

    def apply(self, plan: ReconcilePlan) -> None:
        assert plan.verdict.ok, plan.verdict.reason
        for adoption in plan.adopt:
            self.tracker.adopt(adoption.request, adoption.update)
        for update in plan.updates:
            order = self.orders[update.client_id]
            self.orders[update.client_id] = replace(order, status=update.status, filled_qty=update.filled_qty)
            if update.client_id in self.tracker:
                self.tracker.update(update)
        for f in plan.fills:
            assert (f.symbol, f.trade_id) not in self.fills, "a fill applied twice"
            self.fills[(f.symbol, f.trade_id)] = f
        for difference in plan.positions:
            self.adopted[difference.symbol] = self.adopted.get(difference.symbol, 0.0) + difference.delta

    def state(self) -> tuple[object, ...]:
        tracked = sorted((o.request.client_id, o.status, o.filled_qty) for o in self.tracker)
        return dict(self.orders), dict(self.fills), dict(self.adopted), tracked


def venue(
    open_orders: Iterable[OrderUpdate] = (),
    looked_up: dict[ClientOrderId, OrderUpdate | None] | None = None,
    fills: Iterable[Fill] = (),
    snapshot: AccountSnapshot | None = None,
) -> VenueView:
    return VenueView(tuple(open_orders), looked_up or {}, tuple(fills), snapshot or account())


def update(n: int, status: OrderStatus, filled: float = 0.0, symbol: Symbol = BTC) -> OrderUpdate:
    return OrderUpdate(NOW, cid(n), symbol, status, filled)


def plan(
    world: World,
    answers: VenueView,
    foreign: ForeignOrders = ForeignOrders.LEAVE,
    *,
    now: int = NOW,
    sent_grace: int = SENT_GRACE_MS,
) -> ReconcilePlan:
    view = replace(world.view(answers, now), sent_grace_ms=sent_grace)
    return plan_reconciliation(view, answers, foreign)


# ---- orders ---------------------------------------------------------------------------------------------


def test_an_order_whose_acknowledgement_was_lost_is_adopted_at_the_venues_status() -> None:
    world = World({cid(1): journaled(request(1), S.SUBMITTED)})
    result = plan(world, venue([update(1, S.ACCEPTED)]))
    assert result.verdict.ok
    assert [(a.request, a.update.status) for a in result.adopt] == [(request(1), S.ACCEPTED)]
    assert [u.status for u in result.updates] == [S.ACCEPTED]
    assert result.cancel == ()


def test_an_intent_never_sent_is_abandoned_and_not_sent_again() -> None:
    world = World({cid(1): journaled(request(1), S.NEW)})
    result = plan(world, venue(looked_up={cid(1): None}))
    assert result.verdict.ok
    assert [(u.client_id, u.status) for u in result.updates] == [(cid(1), S.CANCELLED)]
    assert "never sent" in result.updates[0].reason
    assert result.adopt == ()


def test_a_sent_order_without_a_trace_is_waited_for_then_declared_lost() -> None:
    young = World({cid(1): journaled(request(1), S.SUBMITTED, at=NOW - SENT_GRACE_MS + 1)})
    waiting = plan(young, venue(looked_up={cid(1): None}))
    assert not waiting.verdict.ok
    assert "no trace of it yet" in waiting.verdict.reason
    old = World({cid(1): journaled(request(1), S.SUBMITTED, at=NOW - SENT_GRACE_MS)})
    lost = plan(old, venue(looked_up={cid(1): None}))
    assert [(u.status, u.reason) for u in lost.updates] == [(S.REJECTED, lost.updates[0].reason)]
    assert "never reached the venue" in lost.updates[0].reason


def test_the_wait_for_a_sent_order_is_its_request_window_plus_a_clock_margin() -> None:
    window_ms = 1_000
    grace = sent_grace_ms(window_ms)
    world = World({cid(1): journaled(request(1), S.SUBMITTED, at=NOW - grace + 1)})
    waiting = plan(world, venue(looked_up={cid(1): None}), sent_grace=grace)
    assert not waiting.verdict.ok
    lost = plan(world, venue(looked_up={cid(1): None}), now=NOW + 1, sent_grace=grace)
    assert [u.status for u in lost.updates] == [S.REJECTED]
    assert grace > window_ms  # a request may reach the venue until its window has passed on the venue's clock


def test_an_in_process_venue_declares_an_order_it_never_saw_lost_even_when_stamped_after_the_clock() -> None:
    # a restarted accelerated paper run's clock may start before the killed run's last order: with no grace (the
    # venue is in this process) an order it does not know never arrived, whatever the two clocks say
    later = World({cid(1): journaled(request(1), S.SUBMITTED, at=NOW + 5_000)})
    lost = plan(later, venue(looked_up={cid(1): None}), sent_grace=0)
    assert lost.verdict.ok, lost.verdict.reason
    assert [u.status for u in lost.updates] == [S.REJECTED]


def test_a_working_order_the_venue_purged_is_expired() -> None:
    world = World({cid(1): journaled(request(1), S.ACCEPTED)})
    result = plan(world, venue(looked_up={cid(1): None}))
    assert [u.status for u in result.updates] == [S.EXPIRED]


def test_an_order_that_filled_while_the_bot_was_down_takes_its_final_status() -> None:
    world = World({cid(1): journaled(request(1), S.ACCEPTED)})
    result = plan(world, venue(looked_up={cid(1): update(1, S.FILLED, 1.0)}, fills=[fill(cid(1), "t1", 1.0)]))
    assert [(u.status, u.filled_qty) for u in result.updates] == [(S.FILLED, 1.0)]
    assert result.adopt == ()
    assert [f.trade_id for f in result.fills] == ["t1"]


def test_a_foreign_open_order_is_cancelled_or_left_as_configured() -> None:
    foreign = OrderUpdate(NOW, ClientOrderId("web_abc123"), BTC, S.ACCEPTED)
    cancelling = plan(World(), venue([foreign]), ForeignOrders.CANCEL)
    leaving = plan(World(), venue([foreign]), ForeignOrders.LEAVE)
    assert (cancelling.cancel, cancelling.left) == ((foreign,), ())
    assert (leaving.cancel, leaving.left) == ((), (foreign,))
    assert cancelling.verdict.ok
    assert leaving.verdict.ok


def test_an_open_order_with_our_id_format_that_the_journal_lacks_fails_reconciliation() -> None:
    result = plan(World(), venue([update(9, S.ACCEPTED)]), ForeignOrders.CANCEL)
    assert not result.verdict.ok
    assert "not in the journal" in result.verdict.reason
    assert result.cancel == ()  # never cancelled as foreign: it may be another hedgebot's


def test_a_final_order_the_venue_says_is_open_fails_reconciliation() -> None:
    world = World({cid(1): journaled(request(1), S.FILLED, 1.0)})
    result = plan(world, venue([update(1, S.ACCEPTED)]))
    assert not result.verdict.ok
    assert "journal says filled, venue says accepted" in result.verdict.reason


def test_an_order_reported_on_another_instrument_fails_reconciliation() -> None:
    world = World({cid(1): journaled(request(1), S.SUBMITTED)})
    result = plan(world, venue([update(1, S.ACCEPTED, symbol=ETH)]))
    assert not result.verdict.ok


def test_fills_adding_up_to_more_than_the_order_fail_reconciliation() -> None:
    world = World({cid(1): journaled(request(1, qty=1.0), S.ACCEPTED)})
    fills = [fill(cid(1), "t1", 0.7), fill(cid(1), "t2", 0.7)]
    result = plan(world, venue([update(1, S.PARTIALLY_FILLED, 0.7)], fills=fills))
    assert not result.verdict.ok
    assert "more than its 1" in result.verdict.reason


# ---- fills and positions --------------------------------------------------------------------------------


def test_a_missed_fill_is_applied_once_even_when_the_venue_reports_it_twice() -> None:
    world = World({cid(1): journaled(request(1), S.FILLED, 1.0)})
    twice = [fill(cid(1), "t1", 0.4), fill(cid(1), "t1", 0.4), fill(cid(1), "t2", 0.6)]
    result = plan(world, venue(fills=twice, snapshot=account(BTC=-1.0)))
    assert [f.trade_id for f in result.fills] == ["t1", "t2"]
    assert result.positions == ()


def test_a_fill_already_journaled_is_not_applied_again() -> None:
    known = fill(cid(1), "t1", 1.0)
    world = World({cid(1): journaled(request(1), S.FILLED, 1.0)}, {(BTC, TradeId("t1")): known})
    result = plan(world, venue(fills=[known], snapshot=account(BTC=-1.0)))
    assert result.fills == ()
    assert result.positions == ()


def test_a_position_opened_outside_the_bot_is_adopted_and_reported() -> None:
    result = plan(World(), venue(snapshot=account(BTC=-0.5, ETH=2.0)))
    assert [(d.symbol, d.journal_qty, d.venue_qty) for d in result.positions] == [(BTC, 0.0, -0.5), (ETH, 0.0, 2.0)]
    assert any("journal 0, venue -0.5" in line for line in result.differences)


def test_a_difference_below_half_a_lot_is_noise_not_a_position() -> None:
    result = plan(World(), venue(snapshot=account(BTC=0.0004)))
    assert result.positions == ()


def test_a_fill_of_an_order_the_bot_did_not_place_is_applied_and_reported_as_foreign() -> None:
    outside = fill("web_1", "t9", 0.2, side=Side.BUY)
    result = plan(World(), venue(fills=[outside], snapshot=account(BTC=0.2)))
    assert result.fills == result.foreign_fills == (outside,)
    assert result.positions == ()


def test_the_schedule_retries_sooner_while_failed_and_never_repeats_with_a_zero_interval() -> None:
    assert reconciliation_due(NOW, None, failed=False, interval_ms=0, retry_ms=0)
    assert not reconciliation_due(NOW + 29_999, NOW, failed=True, interval_ms=300_000, retry_ms=30_000)
    assert reconciliation_due(NOW + 30_000, NOW, failed=True, interval_ms=300_000, retry_ms=30_000)
    assert not reconciliation_due(NOW + 299_999, NOW, failed=False, interval_ms=300_000, retry_ms=30_000)
    assert reconciliation_due(NOW + 300_000, NOW, failed=False, interval_ms=300_000, retry_ms=30_000)
    assert not reconciliation_due(NOW + 10**9, NOW, failed=False, interval_ms=0, retry_ms=30_000)


def test_our_client_ids_are_recognised_and_others_are_not() -> None:
    assert is_our_client_id(cid(3))
    assert not is_our_client_id("web_abc")
    assert not is_our_client_id("sim-17")
    assert not is_our_client_id("hb-")


# ---- invariants -----------------------------------------------------------------------------------------

JOURNAL_STATUSES = [S.NEW, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED]
FATES = ["absent", "open", "filled", "cancelled"]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, VenueView]:
    """A journal and a venue that agree with each other (every fate reachable from the journal's status)."""
    world = World()
    open_at_venue: list[OrderUpdate] = []
    looked_up: dict[ClientOrderId, OrderUpdate | None] = {}
    venue_fills: list[Fill] = []
    for n in range(draw(st.integers(0, 5))):
        symbol = draw(st.sampled_from([BTC, ETH]))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        status = draw(st.sampled_from(JOURNAL_STATUSES))
        fate = draw(st.sampled_from(FATES if status is not S.PARTIALLY_FILLED else FATES[1:]))
        fixed = {"absent": 0, "filled": 4}.get(fate)
        lots = fixed if fixed is not None else draw(st.integers(1 if status is S.PARTIALLY_FILLED else 0, 3))
        fills = [fill(cid(n), f"{n}-{k}", 0.25, symbol, side) for k in range(lots)]
        journaled_fills = draw(st.integers(0, len(fills)))
        for f in fills[:journaled_fills]:
            world.fills[(f.symbol, f.trade_id)] = f
        venue_fills.extend(fills)
        filled = 0.25 * lots
        reported = 0.25 if status is S.PARTIALLY_FILLED else 0.0  # what the venue said before the crash
        world.orders[cid(n)] = journaled(request(n, 1.0, symbol, side), status, reported)
        if fate == "open":
            open_at_venue.append(update(n, S.PARTIALLY_FILLED if lots else S.ACCEPTED, filled, symbol))
        elif fate == "absent":
            looked_up[cid(n)] = None
        else:
            looked_up[cid(n)] = update(n, S.FILLED if fate == "filled" else S.CANCELLED, filled, symbol)
    outside = draw(st.lists(st.sampled_from([-0.5, 0.25, 1.0]), max_size=2))
    for k, qty in enumerate(outside):
        venue_fills.append(fill(f"web_{k}", f"w{k}", abs(qty), BTC, Side.of(qty)))
    if draw(st.booleans()):
        open_at_venue.append(OrderUpdate(NOW, ClientOrderId("web_open"), ETH, S.ACCEPTED))
    held: dict[Symbol, float] = {BTC: draw(st.sampled_from([0.0, 0.5, -2.0]))}  # before the journal began
    for f in venue_fills:
        held[f.symbol] = held.get(f.symbol, 0.0) + f.signed_qty
    snapshot = AccountSnapshot(NOW, "USDT", 1.0, 1.0, 0.0, 0.0, tuple(Position(s, q) for s, q in held.items() if q))
    order = draw(st.permutations(venue_fills))
    return world, VenueView(tuple(open_at_venue), looked_up, tuple(order), snapshot)


@given(worlds(), st.sampled_from(list(ForeignOrders)))
def test_applying_a_plan_twice_changes_nothing_the_second_time(
    setup: tuple[World, VenueView], foreign: ForeignOrders
) -> None:
    world, answers = setup
    first = plan(world, answers, foreign)
    world.apply(first)
    after_first = world.state()
    second = plan(world, answers, foreign)
    world.apply(second)
    assert world.state() == after_first
    assert (second.updates, second.fills, second.positions) == ((), (), ())


@given(worlds())
def test_no_fill_is_applied_twice_and_every_venue_fill_ends_in_the_journal_once(setup: tuple[World, VenueView]) -> None:
    world, answers = setup
    before = set(world.fills)
    result = plan(world, answers)
    keys = [(f.symbol, f.trade_id) for f in result.fills]
    assert len(keys) == len(set(keys))
    assert not before & set(keys)
    world.apply(result)
    assert set(world.fills) == before | {(f.symbol, f.trade_id) for f in answers.fills}


@given(worlds(), st.sampled_from(list(ForeignOrders)))
def test_a_plan_sends_no_order_and_cancels_only_foreign_ones(
    setup: tuple[World, VenueView], foreign: ForeignOrders
) -> None:
    world, answers = setup
    result = plan(world, answers, foreign)
    open_ids = {u.client_id for u in answers.open_orders} | {
        c for c, u in answers.looked_up.items() if u is not None and u.status.is_open
    }
    assert {a.request.client_id for a in result.adopt} <= open_ids & set(world.orders)
    assert all(a.request == world.orders[a.request.client_id].request for a in result.adopt)  # the journaled request
    assert all(not is_our_client_id(u.client_id) for u in (*result.cancel, *result.left))
    assert {f.client_id for f in result.foreign_fills}.isdisjoint(world.orders)


@given(worlds())
def test_after_a_plan_the_journals_positions_equal_the_venues(setup: tuple[World, VenueView]) -> None:
    world, answers = setup
    world.apply(plan(world, answers))
    positions = world.view(answers).positions
    venue_positions = {p.symbol: p.qty for p in answers.account.positions}
    for symbol in {*positions, *venue_positions}:
        assert abs(positions.get(symbol, 0.0) - venue_positions.get(symbol, 0.0)) < 1e-9
