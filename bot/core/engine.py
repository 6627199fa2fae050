"""The engine: events in, actions out. Pure: no I/O, no clock reads, no awaits.

market events → prices and estimators; at each sampling step → policy → targets → trigger → decision →
parents; parents due → clips → limits → order requests. Fills and account snapshots from the venue update
positions and equity. The shell (`bot.live.daemon`) journals and executes the actions this returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial

from bot.config import Config
from bot.core.carry_book import CarryBook, CarrySwitched
from bot.core.sanity import PriceSanity, Screened
from bot.domain import (
    AccountSnapshot,
    BookObserved,
    Decision,
    DecisionId,
    Fill,
    FundingObserved,
    HedgeTarget,
    Instrument,
    MarketEvent,
    OrderUpdate,
    PriceObserved,
    Rounding,
    Symbol,
    VenueEvent,
    parse_duration_ms,
    round_to_step,
    spot_symbol,
    utc_time,
)
from bot.execution.actions import CancelOrder, ClipHeld, ExecutionAction, ParentClosed, PlaceOrder, RollChanged
from bot.execution.clips import Parent
from bot.execution.executor import Executor
from bot.execution.ids import decision_id
from bot.execution.legs import HedgeLeg, LegKind, parse_legs
from bot.execution.order_states import OrderTracker
from bot.execution.roll_driver import Roller
from bot.hedge.decider import HedgeDecider, TargetCap
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import Exposure, value_holdings
from bot.hedge.policies import PolicyResult, portfolio_beta, portfolio_correlation
from bot.hedge.protective import Protection, basket_volatility, protection_settings
from bot.hedge.triggers import TriggerFired
from bot.risk.governance import CutHedge, Governance, StaleNotice
from bot.risk.inverse import equity_in_quote
from bot.risk.limits import Limits
from bot.risk.marking import marked_account
from bot.risk.staleness import stale_prices
from bot.risk.state import Governor, StateChanged, TradingState
from bot.risk.topup import TopUp


@dataclass(frozen=True, slots=True)
class DecisionMade:
    decision: Decision


@dataclass(frozen=True, slots=True)
class RiskNotice:
    """Something risk-related the operator should hear that is not a state change (a collateral WARN, a feed gone
    stale)."""

    ts: int
    kind: str
    key: str
    message: str


Action = ExecutionAction | DecisionMade | StateChanged | RiskNotice | TopUp


def _series_by_price_symbol(legs: Iterable[HedgeLeg]) -> dict[Symbol, tuple[Symbol, ...]]:
    """The estimator series each price feeds: a dated leg's series is its reference perpetual's price."""
    series: dict[Symbol, tuple[Symbol, ...]] = {}
    for leg in legs:
        if leg.reference != leg.spec:
            series[leg.reference] = (*series.get(leg.reference, (leg.reference,)), leg.spec)
    return series


__all__ = [
    "Action",
    "CancelOrder",
    "ClipHeld",
    "DecisionMade",
    "Engine",
    "ParentClosed",
    "PlaceOrder",
    "RiskNotice",
    "RollChanged",
]


@dataclass(slots=True)
class EngineStats:
    decisions: int = 0
    samples: int = 0
    triggers: dict[str, int] = field(default_factory=dict)


def _fixed_while_running(config: Config) -> dict[str, object]:
    """What defines the estimator's history and the feed's subscriptions: a restart is needed to change it."""
    return {
        "hedge.instruments": config.hedge.instruments,
        "hedge.window": config.hedge.window,
        "hedge.sample": config.hedge.sample,
        "portfolio.quote": config.portfolio.quote,
        "portfolio.posted": config.portfolio.posted,  # the coin account's collateral: paper starts the account with it
        "portfolio assets": sorted([*config.portfolio.holdings, *config.portfolio.holdings_value]),
        "portfolio.accounts": config.portfolio.accounts,  # read by the feed from the start (bot/feeds/accounts.py)
        "prices": config.prices,  # the holdings' price streams
        "bot.mode": config.bot.mode,
    }


def reloaded_holdings(old: Config, new: Config, held: Mapping[str, float]) -> dict[str, float]:
    """What a reload sets the holdings to: the new static quantities, plus, for an asset read from exchange
    accounts, what the accounts hold beyond the old static quantity (a reload must not forget a balance)."""
    read = set(new.portfolio.account_assets)
    return {
        base: qty + (held.get(base, 0.0) - old.portfolio.holdings.get(base, 0.0) if base in read else 0.0)
        for base, qty in new.portfolio.holdings.items()
    }


class Engine:
    def __init__(self, config: Config, instruments: Mapping[Symbol, Instrument], trading_from_ms: int) -> None:
        self.config = config
        self.instruments = dict(instruments)
        self.trading_from_ms = trading_from_ms
        self.quote = config.portfolio.quote
        self.holdings = dict(config.portfolio.holdings)
        self.pending_value_holdings = dict(config.portfolio.holdings_value)
        self.legs = {leg.spec: leg for leg in parse_legs(config.hedge.instruments)}
        self._leg_instruments_of: tuple[tuple[Instrument, ...], dict[Symbol, Instrument]] | None = None
        self.hedge_symbols = tuple(self.legs)  # the legs as configured: what the hedge maths targets
        self._series_of = _series_by_price_symbol(self.legs.values())
        bases = [*self.holdings, *self.pending_value_holdings, *config.portfolio.locked]
        bases += config.portfolio.account_assets  # holdings read from exchange accounts (bot/live/holdings_sync.py)
        if config.settlement_currency != self.quote:  # a coin-margined account's coin is held (exposure_quantities)
            bases.append(config.settlement_currency)
        series = tuple(dict.fromkeys([*(spot_symbol(b, self.quote) for b in bases), *self.hedge_symbols]))
        self.estimator = CovarianceEstimator(
            series,
            step_ms=parse_duration_ms(config.hedge.sample),
            window_ms=parse_duration_ms(config.hedge.window),
            min_samples=config.hedge.min_samples,
            fast_halflife_ms=parse_duration_ms(config.hedge.tier_halflife),
        )
        self.decider = HedgeDecider(config, self._leg_instruments(), self.estimator)
        self.protection = Protection(protection_settings(config.hedge))  # protective_put, cppi: the cover
        self.sanity = PriceSanity(config.sanity)  # implausible prints are held here, never used (bot.core.sanity)
        self.prices: dict[Symbol, float] = {}
        self.price_ts: dict[Symbol, int] = {}
        self.books: dict[Symbol, BookObserved] = {}
        self.funding: dict[Symbol, FundingObserved] = {}
        self.positions: dict[Symbol, float] = {}
        self.equity: float | None = None
        self.executor = Executor(config, self)
        self.roller = Roller(config, tuple(self.legs.values()), self.executor)
        self.carry = CarryBook(config, self.legs.values(), self.roller)  # "…@carry" legs: perpetual or quarterly
        self.targets: dict[Symbol, HedgeTarget] = {}
        self.last_decision: Decision | None = None
        self.governor = Governor()
        self.governance = Governance(config.risk, self.governor)
        self.account_ts: int | None = None
        self.account: AccountSnapshot | None = None
        # legs on several venues (`[venues]`): each leg's venue id, set by the shell from its routes; empty with one
        # venue. Each venue's legs are capped by its own account's buffer and leverage (`AccountSnapshot.venues`).
        self.leg_venues: dict[Symbol, str] = {}
        self._venue_down: dict[Symbol, str] = {}  # legs held because their venue is down (the shell's watch) → why
        self._venue_stale: dict[str, str] = {}  # venues held because their legs' prices are stale → why
        self._pending: list[Action] = []  # state changes and cuts raised by venue events, emitted at the next instant
        self.stats = EngineStats()
        self.paused = False
        self.ratio_override: tuple[float, int] | None = None  # (ratio, until event time)
        self._forced_trigger: tuple[str, str] | None = None  # fires at the next instant, whatever the band says
        self._trading_allowed = False  # at the latest instant: active and not paused
        self._recheck = False  # trading has just become allowed: look at the band now, not at the next sample
        self._halt_when_flat = False
        self.loss_cover = False  # a portfolio max-loss breach holds the hedge at full cover (on_max_loss full_cover)
        self.now = 0  # the latest instant seen: event time in replay, wall time live

    @property
    def orders(self) -> OrderTracker:
        return self.executor.orders

    @property
    def parents(self) -> dict[Symbol, Parent]:
        return self.executor.parents

    @property
    def limits(self) -> Limits:
        return self.executor.limits

    def _leg_instruments(self) -> dict[Symbol, Instrument]:
        """Each leg under its own name, sized as its reference perpetual (a dated contract of the same pair has the
        same terms): targets come out named by leg."""
        references = tuple(self.instruments[leg.reference] for leg in self.legs.values())
        known = self._leg_instruments_of
        # asked at every decision (the buffer's cap): rebuilt only when a leg or its reference's definition changes
        same = known is not None and list(known[1]) == list(self.legs)  # then as many references as before
        if known is None or not same or any(a is not b for a, b in zip(known[0], references, strict=True)):
            built = {spec: replace(ref, symbol=spec) for spec, ref in zip(self.legs, references, strict=True)}
            self._leg_instruments_of = known = (references, built)
        return dict(known[1])

    def contracts_wanted(self, now: int) -> list[Symbol]:
        """Contracts the legs may trade from `now` on whose market definitions are not loaded yet."""
        wanted = [c for leg in self.legs.values() for c in (leg.reference, *leg.contracts_listed(now))]
        return [c for c in dict.fromkeys(wanted) if c not in self.instruments]

    def add_instruments(self, instruments: Mapping[Symbol, Instrument]) -> None:
        self.instruments.update(instruments)

    # ---- inputs -----------------------------------------------------------------------------------

    def on_market(self, event: MarketEvent) -> Screened:
        """Apply a market event once the sanity layer passes it. Returns what passed (the events the rest of the
        world may see: the paper venue too) and the filter's notes (quarantined, confirmed, discarded prints)."""
        screened = self.sanity.screen(event)
        for passed in screened.passed:
            self._apply_market(passed)
        return screened

    def _apply_market(self, event: MarketEvent) -> None:
        if isinstance(event, PriceObserved):
            self.prices[event.symbol] = event.price
            self.price_ts[event.symbol] = event.ts
            for series in self._series_of.get(event.symbol, (event.symbol,)):
                self.estimator.on_price(event.ts, series, event.price)
            if event.quote_volume_24h is not None:  # proxy candidates' liquidity tiers
                self.decider.proxy_choice.on_volume(event.ts, event.symbol, event.quote_volume_24h)
        elif isinstance(event, FundingObserved):
            self.funding[event.symbol] = event
            self.carry.on_funding(event)
        elif isinstance(event, BookObserved):
            self.books[event.symbol] = event

    def on_venue(self, event: VenueEvent) -> None:
        """Apply what the venue reports. Raises IllegalTransition for an impossible order status report."""
        if isinstance(event, Fill):
            # positions are whole lots: snap the float sum so 0.3 − 0.1 − 0.2 is flat, not −2.8e-17
            lot = self.instruments[event.symbol].lot_step if event.symbol in self.instruments else 0.0
            position = self.positions.get(event.symbol, 0.0) + event.signed_qty
            self.positions[event.symbol] = round_to_step(position, lot, Rounding.NEAREST) if lot else position
            self.executor.on_fill(event)
            self.roller.on_fill(event)
        elif isinstance(event, OrderUpdate):
            self.executor.on_update(event)
        elif isinstance(event, AccountSnapshot):
            # positions follow fills only: a snapshot fetched before a fill it includes reaches us would count
            # that fill twice; the venue's positions are adopted by reconciliation (`adopt_positions`)
            self.equity = self.in_quote(event)  # a coin-margined account's equity valued in the quote, once here
            self.account_ts = event.ts
            self.account = event
            self.governance.reserve.account_seen()  # a fresh snapshot: top-ups executed are in its equity
            self._govern_account(event)

    def adopt_positions(self, snapshot: AccountSnapshot) -> None:
        """Take the venue's positions as ours (reconciliation: they include every fill, seen or missed)."""
        self.positions = {p.symbol: p.qty for p in snapshot.positions if p.qty != 0}
        self.executor.positions_adopted()

    def _govern_account(self, snapshot: AccountSnapshot) -> None:
        exposure = self.exposure()
        if exposure.missing:
            return
        equity = self.in_quote(snapshot)
        if math.isnan(equity) and not math.isnan(snapshot.equity):  # its coin not priced yet, as a missing price
            return
        # the whole portfolio: a coin account's equity is already in the exposure (its coin, held)
        portfolio = exposure.total + (equity if snapshot.currency in (self.quote, "") else 0.0)
        trading = self.now >= self.trading_from_ms  # warm-up replays history: no money is moved on its prices
        verdict = self.governance.on_account(snapshot, portfolio, self.prices, self.instruments, equity, top_up=trading)
        self._pending.extend(verdict.changes)
        if verdict.notice is not None:
            self._pending.append(RiskNotice(snapshot.ts, "collateral", verdict.notice.step, verdict.notice.reason))
        loss = verdict.loss_notice
        if loss is not None:
            self._pending.append(RiskNotice(snapshot.ts, "max_loss", loss.key, loss.reason))
        if verdict.full_cover != self.loss_cover:  # a portfolio max-loss breach began or ended: re-decide at once
            self.loss_cover = verdict.full_cover
            why = "portfolio loss beyond its limit: full cover" if verdict.full_cover else "portfolio loss recovered"
            self._forced_trigger = ("max_loss_cover", why)
        if verdict.top_up is not None:
            self._pending.append(verdict.top_up)
        if verdict.cut is not None and trading:  # asked again at every evaluation: after warm-up, top-ups first
            self._pending.extend(self._cut_hedge(snapshot.ts, verdict.cut, snapshot))

    def on_transfer(self, transfer: str, executed: bool, ts: int, *, refused: bool = True) -> TopUp | None:
        """The shell's word on a top-up it was asked for: executed (the hedge account holds it), refused, or never
        executed (lost on its way: asked again at once)."""
        return self.governance.transfer_settled(transfer, executed, ts, refused=refused)

    def _govern_marks(self, now: int) -> None:
        """The latest account snapshot revalued at the marks now, governed like a fresh one (a rally that eats the
        hedge account's margin is seen as it happens). The snapshot's own time stays what the staleness gate
        reads: revaluing it never makes an old account look fresh."""
        account = self.account
        if account is None or not account.positions or now <= account.ts:
            return
        marked = marked_account(account, self.prices, self.instruments, now)
        if marked is not account:
            self._govern_account(marked)

    def _cut_hedge(self, now: int, cut: CutHedge, snapshot: AccountSnapshot) -> list[Action]:
        """Collateral cut (REDUCE step and below): shrink every hedge leg by the cut's fraction of what the account
        snapshot held, in reduce-only clips that no trading state blocks (protective). With legs on several venues,
        only the legs of the cut's venue, by its own account: the others do not move its liquidation. Asked again
        on every account evaluation while the buffer stays below the reduce step: a leg already at its target (its
        cut filled before a new snapshot shows it) or whose protective parent already cuts as far is left alone,
        so a cut stopped by a kill switch, a pause or a rejected clip is taken up again, and a deeper fall deepens
        it, but a cut is never taken twice."""
        fraction, reason, one_venue = cut.fraction, cut.reason, bool(cut.venue)
        account = dict(snapshot.venues).get(cut.venue, snapshot)  # what the fraction was computed on
        basis = {p.symbol: p.qty for p in account.positions}
        targets: dict[Symbol, HedgeTarget] = {}
        for spec, leg in self.legs.items():
            held = self.leg_position(leg)
            lot = self.instruments[leg.reference].lot_step
            snapshot_held = [qty for symbol, qty in basis.items() if leg.holds(symbol)]
            if one_venue and not snapshot_held:  # a leg on another venue: its own account is not the one cut
                continue
            base = sum(snapshot_held) if snapshot_held else held
            target = round_to_step(base * (1 - fraction), lot)
            beyond = held * target >= 0 and abs(held) - abs(target) >= lot / 2  # still more than the target
            if held and beyond and not self._cut_under_way(leg, target, lot):
                targets[spec] = HedgeTarget(spec, target, 0.0)
        if not targets:
            return []
        self.targets = {**self.targets, **targets}
        fired = TriggerFired("collateral_reduce", reason, {"fraction": fraction})
        return self._make_decision(now, fired, PolicyResult({}), targets, protective=True)

    def _cut_under_way(self, leg: HedgeLeg, target: float, lot: float) -> bool:
        """A protective parent already drives one of the leg's contracts at least as far down as `target`."""
        return any(
            parent.protective and leg.holds(parent.symbol) and abs(parent.target_qty) <= abs(target) + lot / 2
            for parent in self.executor.working()
        )

    def hold_venue_legs(self, held: Mapping[Symbol, str]) -> None:
        """The legs whose venue is down (`held`: leg → why; bot.live.venue_watch): their working parents end (no
        order goes there), their positions are held, the others re-decide at once to take over."""
        self._venue_down = dict(held)
        self._hold_legs()

    def _hold_legs(self) -> None:
        """Hold the legs of the venues down and of those whose prices are stale (one path for both)."""
        stale = {
            spec: f"venue {venue} prices stale: {self._venue_stale[venue]}"
            for spec, venue in self.leg_venues.items()
            if venue in self._venue_stale
        }
        held = {**stale, **self._venue_down}  # down says more than stale: its why wins
        for spec in held.keys() - self.decider.venue_held.keys():
            for symbol in [s for s in self.executor.parents if self.legs[spec].holds(s)]:
                self.executor.hand_over(symbol)
        if set(held) != set(self.decider.venue_held):
            self._recheck = True
        self.decider.venue_held = dict(held)

    @property
    def venues_stale(self) -> dict[str, str]:
        """The venues whose legs are held because their prices are stale (`[venues]`), with why."""
        return dict(self._venue_stale)

    def venue_of(self, symbol: Symbol) -> str:
        """The venue that trades `symbol` (a leg, or one of its contracts): "" with one venue."""
        for spec, venue in self.leg_venues.items():
            leg = self.legs.get(spec)
            if leg is not None and (leg.holds(symbol) or leg.reference == symbol):
                return venue
        return ""

    def venue_equity(self, venue: str) -> float | None:
        """That venue's own equity, from its part of the latest account; None when it has not reported."""
        part = dict(self.account.venues).get(venue) if self.account is not None else None
        return None if part is None else part.equity

    def leg_position(self, leg: HedgeLeg) -> float:
        """Contracts held across the contracts of a leg (near and far during a roll)."""
        return sum(qty for symbol, qty in self.positions.items() if leg.holds(symbol))

    # ---- time -------------------------------------------------------------------------------------

    def on_time(self, now: int) -> list[Action]:
        """Called once after all events of one instant: sample, decide, and work due clips.

        Live, instants come from two clocks (the exchange's event times and the wall-clock timer) and may step
        back by the streams' latency: the engine's time never does, so durations and intervals stay whole."""
        now = self.now = max(self.now, now)
        if now >= self.trading_from_ms:
            self._govern_marks(now)  # collateral and max loss at this instant's marks, not the last report's
        actions: list[Action] = self._pending
        self._pending = []
        dropped = self._drop_stale_proxies(now)  # before sampling: the sampler must not wait for them
        if now >= self.trading_from_ms:  # warm-up trades nothing
            actions.extend(dropped)
            actions.extend(self._hold_stale_venues(now))
            change, stale = self._gate_on_staleness(now)
            actions.extend([change] if change is not None else [])
            actions.extend(RiskNotice(now, "stale_feed", notice.key, notice.reason) for notice in stale)
        sampled = self.estimator.due(now)
        if sampled:
            self.stats.samples += self.estimator.sample(now)
        if now >= self.trading_from_ms:
            self._note_trading_allowed()
            if sampled or self._forced_trigger or self._recheck:
                actions.extend(self._decide(now))
            actions.extend(self.executor.work(now))
            actions.extend(self.roller.work(now, self.targets))
            if sampled and self._trading_allowed:  # a carry leg looks at funding and basis once a sampling step
                actions.extend(self._review_carry(now))
            actions.extend(self._halt_once_flat(now))
        return actions

    def _review_carry(self, now: int) -> list[Action]:
        """Carry legs' switches: each a `carry_switch` decision (counted like any) and the roll that moves it."""
        actions: list[Action] = []
        for item in self.carry.review(now, self.targets, self._next_decision_id):
            if isinstance(item, CarrySwitched):
                self.stats.triggers[item.decision.trigger] = self.stats.triggers.get(item.decision.trigger, 0) + 1
                actions.append(DecisionMade(item.decision))
            else:
                actions.append(item)
        return actions

    def _next_decision_id(self, now: int) -> DecisionId:
        self.stats.decisions += 1
        return decision_id(now, self.stats.decisions - 1)

    def _note_trading_allowed(self) -> None:
        """When trading becomes allowed (the first trading instant after a start, or a hold lifted), the hedge is
        checked against its band at once: a parent cut short by a crash or a halt is taken up again now, not up
        to a sampling step (an hour) later."""
        allowed = self.governor.state is TradingState.ACTIVE and not self.paused
        if allowed and not self._trading_allowed:
            self._recheck = True
        self._trading_allowed = allowed

    def _gate_on_staleness(self, now: int) -> tuple[StateChanged | None, list[StaleNotice]]:
        """Fail closed on stale prices of the hedge instruments or of the holdings, funding of the perpetuals, or the
        account: a holding valued at an old price is an exposure the hedge cannot be sized on."""
        held = {**self.decider.proxy_choice.stale, **self.decider.venue_held}  # dropped, venue down or stale
        legs = [leg for leg in self.legs.values() if leg.spec not in held]
        references = [leg.reference for leg in legs]
        references += [spot_symbol(base, self.quote) for base, qty in self.exposure_quantities().items() if qty > 0]
        perpetuals = [leg.reference for leg in legs if leg.kind in (LegKind.PERPETUAL, LegKind.CARRY)]
        return self.governance.on_time(
            now,
            {s: self.price_ts.get(s) for s in references},
            {s: self.funding[s].ts if s in self.funding else None for s in perpetuals},
            self.account_ts,
        )

    def _hold_stale_venues(self, now: int) -> list[RiskNotice]:
        """`[venues]`: a venue whose legs' prices are all stale (its market streams silent) holds its own legs, as
        a venue down does, instead of gating the whole book; lifted at the first instant they are fresh again."""
        stale, before = self._stale_venues(now), self._venue_stale
        if stale.keys() == before.keys():  # the same venues held: their why stays as first said (ages move on)
            return []
        self._venue_stale = stale
        self._hold_legs()
        notices = []
        for venue in stale.keys() - before.keys():
            legs = ", ".join(spec for spec, v in self.leg_venues.items() if v == venue)
            why = f"prices stale ({stale[venue]})"
            message = f"venue {venue} {why}: its legs ({legs}) held, positions kept; the others trade on"
            notices.append(RiskNotice(now, "venue_down", venue, message))
        down = {self.leg_venues.get(spec) for spec in self._venue_down}
        for venue in before.keys() - stale.keys() - down:  # one gone down meanwhile stays held: not "fresh"
            notices.append(
                RiskNotice(now, "venue_down", f"{venue} back", f"venue {venue} prices fresh: its legs trade again")
            )
        return notices

    def _stale_venues(self, now: int) -> dict[str, str]:
        """The venues to hold for stale prices, with why. The rule, kept simple and fail-closed: only with legs on
        several venues; a venue qualifies when the mark of EVERY leg it trades (not already held: dropped proxy,
        venue down) is older than `max_price_age` (a silent market stream ages them all; one stale symbol among
        fresh ones is no venue outage and gates the book as before); and only while at least one venue with such
        legs stays fresh (stale on every venue: nothing is trusted, the whole book gates). Holdings' prices and
        funding are not considered here: they gate the whole book as before."""
        if not self.leg_venues:
            return {}
        excluded = {**self.decider.proxy_choice.stale, **self._venue_down}
        by_venue: dict[str, list[HedgeLeg]] = {}
        for spec, leg in self.legs.items():
            if spec not in excluded:
                by_venue.setdefault(self.leg_venues.get(spec, ""), []).append(leg)
        limits = self.governance.staleness_limits
        found = stale_prices(
            now, limits, {leg.spec: self.price_ts.get(leg.reference) for leg in self.legs.values()}, {}
        )
        stale = {
            venue: ", ".join(found[leg.spec].describe() for leg in legs)
            for venue, legs in by_venue.items()
            if all(leg.spec in found for leg in legs)
        }
        return stale if len(stale) < len(by_venue) else {}

    def _drop_stale_proxies(self, now: int) -> list[RiskNotice]:
        """With proxy selection on, a candidate proxy whose price or funding stopped is done without rather than
        gated on (`_gate_on_staleness` leaves it out): the selection drops it at once, the return sampler stops
        waiting for it, and its position is held (bot.hedge.proxy_select). Without proxy selection: nothing."""
        choice = self.decider.proxy_choice
        if not choice.on:
            return []
        legs = [self.legs[spec] for spec in choice.candidates if spec in self.legs]
        found = stale_prices(
            now,
            self.governance.staleness_limits,
            {leg.spec: self.price_ts.get(leg.reference) for leg in legs},
            {leg.spec: self.funding[leg.reference].ts if leg.reference in self.funding else None for leg in legs},
        )
        stale = {symbol: item.describe() for symbol, item in found.items()}
        before = dict(choice.stale)
        self.estimator.sampler.hold(stale)
        if not choice.set_stale(stale):
            return []
        self._recheck = True  # dropped at once, not at the next sampling step
        notices = [
            RiskNotice(now, "stale_feed", f"proxy {symbol}", f"{why}: dropped from the proxies, its position held")
            for symbol, why in stale.items()
            if symbol not in before
        ]
        notices += [
            RiskNotice(now, "stale_feed", f"proxy {symbol}", f"{symbol} fresh again: a proxy candidate again")
            for symbol in before
            if symbol not in stale
        ]
        return notices

    # ---- deciding ---------------------------------------------------------------------------------

    @property
    def ratio(self) -> float:
        """The hedge ratio in force: full cover while a portfolio max-loss breach asks for it, else the operator's
        override until it expires, else the config's."""
        if self.loss_cover:
            return 1.0
        if self.ratio_override is not None:
            ratio, until = self.ratio_override
            if self.now < until:
                return ratio
            self.ratio_override = None
        return self.config.hedge.ratio

    def warm_up_progress(self) -> tuple[int, int]:
        """The samples the estimator holds in its window, and how many estimates need (`hedge.min_samples`)."""
        return self.estimator.stats.count, self.estimator.stats.min_periods

    def portfolio_estimates(self) -> tuple[float | None, float | None]:
        """Correlation and beta of the hedged portfolio to the proxy over the window (None before estimates)."""
        weights = self.decider.weights(self.exposure())
        if not self.estimator.ready or not weights:
            return None, None
        view = self.estimator.view()
        proxy = Symbol(self.config.hedge.proxy_symbol)
        return portfolio_correlation(view, weights, proxy), portfolio_beta(view, weights, proxy)

    def step_untaken(self, now: int) -> int | None:
        """The start of the sampling step `now` falls in while no instant of it has been worked (not sampled yet):
        a wall-clock timer working `now` before the step's prints arrive would sample the old prices."""
        if not self.estimator.is_due(now):
            return None
        return now - now % self.estimator.step_ms

    def instant_complete(self, ts: int) -> bool:
        """Every price series the estimator samples, and every book the feed gives, has printed at `ts`: no event
        of that instant that the decision or a fill reads is still to come, so it can be decided now rather than
        when the next instant's first event (or a timer) arrives. (Funding is published at its own instants: one
        that arrives after the close is applied and the instant worked once more, as the timer would.)"""
        price_ts = self.price_ts
        held = self.decider.proxy_choice.stale  # proxies whose feed stopped: not waited for
        if not all(price_ts.get(series) == ts for series in self.estimator.series if series not in held):
            return False
        return all(book.ts == ts for book in self.books.values())

    def exposure(self) -> Exposure:
        """Spot holdings, locked ones included, at the latest prices."""
        return value_holdings(self.exposure_quantities(), self.prices, self.quote)

    def exposure_quantities(self) -> dict[str, float]:
        """Spot holdings with locked ones added, by base: what is valued (and whose prices must be fresh)."""
        held = dict(self.holdings)
        for base, qty in self.config.portfolio.locked.items():
            held[base] = held.get(base, 0.0) + qty
        account = self.account
        if account is not None and account.currency not in (self.quote, ""):  # a coin-margined hedge account
            coin = account.currency  # its coin is held too (posted: it is the holding), counted once, hedged
            equity = marked_account(account, self.prices, self.instruments, account.ts).equity
            held[coin] = equity + (0.0 if coin in self.config.portfolio.posted else held.get(coin, 0.0))
        return held

    def in_quote(self, snapshot: AccountSnapshot) -> float:
        """The hedge account's equity in the quote currency (its coin at the coin's price for an inverse one)."""
        return equity_in_quote(snapshot, self.quote, self.prices, self.instruments)

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
        unpriced = [spec for spec, leg in self.legs.items() if leg.reference not in self.prices]
        held = self.decider.proxy_choice.stale  # proxies done without: a never-priced one waits for nothing
        if exposure.missing or exposure.total <= 0 or any(spec not in held for spec in unpriced):
            return []
        forced, self._forced_trigger = self._forced_trigger, None
        self._recheck = False
        planned = {spec: self._planned_leg(leg) for spec, leg in self.legs.items()}
        legs = {spec: self.prices[leg.reference] for spec, leg in self.legs.items() if spec not in unpriced}
        prices = {**self.prices, **legs}
        cover = self._protect(now, exposure)
        cap = self._buffer_cap(now, planned, prices)
        proposal = self.decider.decide(now, exposure, prices, planned, self.ratio * cover, forced, cap)
        if proposal is None:
            return []
        self.targets = proposal.targets
        result = proposal.result
        if self.protection.state is not None:  # the floor, the cushion and the cover go with the decision
            result = PolicyResult(result.notionals, {**result.numbers, **self.protection.state.numbers()})
        return self._make_decision(now, proposal.fired, result, proposal.targets)

    def _buffer_cap(
        self, now: int, planned: Mapping[Symbol, float], prices: Mapping[Symbol, float]
    ) -> TargetCap | None:
        """The collateral buffer's cap on what a decision adds (`bot.risk.headroom`): the account at the marks now,
        its positions outside the hedge legs kept. None before the account is seen."""
        account = self.account
        if account is None:
            return None
        marked = marked_account(account, self.prices, self.instruments, now)
        instruments = {**self.instruments, **self._leg_instruments()}
        if marked.venues and self.leg_venues:  # legs on several venues: each by its own account
            parts = {venue: self._outside_legs(part) for venue, part in marked.venues}
            cap = self.governance.cap_hedge_by_venue
            return partial(cap, parts, self.leg_venues, held=planned, marks=prices, instruments=instruments)
        snapshot = self._outside_legs(marked)
        return partial(self.governance.cap_hedge, snapshot, held=planned, marks=prices, instruments=instruments)

    def _outside_legs(self, account: AccountSnapshot) -> AccountSnapshot:
        """`account` with only its positions outside the hedge legs (a leftover contract, rare)."""
        others = tuple(p for p in account.positions if not any(leg.holds(p.symbol) for leg in self.legs.values()))
        return replace(account, positions=others)

    def _protect(self, now: int, exposure: Exposure) -> float:
        """A protective policy's cover (1 for the others) from the hedged basket, the hedge account's equity at the
        marks and the basket's volatility (EWM, else the window's)."""
        if self.protection.settings is None:
            return 1.0
        weights = self.decider.weights(exposure)
        view = self.estimator.fast_view() or (self.estimator.view() if self.estimator.ready else None)
        volatility = basket_volatility(view, weights, self.estimator.samples_per_year)
        account = self.account
        equity = None if account is None else self.in_quote(marked_account(account, self.prices, self.instruments, now))
        core = self.config.portfolio.core
        basket = sum(value for base, value in exposure.values.items() if base not in core)
        self.protection.update(now, basket, equity, volatility)
        return self.protection.cover

    def _make_decision(
        self,
        now: int,
        fired: TriggerFired,
        result: PolicyResult,
        targets: dict[Symbol, HedgeTarget],
        *,
        protective: bool = False,
    ) -> list[Action]:
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
        actions: list[Action] = [DecisionMade(decision)]
        for leg_no, target in enumerate(decision.targets):
            reason = fired.leg_reason(target.symbol, target.notional)
            actions.extend(self._drive_leg(now, decision.id, leg_no, target, reason, protective=protective))
        return actions

    def _drive_leg(
        self, now: int, decision: DecisionId, leg_no: int, target: HedgeTarget, reason: str, *, protective: bool = False
    ) -> list[Action]:
        """Point the leg's contract at the target; a rolling leg follows its target through the roll instead."""
        leg = self.legs[target.symbol]
        if self.roller.rolling(leg.spec):
            return []
        contract = self.carry.contract(leg, now, self.roller.window_ms)  # a carry leg: the contract it chose
        if contract is None or contract not in self.instruments or contract not in self.prices:
            what = "inside its closing window" if contract is None else "not listed or not priced yet"
            return [ClipHeld(now, leg.spec, (f"no contract takes new exposure for {leg.spec}: {what}",))]
        elsewhere = self.leg_position(leg) - self.positions.get(contract, 0.0)
        qty = target.qty - elsewhere
        return list(self.executor.start(now, decision, leg_no, contract, qty, reason, protective=protective))

    def notional(self, symbol: Symbol, qty: float) -> float:
        return self.instruments[symbol].notional(qty, self.prices[symbol])

    def _planned_leg(self, leg: HedgeLeg) -> float:
        """The leg's position with every order in flight counted as filled."""
        held = [symbol for symbol in self.positions if leg.holds(symbol)]
        inflight = [symbol for symbol in self.executor.inflight_symbols() if leg.holds(symbol)]
        return sum(self.executor.planned_position(symbol) for symbol in dict.fromkeys([*held, *inflight]))

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
        actions.extend(self._make_decision(now, fired, PolicyResult({}), flat))
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
        self._forced_trigger = ("operator_ratio", f"operator set ratio {ratio:g} until {utc_time(until_ms)}")
        return []

    def set_holding(self, now: int, base: str, qty: float) -> list[Action]:
        """Update a spot holding (a portfolio change trigger). Only assets the feed prices can be held."""
        if spot_symbol(base, self.quote) not in self.estimator.index:
            raise ValueError(f"holding {base!r} has no price stream; add it to [portfolio] and restart")
        self._change_holdings({base: qty})
        self._forced_trigger = ("portfolio_change", f"operator set holding {base} = {qty:g}")
        return []

    def _change_holdings(self, holdings: Mapping[str, float]) -> None:
        """New spot quantities from the operator: value that came or went is no gain or loss of the portfolio."""
        before = self.exposure().total
        self.holdings.update(holdings)
        self.governance.holdings_changed(self.exposure().total - before)
        self.protection.transfer(self.exposure().total - before)  # the peak moves with the holdings

    def _stop_all_work(self, reason: str) -> list[Action]:
        return list(self.executor.stop_all(reason))

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
        old, self.config = self.config, config
        self.executor.configure(config)
        self.roller.configure(config)
        self.carry.configure(config)
        self.governance.configure(config.risk)
        self._change_holdings(reloaded_holdings(old, config, self.holdings))
        self.decider.configure(config)
        self.protection.configure(protection_settings(config.hedge))
        self.sanity.configure(config.sanity)
        self._forced_trigger = ("config_reload", "operator reloaded the config")
        return []
