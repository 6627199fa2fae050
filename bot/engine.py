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
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import Exposure, value_holdings
from bot.hedge.policies import PolicyResult, beta_policy, cap_to_exposure, fixed_policy, min_variance_policy
from bot.hedge.sizing import size_target
from bot.hedge.triggers import TriggerFired, drift_outside_band
from bot.risk.limits import Limits, check_clip


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


Action = PlaceOrder | DecisionMade | ClipHeld


@dataclass(slots=True)
class EngineStats:
    decisions: int = 0
    clips: int = 0
    rejected: int = 0
    held: int = 0
    samples: int = 0
    triggers: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(self, config: Config, instruments: Mapping[Symbol, Instrument], trading_from_ms: int) -> None:
        self.config = config
        self.instruments = dict(instruments)
        self.trading_from_ms = trading_from_ms
        self.quote = config.portfolio.quote
        self.holdings = dict(config.portfolio.holdings)
        self.pending_value_holdings = dict(config.portfolio.holdings_value)
        self.hedge_symbols = tuple(Symbol(s) for s in config.hedge.instruments)
        self.limits = Limits(
            max_leverage=config.risk.max_leverage,
            max_position_notional=config.risk.max_position_notional,
            max_order_notional=config.risk.max_order_notional,
            max_price_age_ms=parse_duration_ms(config.risk.max_price_age),
        )
        self.clip_interval_ms = parse_duration_ms(config.execution.clip_interval)
        bases = [*self.holdings, *self.pending_value_holdings]
        series = tuple(dict.fromkeys([*(spot_symbol(b, self.quote) for b in bases), *self.hedge_symbols]))
        self.estimator = CovarianceEstimator(
            series,
            step_ms=parse_duration_ms(config.hedge.sample),
            window_ms=parse_duration_ms(config.hedge.window),
            min_samples=config.hedge.min_samples,
        )
        self.prices: dict[Symbol, float] = {}
        self.price_ts: dict[Symbol, int] = {}
        self.funding: dict[Symbol, FundingObserved] = {}
        self.positions: dict[Symbol, float] = {}
        self.equity: float | None = None
        self.inflight: dict[ClientOrderId, tuple[Symbol, float]] = {}  # open orders: remaining signed qty
        self.parents: dict[Symbol, Parent] = {}
        self.targets: dict[Symbol, HedgeTarget] = {}
        self.last_decision: Decision | None = None
        self.stats = EngineStats()

    # ---- inputs -----------------------------------------------------------------------------------

    def on_market(self, event: MarketEvent) -> None:
        if isinstance(event, PriceObserved):
            self.prices[event.symbol] = event.price
            self.price_ts[event.symbol] = event.ts
            self.estimator.on_price(event.ts, event.symbol, event.price)
        elif isinstance(event, FundingObserved):
            self.funding[event.symbol] = event

    def on_venue(self, event: VenueEvent) -> None:
        if isinstance(event, Fill):
            self.positions[event.symbol] = self.positions.get(event.symbol, 0.0) + event.signed_qty
            self._reduce_inflight(event.client_id, event.signed_qty)
        elif isinstance(event, OrderUpdate):
            if event.status.is_final:
                self.inflight.pop(event.client_id, None)
                if event.status is OrderStatus.REJECTED:
                    self._stop_parent(event.symbol)
        elif isinstance(event, AccountSnapshot):
            self.equity = event.equity
            self.positions = {p.symbol: p.qty for p in event.positions if p.qty != 0}

    def _reduce_inflight(self, client_id: ClientOrderId, signed_qty: float) -> None:
        entry = self.inflight.get(client_id)
        if entry is not None:
            symbol, remaining = entry
            self.inflight[client_id] = (symbol, remaining - signed_qty)

    def _stop_parent(self, symbol: Symbol) -> None:
        self.stats.rejected += 1
        parent = self.parents.get(symbol)
        if parent is not None:
            self.parents[symbol] = parent.finished(ParentStatus.STOPPED)

    # ---- time -------------------------------------------------------------------------------------

    def on_time(self, now: int) -> list[Action]:
        """Called once after all events of one instant: sample, decide, and work due clips."""
        actions: list[Action] = []
        if self.estimator.due(now):
            self.stats.samples += self.estimator.sample(now)
            if now >= self.trading_from_ms:
                actions.extend(self._decide(now))
        if now >= self.trading_from_ms:
            actions.extend(self._work_parents(now))
        return actions

    # ---- deciding ---------------------------------------------------------------------------------

    def exposure(self) -> Exposure:
        return value_holdings(self.holdings, self.prices, self.quote)

    def _policy(self, exposure: Exposure) -> PolicyResult | None:
        hedge = self.config.hedge
        value = exposure.total
        proxy = Symbol(hedge.proxy_symbol)
        if hedge.policy == "fixed":
            return fixed_policy(value, proxy, hedge.ratio)
        if not self.estimator.ready:
            return None
        weights = {spot_symbol(base, self.quote): w for base, w in exposure.weights().items()}
        view = self.estimator.view()
        if hedge.policy == "beta":
            return beta_policy(value, proxy, hedge.ratio, view, weights)
        return min_variance_policy(value, self.hedge_symbols, hedge.ratio, view, weights, hedge.ridge)

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
        if self.pending_value_holdings and not self._buy_value_holdings():
            return []
        exposure = self.exposure()
        if exposure.missing or exposure.total <= 0 or any(s not in self.prices for s in self.hedge_symbols):
            return []
        result = self._policy(exposure)
        if result is None:
            return []
        result = cap_to_exposure(result, exposure.total, self.config.hedge.allow_overhedge)
        targets = {
            symbol: size_target(self.instruments[symbol], result.notionals.get(symbol, 0.0), self.prices[symbol],
                                self.config.hedge.rounding)
            for symbol in self.hedge_symbols
        }  # fmt: skip
        self.targets = targets
        fired = drift_outside_band(
            {s: t.notional for s, t in targets.items()},
            {s: self._notional(s, self._planned_position(s)) for s in self.hedge_symbols},
            self.config.hedge.rebalance_band,
            self.config.hedge.min_trade_notional,
        )
        if fired is None:
            return []
        return [self._make_decision(now, fired, result, targets)]

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
        for target in decision.targets:
            self.parents[target.symbol] = Parent(
                decision_id=decision.id,
                symbol=target.symbol,
                target_qty=target.qty,
                reason=f"{fired.name}: {fired.reason}",
                created_ts=now,
                next_due_ts=now,
                arrival_price=self.prices[target.symbol],
            )
        return DecisionMade(decision)

    def _notional(self, symbol: Symbol, qty: float) -> float:
        return self.instruments[symbol].notional(qty, self.prices[symbol])

    def _inflight_qty(self, symbol: Symbol) -> float:
        return sum(remaining for s, remaining in self.inflight.values() if s == symbol)

    def _planned_position(self, symbol: Symbol) -> float:
        return self.positions.get(symbol, 0.0) + self._inflight_qty(symbol)

    # ---- executing --------------------------------------------------------------------------------

    def _work_parents(self, now: int) -> list[Action]:
        actions: list[Action] = []
        for symbol, parent in list(self.parents.items()):
            if parent.status is not ParentStatus.WORKING or now < parent.next_due_ts:
                continue
            if any(s == symbol for s, _ in self.inflight.values()):
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
        verdict = check_clip(
            instrument, clip.qty, price, now - self.price_ts[symbol], self.positions, self.prices,
            self.instruments, self.equity if self.equity is not None else 0.0, self.limits,
        )  # fmt: skip
        held: list[Action] = []
        if verdict.notes:
            self.stats.held += 1
            held.append(ClipHeld(now, symbol, verdict.notes))
        if verdict.blocked:
            self.parents[symbol] = parent.advanced(now, self.clip_interval_ms)
            return held
        request = self._order_request(parent, instrument, verdict.qty, clip.reduce_only, price)
        self.inflight[request.client_id] = (symbol, request.signed_qty)
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
            client_id=client_order_id(parent.decision_id, parent.next_clip_no),
            symbol=parent.symbol,
            side=side,
            qty=abs(qty),
            order_type=order_type,
            price=limit_price,
            reduce_only=reduce_only,
            decision_id=parent.decision_id,
            clip_no=parent.next_clip_no,
        )
