"""The engine: events in, actions out. Pure: no I/O, no clock reads, no awaits.

market events → prices and estimators; at each sampling step → policy → targets → trigger → decision →
parents; parents due → clips → limits → order requests. Fills and account snapshots from the venue update
positions and equity. The shell (`bot.daemon`) journals and executes the actions this returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config import Config
from bot.domain import (
    AccountSnapshot,
    ClientOrderId,
    Decision,
    Fill,
    FundingObserved,
    HedgeTarget,
    Instrument,
    InstrumentKind,
    MarketEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PriceObserved,
    Rounding,
    Side,
    Symbol,
    VenueEvent,
    parse_duration_ms,
    round_to_step,
    spot_symbol,
)
from bot.execution.clips import Parent, ParentStatus, plan_clip
from bot.execution.ids import client_order_id, decision_id
from bot.execution.orders import OrderTracker
from bot.hedge.decider import HedgeDecider
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import Exposure, value_holdings
from bot.hedge.policies import PolicyResult, portfolio_beta, portfolio_correlation
from bot.hedge.triggers import TriggerFired
from bot.risk.governance import Governance
from bot.risk.limits import Limits, OrderRateWindow, PreTradeState, check_clip
from bot.risk.state import Governor, StateChanged, TradingState


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    request: OrderRequest
    parent_reason: str


@dataclass(frozen=True, slots=True)
class DecisionMade:
    decision: Decision


@dataclass(frozen=True, slots=True)
class ClipHeld:
    """A due clip that the limits shrank or held back, and why."""

    ts: int
    symbol: Symbol
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_id: ClientOrderId
    symbol: Symbol
    reason: str


Action = PlaceOrder | CancelOrder | DecisionMade | ClipHeld | StateChanged


@dataclass(slots=True)
class EngineStats:
    decisions: int = 0
    clips: int = 0
    rejected: int = 0
    held: int = 0
    samples: int = 0
    triggers: dict[str, int] = field(default_factory=dict)


def _limits(config: Config) -> Limits:
    return Limits(
        max_leverage=config.risk.max_leverage,
        max_instrument_leverage=config.risk.max_instrument_leverage or config.risk.max_leverage,
        max_position_notional=config.risk.max_position_notional,
        max_order_notional=config.risk.max_order_notional,
        max_orders_per_minute=config.risk.max_orders_per_minute,
        price_band_bps=config.risk.price_band_bps,
        max_price_age_ms=parse_duration_ms(config.risk.max_price_age),
    )


def _fixed_while_running(config: Config) -> dict[str, object]:
    """What defines the estimator's history and the feed's subscriptions: a restart is needed to change it."""
    return {
        "hedge.instruments": config.hedge.instruments,
        "hedge.window": config.hedge.window,
        "hedge.sample": config.hedge.sample,
        "portfolio.quote": config.portfolio.quote,
        "portfolio assets": sorted([*config.portfolio.holdings, *config.portfolio.holdings_value]),
        "bot.mode": config.bot.mode,
    }


class Engine:
    def __init__(self, config: Config, instruments: Mapping[Symbol, Instrument], trading_from_ms: int) -> None:
        self.config = config
        self.instruments = dict(instruments)
        self.trading_from_ms = trading_from_ms
        self.quote = config.portfolio.quote
        self.holdings = dict(config.portfolio.holdings)
        self.pending_value_holdings = dict(config.portfolio.holdings_value)
        self.hedge_symbols = tuple(Symbol(s) for s in config.hedge.instruments)
        self.limits = _limits(config)
        self.order_rate = OrderRateWindow()  # when our orders went out: the order-rate limit counts them
        self.clip_interval_ms = parse_duration_ms(config.execution.clip_interval)
        bases = [*self.holdings, *self.pending_value_holdings, *config.portfolio.locked]
        series = tuple(dict.fromkeys([*(spot_symbol(b, self.quote) for b in bases), *self.hedge_symbols]))
        self.estimator = CovarianceEstimator(
            series,
            step_ms=parse_duration_ms(config.hedge.sample),
            window_ms=parse_duration_ms(config.hedge.window),
            min_samples=config.hedge.min_samples,
            fast_halflife_ms=parse_duration_ms(config.hedge.tier_halflife),
        )
        self.decider = HedgeDecider(config, self.instruments, self.estimator)
        self.prices: dict[Symbol, float] = {}
        self.price_ts: dict[Symbol, int] = {}
        self.funding: dict[Symbol, FundingObserved] = {}
        self.positions: dict[Symbol, float] = {}
        self.equity: float | None = None
        self.orders = OrderTracker()  # our orders whose fate is not final yet (and, until pruned, final ones)
        self.parents: dict[Symbol, Parent] = {}
        self.targets: dict[Symbol, HedgeTarget] = {}
        self.last_decision: Decision | None = None
        self.governor = Governor()
        self.governance = Governance(config.risk, self.governor)
        self.account_ts: int | None = None
        self.account: AccountSnapshot | None = None
        self._pending: list[Action] = []  # state changes and cuts raised by venue events, emitted at the next instant
        self.stats = EngineStats()
        self.paused = False
        self.ratio_override: tuple[float, int] | None = None  # (ratio, until event time)
        self._forced_trigger: tuple[str, str] | None = None  # fires at the next instant, whatever the band says
        self._halt_when_flat = False
        self.now = 0  # the latest instant seen: event time in replay, wall time live

    # ---- inputs -----------------------------------------------------------------------------------

    def on_market(self, event: MarketEvent) -> None:
        if isinstance(event, PriceObserved):
            self.prices[event.symbol] = event.price
            self.price_ts[event.symbol] = event.ts
            self.estimator.on_price(event.ts, event.symbol, event.price)
        elif isinstance(event, FundingObserved):
            self.funding[event.symbol] = event

    def on_venue(self, event: VenueEvent) -> None:
        """Apply what the venue reports. Raises IllegalTransition for an impossible order status report."""
        if isinstance(event, Fill):
            # positions are whole lots: snap the float sum so 0.3 − 0.1 − 0.2 is flat, not −2.8e-17
            lot = self.instruments[event.symbol].lot_step if event.symbol in self.instruments else 0.0
            position = self.positions.get(event.symbol, 0.0) + event.signed_qty
            self.positions[event.symbol] = round_to_step(position, lot, Rounding.NEAREST) if lot else position
            self.orders.fill(event)
        elif isinstance(event, OrderUpdate):
            order = self.orders.update(event)
            if order is not None and event.status is OrderStatus.REJECTED:
                self._stop_parent(event.symbol)
            if event.status.is_final:
                self.orders.forget_final()
        elif isinstance(event, AccountSnapshot):
            self.equity = event.equity
            self.positions = {p.symbol: p.qty for p in event.positions if p.qty != 0}
            self.account_ts = event.ts
            self.account = event
            self._govern_account(event)

    def _govern_account(self, snapshot: AccountSnapshot) -> None:
        exposure = self.exposure()
        if exposure.missing:
            return
        changes, cut = self.governance.on_account(snapshot, exposure.total + snapshot.equity)  # the whole portfolio
        self._pending.extend(changes)
        if cut is not None:
            self._pending.extend(self._cut_hedge(snapshot.ts, cut.fraction, cut.reason))

    def _cut_hedge(self, now: int, fraction: float, reason: str) -> list[Action]:
        """Collateral REDUCE step: shrink every hedge by `fraction`, in reduce-only clips."""
        targets = {
            s: HedgeTarget(s, round_to_step(q * (1 - fraction), self.instruments[s].lot_step), 0.0)
            for s, q in self.positions.items()
            if s in self.instruments
        }
        self.targets = {**self.targets, **targets}
        fired = TriggerFired("collateral_reduce", reason, {"fraction": fraction})
        return [self._make_decision(now, fired, PolicyResult({}), targets)]

    def _stop_parent(self, symbol: Symbol) -> None:
        self.stats.rejected += 1
        parent = self.parents.get(symbol)
        if parent is not None:
            self.parents[symbol] = parent.finished(ParentStatus.STOPPED)

    # ---- time -------------------------------------------------------------------------------------

    def on_time(self, now: int) -> list[Action]:
        """Called once after all events of one instant: sample, decide, and work due clips."""
        self.now = max(self.now, now)
        actions: list[Action] = self._pending
        self._pending = []
        change = self._gate_on_staleness(now) if now >= self.trading_from_ms else None  # warm-up trades nothing
        if change is not None:
            actions.append(change)
        sampled = self.estimator.due(now)
        if sampled:
            self.stats.samples += self.estimator.sample(now)
        if now >= self.trading_from_ms:
            if sampled or self._forced_trigger:
                actions.extend(self._decide(now))
            actions.extend(self._work_parents(now))
            actions.extend(self._halt_once_flat(now))
        return actions

    def _gate_on_staleness(self, now: int) -> StateChanged | None:
        """Fail closed on stale prices of the hedge instruments, funding of the perpetuals, or the account."""
        perpetuals = [s for s in self.hedge_symbols if self.instruments[s].kind is InstrumentKind.PERPETUAL]
        return self.governance.on_time(
            now,
            {s: self.price_ts.get(s) for s in self.hedge_symbols},
            {s: self.funding[s].ts if s in self.funding else None for s in perpetuals},
            self.account_ts,
        )

    # ---- deciding ---------------------------------------------------------------------------------

    @property
    def ratio(self) -> float:
        """The hedge ratio in force: the operator's override until it expires, else the config's."""
        if self.ratio_override is not None:
            ratio, until = self.ratio_override
            if self.now < until:
                return ratio
            self.ratio_override = None
        return self.config.hedge.ratio

    def portfolio_estimates(self) -> tuple[float | None, float | None]:
        """Correlation and beta of the hedged portfolio to the proxy over the window (None before estimates)."""
        weights = self.decider.weights(self.exposure())
        if not self.estimator.ready or not weights:
            return None, None
        view = self.estimator.view()
        proxy = Symbol(self.config.hedge.proxy_symbol)
        return portfolio_correlation(view, weights, proxy), portfolio_beta(view, weights, proxy)

    def exposure(self) -> Exposure:
        """Spot holdings, locked ones included, at the latest prices."""
        held = dict(self.holdings)
        for base, qty in self.config.portfolio.locked.items():
            held[base] = held.get(base, 0.0) + qty
        return value_holdings(held, self.prices, self.quote)

    def _buy_value_holdings(self) -> bool:
        """Turn holdings given as a quote value into quantities at the current prices; False until all are priced."""
        for base, value in list(self.pending_value_holdings.items()):
            price = self.prices.get(spot_symbol(base, self.quote))
            if price is None:
                return False
            self.holdings[base] = value / price
            del self.pending_value_holdings[base]
        return True

    def _decide(self, now: int) -> list[Action]:
        if self.paused or self.governor.state is not TradingState.ACTIVE:
            self._forced_trigger = None
            return []
        if self.pending_value_holdings and not self._buy_value_holdings():
            return []
        exposure = self.exposure()
        if exposure.missing or exposure.total <= 0 or any(s not in self.prices for s in self.hedge_symbols):
            return []
        forced, self._forced_trigger = self._forced_trigger, None
        planned = {symbol: self._planned_position(symbol) for symbol in self.hedge_symbols}
        proposal = self.decider.decide(now, exposure, self.prices, planned, self.ratio, forced)
        if proposal is None:
            return []
        self.targets = proposal.targets
        return [self._make_decision(now, proposal.fired, proposal.result, proposal.targets)]

    def _make_decision(
        self, now: int, fired: TriggerFired, result: PolicyResult, targets: dict[Symbol, HedgeTarget]
    ) -> DecisionMade:
        decision = Decision(
            id=decision_id(now, self.stats.decisions),
            ts=now,
            trigger=fired.name,
            reason=fired.reason,
            targets=tuple(targets.values()),
            numbers={**result.numbers, **fired.numbers},
        )
        self.stats.decisions += 1
        self.stats.triggers[fired.name] = self.stats.triggers.get(fired.name, 0) + 1
        self.last_decision = decision
        for leg, target in enumerate(decision.targets):
            self.parents[target.symbol] = Parent(
                decision_id=decision.id,
                leg=leg,
                symbol=target.symbol,
                target_qty=target.qty,
                reason=f"{fired.name}: {fired.reason}",
                created_ts=now,
                next_due_ts=now,
                arrival_price=self.prices[target.symbol],
            )
        return DecisionMade(decision)

    def notional(self, symbol: Symbol, qty: float) -> float:
        return self.instruments[symbol].notional(qty, self.prices[symbol])

    def _inflight_qty(self, symbol: Symbol) -> float:
        return sum(order.remaining for order in self.orders.open_orders() if order.request.symbol == symbol)

    def _planned_position(self, symbol: Symbol) -> float:
        return self.positions.get(symbol, 0.0) + self._inflight_qty(symbol)

    # ---- executing --------------------------------------------------------------------------------

    def _work_parents(self, now: int) -> list[Action]:
        actions: list[Action] = []
        for symbol, parent in list(self.parents.items()):
            if parent.status is not ParentStatus.WORKING or now < parent.next_due_ts:
                continue
            if any(order.request.symbol == symbol for order in self.orders.open_orders()):
                continue  # one working clip per instrument at a time: the next waits for its outcome
            actions.extend(self._next_clip(now, parent))
        return actions

    def _next_clip(self, now: int, parent: Parent) -> list[Action]:
        symbol = parent.symbol
        instrument = self.instruments[symbol]
        price = self.prices[symbol]
        position = self.positions.get(symbol, 0.0)
        clip = plan_clip(instrument, parent.target_qty - position, position, price, self.config.execution.clip_notional)
        if clip is None:
            self.parents[symbol] = parent.finished(ParentStatus.DONE)
            return []
        state = self.governor.state
        if not state.allows(reduces=clip.reduce_only):
            self.parents[symbol] = parent.advanced(now, self.clip_interval_ms)
            self.stats.held += 1
            return [ClipHeld(now, symbol, (f"trading is {state}: {self.governor.reason}",))]
        # the limits see the order as it would go out (its limit price), and positions with every order
        # still in flight counted as filled: two instruments' clips cannot pass the leverage cap together
        priced = self._order_request(parent, instrument, clip.qty, clip.reduce_only, price).price
        exposed = dict.fromkeys([*self.positions, *(order.request.symbol for order in self.orders.open_orders())])
        pre_trade = PreTradeState(
            now=now,
            trading=state,
            positions={s: self._planned_position(s) for s in exposed},
            marks=self.prices,
            mark_ts=self.price_ts,
            instruments=self.instruments,
            equity=self.equity if self.equity is not None else 0.0,
            orders_last_minute=self.order_rate.count(now),
        )
        verdict = check_clip(instrument, clip.qty, price if priced is None else priced, pre_trade, self.limits)
        held: list[Action] = []
        if verdict.notes:
            self.stats.held += 1
            held.append(ClipHeld(now, symbol, verdict.notes))
        if verdict.blocked:
            self.parents[symbol] = parent.advanced(now, self.clip_interval_ms)
            return held
        request = self._order_request(parent, instrument, verdict.qty, clip.reduce_only, price)
        self.orders.add(request)
        self.order_rate.record(now)
        self.parents[symbol] = parent.advanced(now, self.clip_interval_ms)
        self.stats.clips += 1
        return [*held, PlaceOrder(request, parent.reason)]

    def _order_request(
        self, parent: Parent, instrument: Instrument, qty: float, reduce_only: bool, price: float
    ) -> OrderRequest:
        side = Side.of(qty)
        execution = self.config.execution
        limit_price: float | None = None
        order_type = OrderType(execution.order_type)
        if order_type is OrderType.LIMIT:
            offset = execution.limit_offset_bps / 1e4 * side.sign
            rounding = Rounding.UP if side is Side.BUY else Rounding.DOWN
            limit_price = round_to_step(price * (1 + offset), instrument.tick_size, rounding)
        return OrderRequest(
            client_id=client_order_id(parent.decision_id, parent.leg, parent.next_clip_no),
            symbol=parent.symbol,
            side=side,
            qty=abs(qty),
            order_type=order_type,
            price=limit_price,
            reduce_only=reduce_only,
            decision_id=parent.decision_id,
            clip_no=parent.next_clip_no,
        )

    # ---- operator commands (each returns the actions to execute; the daemon journals the command) ---------

    def pause(self, now: int) -> list[Action]:
        """No new hedge adjustments; working clips are cancelled."""
        self.paused = True
        return self._stop_all_work("operator pause")

    def resume(self, now: int) -> list[Action]:
        """Lift the operator's pause or hold and re-decide at once."""
        self.paused = False
        self._halt_when_flat = False
        self._forced_trigger = ("operator_resume", "operator resumed trading")
        self.governance.acknowledge(now)  # losses are measured from here on
        change = self.governor.release("operator", now, "operator resumed")
        released = self.governor.release("max_loss", now, "acknowledged by the operator")
        return [c for c in (change, released) if c]

    def flatten(self, now: int, reason: str = "operator asked to flatten") -> list[Action]:
        """Close every hedge in reduce-only clips; nothing may add exposure until resume."""
        actions = self._stop_all_work(reason)
        change = self.governor.hold("operator", TradingState.REDUCING, reason, now)
        actions.extend([change] if change else [])
        flat = {symbol: HedgeTarget(symbol, 0.0, 0.0) for symbol in self.hedge_symbols}
        self.targets = flat
        fired = TriggerFired("operator_flatten", reason, {})
        actions.append(self._make_decision(now, fired, PolicyResult({}), flat))
        return actions

    def kill(self, now: int, flatten: bool) -> list[Action]:
        """Kill switch: cancel every open order and halt; with `flatten`, close the hedges first, then halt."""
        if flatten:
            self._halt_when_flat = True
            return self.flatten(now, "kill switch: flattening before halt")
        actions = self._stop_all_work("kill switch")
        change = self.governor.hold("operator", TradingState.HALTED, "kill switch", now)
        return actions + ([change] if change else [])

    def set_ratio(self, now: int, ratio: float, until_ms: int) -> list[Action]:
        """Override the hedge ratio until event time `until_ms`, and re-decide."""
        self.ratio_override = (ratio, until_ms)
        self._forced_trigger = ("operator_ratio", f"operator set ratio {ratio:g} until {until_ms}")
        return []

    def set_holding(self, now: int, base: str, qty: float) -> list[Action]:
        """Update a spot holding (a portfolio change trigger). Only assets the feed prices can be held."""
        if spot_symbol(base, self.quote) not in self.estimator.index:
            raise ValueError(f"holding {base!r} has no price stream; add it to [portfolio] and restart")
        self.holdings[base] = qty
        self._forced_trigger = ("portfolio_change", f"operator set holding {base} = {qty:g}")
        return []

    def _stop_all_work(self, reason: str) -> list[Action]:
        for symbol, parent in self.parents.items():
            if parent.status is ParentStatus.WORKING:
                self.parents[symbol] = parent.finished(ParentStatus.STOPPED)
        return [CancelOrder(o.request.client_id, o.request.symbol, reason) for o in self.orders.open_orders()]

    def _halt_once_flat(self, now: int) -> list[Action]:
        if not self._halt_when_flat or self.orders.open_orders() or any(self.positions.values()):
            return []
        self._halt_when_flat = False
        change = self.governor.hold("operator", TradingState.HALTED, "kill switch: hedges flat, halted", now)
        return [change] if change else []

    def reconfigure(self, config: Config, now: int) -> list[Action]:
        """Apply a reloaded config: limits, execution, policy and holdings; refuse what needs a restart."""
        before, after = _fixed_while_running(self.config), _fixed_while_running(config)
        changed = [key for key in before if before[key] != after[key]]
        if changed:
            raise ValueError(f"reload: {', '.join(changed)} cannot change while running; restart to apply")
        self.config = config
        self.limits = _limits(config)
        self.governance.configure(config.risk)
        self.clip_interval_ms = parse_duration_ms(config.execution.clip_interval)
        self.holdings.update(config.portfolio.holdings)
        self.decider.configure(config)
        self._forced_trigger = ("config_reload", "operator reloaded the config")
        return []
