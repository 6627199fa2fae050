"""The daemon: feeds market events into the engine, journals and executes its actions, feeds venue events back.

Live, paper and backtest differ only in the feed, the venue and the clock they are wired to (`bot.live.assembly`).
The engine's `on_time` runs once after all events of one instant (event time), or on a timer (wall time). Each
action and each venue event has one handler, found by its type in a table; the order desk and the reconciler
reach back only through the `EventPath` port the daemon implements (`bot.live.ports`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from bot.clock import Clock
from bot.commands import Actor, Command, CommandError, Flatten, Kill, Pause, Reload, Resume, SetHolding, SetRatio
from bot.config import Config
from bot.core.engine import (
    Action,
    CancelOrder,
    ClipHeld,
    DecisionMade,
    Engine,
    ParentClosed,
    PlaceOrder,
    RiskNotice,
    RollChanged,
)
from bot.core.sanity import Note, PriceConfirmed, PriceQuarantined
from bot.domain import (
    Fill,
    FundingSettled,
    Liquidated,
    MarketEvent,
    OrderStatus,
    OrderUpdate,
    Symbol,
    VenueEvent,
    parse_duration_ms,
    spot_symbol,
    utc_time,
)
from bot.execution.legs import contracts_for
from bot.execution.order_states import IllegalTransition
from bot.execution.reconcile_plan import ReconcilePlan
from bot.execution.roll_plan import RollState
from bot.execution.venue import Venue
from bot.execution.venue_errors import Retryable, VenueError
from bot.live.order_desk import OrderDesk
from bot.live.ports import HumanLine
from bot.live.reconciler import Reconciler, ReconcileSettings
from bot.live.topup_desk import TopUpDesk
from bot.live.valuation import Valuer
from bot.live.venue_reconciler import VenueSetReconciler
from bot.live.venue_status import venues_status
from bot.live.venue_watch import VenueWatch
from bot.logs import get_logger
from bot.money import funding_in_quote
from bot.ops.observer import Observer
from bot.report.accounts_status import AccountView, accounts_status
from bot.report.carry import carry_json, switches_from_rows
from bot.report.coin_account import coin_account_status
from bot.report.run_summary import RunSummary, Totals
from bot.report.status import engine_status
from bot.risk import rate_limit
from bot.risk.limits import breached_limit
from bot.risk.state import StateChanged, TradingState
from bot.risk.topup import TopUp
from bot.store.journal import Journal
from bot.venues.venue_set import VenueSet

USER_STREAM_SOURCE = "user_stream"  # the trading-state hold of a live venue's user stream being down
USER_STREAM_GRACE_MS = 15_000  # a reconnect (a dropped socket, a new listen key) takes far less; longer is an outage


class Daemon:
    def __init__(
        self,
        config: Config,
        venue: Venue,
        journal: Journal,
        clock: Clock,
        *,
        trading_from_ms: int,
        human: HumanLine | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self.journal = journal
        self.clock = clock
        self.trading_from_ms = trading_from_ms
        self.human = human or (lambda _line: None)
        self.log = get_logger(component="daemon", mode=config.bot.mode)
        self.totals = Totals()
        self.valuer = Valuer(config, venue, journal, self.totals)  # the hourly valuation, its baselines and gauges
        self.engine: Engine | None = None
        self._lock = asyncio.Lock()
        self._instant: int | None = None
        self._first_ts: int | None = None
        self.reloader: Callable[[], Config] | None = None  # re-reads the config file for `reload` and SIGHUP
        self.speed = 1.0  # market time per wall time (a sped-up paper run): durations like set-ratio's are market time
        self.observer = Observer()  # metrics and alerts; the silent one unless the run wires OpsObserver
        # `[[portfolio.accounts]]` read live: what `ctl status` shows of them (bot.report.accounts_status)
        self.accounts_view: Callable[[], tuple[AccountView, ...]] | None = None
        # A fast run's journal writes of this many instants share one commit (0: each write commits on its own,
        # the per-event path). Never live: there an order intent must be durable before its request is sent.
        self.batch_instants = 0
        self._instants_done = 0
        # realtime and live: an instant is decided on the event that completes it (every sampled series has printed
        # at its time), not when the next instant's first event or the 1-second timer comes; off in event time
        self.close_instants = False
        self._undecided = False  # events of the current instant arrived since it was last decided
        # hedge legs on several venues: journal rows keyed by venue, each reconciled apart, a venue down held alone
        self.venue_watch = VenueWatch(venue, USER_STREAM_GRACE_MS) if isinstance(venue, VenueSet) else None
        if isinstance(venue, VenueSet):
            journal.venue_of = venue.routes.venue_of
        self.reconciler = (VenueSetReconciler if isinstance(venue, VenueSet) else Reconciler)(
            ReconcileSettings.from_config(config, in_process=venue.name == "paper"),
            journal,
            venue,
            self,
            clock,
            get_logger(component="reconcile"),
        )
        self.desk = OrderDesk(journal, venue, self, self.log, self.reconciler.settle_later)
        self.topups = TopUpDesk(journal, venue, self, self.totals, self.log, lambda line: self.human(line))
        self._action_handlers: dict[type, Callable[[int, Any], Awaitable[None]]] = {
            DecisionMade: self._decision_made,
            StateChanged: self._state_changed,
            ClipHeld: self._clip_held,
            RiskNotice: self._risk_notice,
            ParentClosed: self._parent_closed,
            RollChanged: self._roll_changed,
            PlaceOrder: self.desk.place,
            CancelOrder: self.desk.cancel,
            TopUp: self.topups.send,
        }
        self._venue_handlers: dict[type, Callable[[Any], bool]] = {
            Fill: self._fill_arrived,
            OrderUpdate: self._order_updated,
            FundingSettled: self._funding_settled,
            Liquidated: self._liquidated,
        }
        # a durable paper venue's state is journaled with the fills and updates that changed it (bot/venues/paper.py)
        self._venue_state: Callable[[], Mapping[str, Any] | None] | None = (
            getattr(venue, "durable_state", None) if getattr(venue, "durable", False) else None
        )

    # ---- the EventPath port (bot.live.ports): what the desk and the reconciler reach back through ------------

    def running_engine(self) -> Engine:
        assert self.engine is not None, "the daemon has not started"
        return self.engine

    def alert(self, kind: str, key: str, message: str, severity: str = "warning") -> None:
        self.observer.alert(kind, key, message, severity)

    def say(self, line: str) -> None:
        self.human(line)

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> Engine:
        await self.venue.start()
        symbols = contracts_for(self.config.hedge.instruments, self.clock.now_ms())
        instruments = await self.venue.load_instruments(symbols)
        self.engine = Engine(self.config, instruments, self.trading_from_ms)
        if isinstance(self.venue, VenueSet):  # each leg's buffer and leverage read from its own venue's account
            self.engine.leg_venues = {spec: self.venue.routes.venue_of(spec) for spec in self.engine.legs}
        self._resume_rolls(self.engine)
        for choice in self.venue.choices if isinstance(self.venue, VenueSet) else ():  # [venues] candidates
            self.journal.record_execution(self.clock.now_ms(), "venue_choice", choice.symbol, choice.as_record())
        self._resume_carry(self.engine)
        await self.reconcile()  # before any order; adopts the account. On failure: halted, retried by reconcile_job
        self.topups.restore()  # top-ups journaled by an earlier run: counted, and any left unresolved resolved
        await self.topups.resolve(self.clock.now_ms(), at_start=True)
        self.log.info("daemon_started", instruments=list(instruments), trading_from=self.trading_from_ms)
        return self.engine

    def _resume_rolls(self, engine: Engine) -> None:
        """Rolls the journal shows started and not finished carry on from their state (pair numbers included,
        so no client order id is reused); their pairs follow from the positions reconciliation adopts."""
        latest: dict[str, tuple[str, dict[str, Any]]] = {}
        for _, kind, leg, record in self.journal.executions("roll_"):
            latest[leg] = (kind, record)
        for leg, (kind, record) in latest.items():
            if kind in ("roll_started", "roll_pair") and Symbol(leg) in engine.legs:
                engine.roller.restore(Symbol(leg), RollState.from_record(record))
                self.log.warning("roll_resumed", leg=leg, near=record["near"], far=record["far"])

    def _resume_carry(self, engine: Engine) -> None:
        """Carry legs carry on with the contract the journal's latest `carry_switch` chose (never re-decided at a
        start: a leg without one carries on with the contract it holds)."""
        if engine.carry.legs:
            for leg in engine.carry.restore_from(self.journal.rows("decisions")):
                self.log.info("carry_resumed", leg=leg, on="dated" if engine.carry.dated(leg) else "perpetual")

    async def run(self, events: AsyncIterator[MarketEvent]) -> RunSummary:
        """Consume the feed to its end (or until cancelled), then flush, value the book once more, summarise."""
        engine = self.engine or await self.start()
        batching = self._batching()
        if batching:
            self.journal.open_batch()
        try:
            async for event in events:
                async with self._lock:
                    await self._on_market(event)
            if self._instant is not None and self._undecided:
                async with self._lock:
                    await self._on_time(self._instant)
            await self._close_books()
        except asyncio.CancelledError:  # a realtime or live run is stopped by cancelling it
            await self._close_books()
            raise
        finally:
            if batching:
                self.journal.commit_batch()  # what the run journaled up to its end (or its failure) is kept
            await self.venue.close()
        return self.summary(engine)

    def _batching(self) -> bool:
        return self.batch_instants > 0 and self.config.bot.mode != "live"

    def _instant_done(self) -> None:
        """A batched run commits after every `batch_instants` instants, the journal then whole up to an instant."""
        self._instants_done += 1
        if self._instants_done % self.batch_instants == 0 and self._batching():
            self.journal.commit_batch()
            self.journal.open_batch()

    async def _close_books(self) -> None:
        """A last valuation at the final instant: what was traded since the hourly one is in the run's P&L, and
        in the journal, so that `hedgebot report` and the run summary count the same costs."""
        if self.engine is None or self._instant is None or self._instant < self.trading_from_ms:
            return
        async with self._lock:
            try:
                await self._record_value(self._instant)
            except VenueError as exc:  # the venue is away: the hourly valuations stand
                self.log.warning("closing_valuation_failed", error=str(exc))

    async def tick(self) -> None:
        """The wall-clock timer (realtime and live): venue events that arrived while the feed was quiet (fills on
        a live user stream) reach the engine, and due clips are worked, even when no market event arrives."""
        async with self._lock:
            await self.drain()
            now = self.clock.now_ms()
            if self.desk.rate_limit.over(now):
                await self._release(rate_limit.SOURCE, now, "the venue's rate-limit wait is over")
            await self._follow_user_stream(now)
            await self._watch_venues(now)
            await self._on_time(self._timer_instant(now))
            self.publish_gauges()

    def _timer_instant(self, now: int) -> int:
        """The instant the timer works at `now`. Realtime and live, a sampling step no instant has worked yet is
        left to its prints (decided on the last of them, `_on_market`) until `hedge.step_deadline` after its
        start: a timer firing before they arrive must not sample the old prices, after which the step would not
        be decided again. Meanwhile it works the instant just before the step (clips wait at most the deadline)."""
        start = self.engine.step_untaken(now) if self.close_instants and self.engine is not None else None
        if start is None or now >= start + parse_duration_ms(self.config.hedge.step_deadline):
            return now
        return start - 1

    # ---- operator commands ------------------------------------------------------------------------

    async def command(self, command: Command, args: Mapping[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        """Carry out one operator command between two events, journal it with who gave it, through what and why
        (the audit trail), return status."""
        assert self.engine is not None
        async with self._lock:
            now = self.clock.now_ms()
            held = dict(self.engine.holdings)  # a holdings change is a transfer, never P&L
            try:
                actions = self._apply(command, now)
            except (ValueError, CommandError) as exc:
                self.journal.record_command(now, command.name, args, f"refused: {exc}", actor)
                raise CommandError(str(exc)) from None
            self.journal.record_command(now, command.name, args, "ok", actor)
            self._record_transfers(now, held, command.name)
            who = actor or Actor()
            self.log.warning(
                "operator_command", command=command.name, args=dict(args), operator=who.operator, via=who.via,
                reason=who.reason,
            )  # fmt: skip
            for action in actions:
                await self.execute(now, action)
            return self.status()

    def _apply(self, command: Command, now: int) -> list[Action]:
        assert self.engine is not None
        engine = self.engine
        match command:
            case Pause():
                return engine.pause(now)
            case Resume():
                return engine.resume(now)
            case Flatten():
                return engine.flatten(now)
            case Kill(flatten=flatten):
                return engine.kill(now, flatten)
            case SetRatio(ratio=ratio, duration_ms=duration):
                return engine.set_ratio(now, ratio, now + duration)
            case SetHolding(asset=asset, qty=qty):
                return engine.set_holding(now, asset, qty)
            case Reload():
                return self._reload(now)
        raise CommandError(f"unsupported command {command!r}")

    def _record_transfers(self, now: int, before: Mapping[str, float], source: str) -> None:
        """Each holding the command changed, journaled as a transfer at the spot price now and kept out of P&L
        (the run summary's, the report's, the drawdown gauge's and effectiveness)."""
        engine = self.running_engine()
        for asset in sorted({*before, *engine.holdings}):
            old, new = before.get(asset, 0.0), engine.holdings.get(asset, 0.0)
            if old == new:
                continue
            price = engine.prices.get(spot_symbol(asset, self.config.portfolio.quote))
            value = self.journal.record_transfer(now, asset, old, new, price, source)
            self.totals.add_transfer(value)
            self.valuer.transfer(value)
            self.log.info("holding_transferred", asset=asset, qty_before=old, qty_after=new, price=price,
                          value=value, source=source)  # fmt: skip

    def _reload(self, now: int) -> list[Action]:
        if self.reloader is None:
            raise CommandError("reload: this daemon was not started from a config file")
        config = self.reloader()  # raises ConfigError (a ValueError) on a bad file: the running config is kept
        assert self.engine is not None
        return self.engine.reconfigure(config, now)

    def status(self) -> dict[str, Any]:
        assert self.engine is not None
        account_now = getattr(self.venue, "account_now", None)  # paper: as it stands, not as last read (hourly)
        account = account_now() if account_now is not None else None
        now = self.clock.now_ms()
        status = {**engine_status(self.engine, now, self.totals, account), "speed": self.speed}
        if self.accounts_view is not None:
            status["accounts"] = accounts_status(self.accounts_view(), now)
        if isinstance(self.venue, VenueSet):  # exposure, collateral and buffer per venue
            status["venues"] = venues_status(self.engine, self.venue, self.venue_watch, account)
        return status

    # ---- the event path ---------------------------------------------------------------------------

    async def _on_market(self, event: MarketEvent) -> None:
        assert self.engine is not None
        if self._instant is not None and event.ts > self._instant and self._undecided:
            await self._on_time(self._instant)
        if self._first_ts is None:
            self._first_ts = event.ts
        self._instant = event.ts
        self.clock.observe(event.ts)
        self.totals.events += 1
        screened = self.engine.on_market(event)  # a print the sanity layer holds back reaches no one, the venue neither
        for passed in screened.passed:
            self.venue.on_market(passed)
        self._price_screened(screened.notes)
        await self.drain()
        self._undecided = True
        if self.close_instants and self.engine.instant_complete(event.ts):
            self._undecided = False
            await self._on_time(event.ts)

    def _price_screened(self, notes: Iterable[Note]) -> None:
        """Log, count and alert the prints the market-data sanity layer held back, confirmed or discarded."""
        for note in notes:
            if isinstance(note, PriceQuarantined):
                self.totals.quarantined += 1
                self.log.warning("price_quarantined", instrument=note.symbol, price=note.price, ts=note.ts,
                                 last_accepted=note.last_price, reason=note.reason)  # fmt: skip
                self.observer.alert("price_quarantined", note.symbol, f"{note.symbol} {note.price:g}: {note.reason}")
            else:
                kind = "price_confirmed" if isinstance(note, PriceConfirmed) else "price_discarded"
                self.log.info(kind, instrument=note.symbol, price=note.price, ts=note.ts, held=note.held)

    async def _on_time(self, now: int) -> None:
        assert self.engine is not None
        record = now >= self.trading_from_ms and self.valuer.due(now)
        await self.topups.resolve(now)  # a top-up whose answer was lost, from the transfer history (once known)
        if record:  # a fresh account before the engine's staleness gate and limits look at it
            try:
                await self._load_contracts(now)
                self.engine.on_venue(await self.venue.fetch_account())
            except Retryable as exc:  # the venue is away: the engine runs on; the account-age gate holds if it stays
                self.log.warning("account_refresh_failed", error=str(exc))
        started = time.perf_counter()  # decision latency: a measurement of the shell, not an input to the core
        actions = self.engine.on_time(now)
        self.observer.decision_latency(time.perf_counter() - started)
        for action in actions:
            await self.execute(now, action)
        if record:
            self.valuer.recorded(now)
            await self._record_value(now)
        if self.batch_instants:
            self._instant_done()

    async def _load_contracts(self, now: int) -> None:
        """Dated contracts listed since the start (the next quarterly to roll into) are loaded before use."""
        assert self.engine is not None
        wanted = self.engine.contracts_wanted(now)
        if wanted:
            self.engine.add_instruments(await self.venue.load_instruments(wanted))
            self.log.info("contracts_loaded", instruments=wanted)

    async def _record_value(self, now: int) -> None:
        if await self.valuer.record(self.running_engine(), now):
            self.publish_gauges()

    def publish_gauges(self) -> None:
        """Refresh the observer's gauges from the engine (hourly in replay, every tick live): the observer the
        daemon has now (the session replaces the silent one after construction), only if it listens."""
        self.valuer.publish(self.observer, self.status)

    async def execute(self, now: int, action: Action) -> None:
        await self._action_handlers[type(action)](now, action)

    async def _decision_made(self, _now: int, action: DecisionMade) -> None:
        self.journal.record_decision(action.decision)
        decision = action.decision
        if decision.trigger == "collateral_reduce":  # a protective cut: listed in the run's result
            targets = {t.symbol: t.qty for t in decision.targets}
            fraction = decision.numbers.get("fraction", 0.0)
            cut = {"ts": decision.ts, "fraction": fraction, "targets": targets, "reason": decision.reason}
            self.totals.collateral_cuts.append(cut)
        self.log.info(
            "decision_made",
            decision=action.decision.id,
            trigger=action.decision.trigger,
            reason=action.decision.reason,
            numbers=action.decision.numbers,
            targets={t.symbol: t.qty for t in action.decision.targets},
        )

    async def _state_changed(self, _now: int, action: StateChanged) -> None:
        self.journal.record_state_change(action.ts, str(action.old), str(action.new), action.reason)
        change = {"ts": action.ts, "from": str(action.old), "to": str(action.new), "reason": action.reason}
        self.totals.state_changes.append(change)
        self.observer.state_changed(str(action.old), str(action.new), action.reason)
        self.log.warning("trading_state_changed", old=str(action.old), new=str(action.new), reason=action.reason)
        self.human(f"trading state {action.old} → {action.new}: {action.reason}")

    async def _clip_held(self, _now: int, action: ClipHeld) -> None:
        self.log.info("clip_held", instrument=action.symbol, notes=list(action.notes))
        for note in action.notes:
            limit = breached_limit(note)
            if limit is not None:  # held again every clip interval while it binds: the alerter deduplicates
                self.observer.alert("limit_breach", f"{action.symbol} {limit}", f"{action.symbol}: {note}")

    async def _risk_notice(self, _now: int, action: RiskNotice) -> None:
        self.log.warning("risk_notice", kind=action.kind, step=action.key, reason=action.message)
        back = action.key == "ok" or action.key.endswith(" back")  # an input fresh again, a venue's legs trading again
        severity = "info" if back else "warning"
        self.observer.alert(action.kind, action.key, f"{action.kind}: {action.message}", severity)

    async def _parent_closed(self, _now: int, action: ParentClosed) -> None:
        quality = action.quality
        record = quality.as_record()
        self.journal.record_execution(quality.end_ts or quality.start_ts, "parent", str(quality.decision_id), record)
        self.log.info("parent_closed", **record)
        self.totals.add_parent(quality)

    async def _roll_changed(self, _now: int, action: RollChanged) -> None:
        state = action.state
        record = state.to_record()
        self.journal.record_execution(action.ts, f"roll_{action.event}", action.leg, record)
        self.log.info(f"roll_{action.event}", leg=action.leg, **record)
        if action.event in ("finished", "expired"):
            self.totals.rolls += 1
            self.totals.roll_cost += state.cost.total
            self.totals.finished_rolls.append(state)
        if action.event != "pair":
            cost = f", cost {state.cost.total:+,.2f}" if action.event != "started" else ""
            self.human(f"roll {action.event}: {state.near} → {state.far or 'closed'}{cost}")

    async def _follow_user_stream(self, now: int) -> None:
        """Live: while the user stream has been down longer than USER_STREAM_GRACE_MS, fills and order updates
        are not heard, so trading is held reducing (no order adds exposure); it is released once the stream is
        connected and re-synced by REST again (which brings what it missed)."""
        down: Callable[[], tuple[int, str] | None] | None = getattr(self.venue, "user_stream_down", None)
        if down is None or self.engine is None:
            return
        outage = down()
        if outage is None:
            await self._release(USER_STREAM_SOURCE, now, "the user stream is back and re-synced")
            return
        since, error = outage
        if now - since >= USER_STREAM_GRACE_MS and USER_STREAM_SOURCE not in self._holding():
            reason = f"user stream down since {utc_time(since)} ({error or 'not connected'}): fills are not heard"
            change = self.engine.governor.hold(USER_STREAM_SOURCE, TradingState.REDUCING, reason, now)
            if change is not None:
                await self.execute(now, change)

    async def _watch_venues(self, now: int) -> None:
        """`[venues]`: the legs of a venue that is down are held, the others trade on (bot.live.venue_watch)."""
        if self.venue_watch is not None and self.engine is not None:
            for notice in self.venue_watch.check(self.engine, now, self.observer.alert):
                await self.execute(now, notice)

    def _holding(self) -> set[str]:
        assert self.engine is not None
        return {hold.source for hold in self.engine.governor.holds}

    async def _release(self, source: str, now: int, reason: str) -> None:
        assert self.engine is not None
        change = self.engine.governor.release(source, now, reason)
        if change is not None:
            await self.execute(now, change)

    async def hold_input(self, source: str, key: str, reason: str | None) -> None:
        """An input the shell reads besides the feed (an account's balances) is stale: hold trading `reducing`
        for `reason` (alert `stale_feed`, `key` naming the input) or, `reason` None, lift that source's hold."""
        assert self.engine is not None
        async with self._lock:
            now = self.clock.now_ms()
            if reason is None:
                await self._release(source, now, f"{key} fresh again")
            elif source not in self._holding():
                change = self.engine.governor.hold(source, TradingState.REDUCING, reason, now)
                if change is not None:
                    await self.execute(now, change)
                    await self.execute(now, RiskNotice(now, "stale_feed", key, reason))

    async def drain(self) -> None:
        if self._venue_state is None:
            for event in self.venue.drain():
                await self.apply_venue_event(event)
            return
        with self.journal.atomic():  # the paper account's state commits with what changed it, or not at all
            for event in self.venue.drain():
                await self.apply_venue_event(event)
            state = self._venue_state()
            if state is not None:
                self.journal.save_paper_account(state)

    async def apply_venue_event(self, event: VenueEvent) -> None:
        """Journal what the venue said (once: a duplicate stops here), then hand it to the engine."""
        engine = self.running_engine()
        handler = self._venue_handlers.get(type(event))
        if handler is not None and not handler(event):
            return
        try:
            engine.on_venue(event)
        except IllegalTransition as exc:
            self.log.error("order_transition_illegal", error=str(exc), event=repr(event))

    def _fill_arrived(self, fill: Fill) -> bool:
        if not self.journal.record_fill(fill):
            self.log.info("fill_duplicate_ignored", trade_id=fill.trade_id, client_id=fill.client_id)
            return False
        instrument = self.running_engine().instruments[fill.symbol]
        sent_at = self.desk.send_price(fill.client_id, fill.price)
        self.totals.add_fill(instrument, fill, sent_at, self.config.portfolio.quote)
        self.observer.fill(fill)
        self.log.info(
            "fill",
            client_id=fill.client_id,
            trade_id=fill.trade_id,
            instrument=fill.symbol,
            side=fill.side,
            qty=fill.qty,
            price=fill.price,
            fee=fill.fee,
        )
        return True

    def _order_updated(self, update: OrderUpdate) -> bool:
        self.journal.record_order_update(update)
        self.observer.order(update)
        if update.status is OrderStatus.REJECTED and update.would_take:  # routine for a passive order: re-priced
            self.log.info("post_only_refused", client_id=update.client_id, reason=update.reason)
        elif update.status is OrderStatus.REJECTED:
            self.log.warning("order_rejected", client_id=update.client_id, reason=update.reason)
            self.observer.alert("order_rejected", update.symbol, f"order {update.client_id} rejected: {update.reason}")
        return True

    def _liquidated(self, event: Liquidated) -> bool:
        """The hedge account was liquidated: journaled, counted, logged and alerted; the engine then reads it as
        the account snapshot it also is."""
        record = event.as_record()
        self.journal.record_liquidation(record)
        self.totals.liquidations.append(record)
        closed = ", ".join(f"{c.qty:+g} {c.symbol} @ {c.price:,.2f}" for c in event.closed)
        self.log.error("liquidation", closed=record["closed"], realized_pnl=event.realized_pnl,
                       equity_after=event.equity)  # fmt: skip
        message = (
            f"hedge account liquidated: {closed}; realised {event.realized_pnl:+,.2f}, equity left {event.equity:,.2f}"
        )
        self.observer.alert("liquidation", ",".join(c.symbol for c in event.closed), message, "critical")
        self.human(message)
        return True

    def _funding_settled(self, funding: FundingSettled) -> bool:
        if not self.journal.record_funding(funding):
            return False
        self.totals.funding += funding_in_quote(funding, self.config.portfolio.quote)  # coin funding: once
        self.observer.funding(funding)
        self.log.info("funding_settled", instrument=funding.symbol, rate=funding.rate, amount=funding.amount)
        return True

    # ---- summary ----------------------------------------------------------------------------------

    def summary(self, engine: Engine) -> RunSummary:
        return RunSummary(
            first_ts=max(self._first_ts or 0, self.trading_from_ms),
            last_ts=self._instant or 0,
            decisions=engine.stats.decisions,
            clips=engine.executor.stats.clips,
            rejected=engine.executor.stats.rejected,
            totals=self.totals,
            effectiveness=self.valuer.effectiveness(),
            positions={s: q for s, q in engine.positions.items() if q},
            equity=engine.equity or 0.0,
            triggers=dict(engine.stats.triggers),
            execution=self.totals.execution(engine.executor.stats.clips, engine.roller.in_progress_cost),
            rolls=(*self.totals.finished_rolls, *engine.roller.states.values()),
            warmup=engine.warm_up_progress(),
            coin_account=coin_account_status(engine),
            carry=carry_json(switches_from_rows(self.journal.rows("decisions"))) if engine.carry.legs else None,
        )

    # ---- reconciliation (bot.live.reconciler.Reconciler does it) --------------------------

    async def reconcile_job(self) -> None:
        """The scheduled job (calling it every second is fine): reconciles when due, between two events."""
        if self.reconciler.due(self.clock.now_ms()) and self.engine is not None:
            async with self._lock:
                await self.reconciler.reconcile()

    async def reconcile(self) -> ReconcilePlan | None:
        """Match the journal against the venue and apply the plan; None when it failed (trading held halted)."""
        return await self.reconciler.reconcile()

    # ---- live venue events --------------------------------------------------------------------------
    # A live venue reports fills, order updates and account snapshots on its user stream whenever they happen;
    # they reach the engine at once (`follow_venue`), not only with the next market event or tick. Live P&L is
    # measured from the hedge account's equity at start, not from the paper collateral.

    async def follow_venue(self) -> None:
        """Hand the venue's events to the engine as they arrive, until cancelled; a Fatal stream error (a revoked
        key) is raised. Returns at once for a venue that cannot be awaited (the paper venue fills on market
        events, drained with them)."""
        wait: Callable[[], Awaitable[None]] | None = getattr(self.venue, "wait_for_events", None)
        if wait is None:
            return
        while True:
            await wait()
            async with self._lock:
                await self.drain()

    async def warm_up(self, history: Iterable[MarketEvent]) -> int:
        """Feed price history (older than `trading_from_ms`) through the engine so its estimators are ready
        when trading starts; returns how many events. The lock is held throughout, so no tick samples at wall
        time in the middle of the history; the last instant of history is finished here, whatever time the
        first live event carries."""
        count = 0
        async with self._lock:
            for count, event in enumerate(history, 1):
                await self._on_market(event)
                if count % 1024 == 0:
                    await asyncio.sleep(0)  # let the venue's streams breathe during a long history
            if self._instant is not None and self._undecided:
                await self._on_time(self._instant)
        self.log.info("warmed_up", events=count, until=self._instant)
        return count

    def set_equity_baseline(self) -> None:
        """Live: measure hedge P&L from the account's equity now (called once the account is loaded at start)."""
        if self.engine is not None:
            self.valuer.set_equity_baseline(self.engine)
