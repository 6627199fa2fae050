"""Deciding when and to what the hedge changes: policy → targets, then the triggers, then the pacing. Pure.

Triggers, in order of precedence (the decision records the first that fired and the numbers behind it):
an operator command (forced), the rebalance band, a volatility regime change (tier crossed after
hysteresis), correlation or beta leaving its trailing mean, and the schedule. A cooldown and an hourly cap
hold back all but operator commands, so triggers cannot churn the book.

A target whose gross notional jumps beyond `max_target_jump` × the last traded one (or falls below 1 / that) is
not traded at once: the decision is recorded as `target_jump_held` (targets: where the legs already are) and the
next decision must jump too to confirm it; one that does not clears it. Operator commands are never held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.config import Config
from bot.domain import HedgeTarget, Instrument, Symbol, parse_duration_ms, spot_symbol
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.exposure import Exposure
from bot.hedge.liquidity import DailyVolumes
from bot.hedge.pacing import RebalancePacer
from bot.hedge.policies import CovarianceView, PolicyResult, portfolio_beta, portfolio_correlation
from bot.hedge.proxy_select import ProxyChoice
from bot.hedge.sizing import size_target
from bot.hedge.targeting import hedge_notionals
from bot.hedge.tiers import Tier, TierSelector
from bot.hedge.triggers import TrailingShift, TriggerFired, drift_outside_band
from bot.hedge.venue_holds import hold_legs
from bot.risk.headroom import HedgeCap

# What the collateral buffer allows of a decision's targets (`bot.risk.headroom`): None when they fit
TargetCap = Callable[[dict[Symbol, HedgeTarget]], HedgeCap | None]


@dataclass(frozen=True, slots=True)
class Proposal:
    """A decision to be made: the trigger, the policy's numbers and the targets per instrument."""

    fired: TriggerFired
    result: PolicyResult
    targets: dict[Symbol, HedgeTarget]


class HedgeDecider:
    def __init__(self, config: Config, instruments: Mapping[Symbol, Instrument], estimator: CovarianceEstimator):
        self.instruments = instruments
        self.estimator = estimator
        self.held_back = 0  # triggers the pacer held back
        self.targets: dict[Symbol, HedgeTarget] = {}
        self._last_rebalance: int | None = None
        self._traded_gross: float | None = None  # Σ |target notional| of the last proposal let through
        self._jump_held = False  # the last decision was a jump held for confirmation
        self._volumes = DailyVolumes()  # proxy candidates' daily quote volumes (bot.hedge.liquidity)
        self.venue_held: dict[Symbol, str] = {}  # legs whose venue is down or priced stale → why (set by the engine)
        self.configure(config)

    def configure(self, config: Config) -> None:
        hedge = config.hedge
        self.config = config
        self.tiers = TierSelector([Tier(t.above, t.ratio) for t in hedge.tiers], hedge.tier_hysteresis)
        trailing = parse_duration_ms(hedge.trailing_halflife)
        self.correlation = TrailingShift("correlation_shift", hedge.correlation_band, trailing)
        self.beta = TrailingShift("beta_shift", hedge.beta_band, trailing)
        self.pacer = RebalancePacer(parse_duration_ms(hedge.cooldown), hedge.max_rebalances_per_hour)
        self.schedule_ms = parse_duration_ms(hedge.schedule)
        # proxy_select: the chosen proxies (the candidates' volumes are the market's: kept across a reload)
        self.proxy_choice = ProxyChoice(hedge, config.portfolio.quote, self._volumes)

    @property
    def tier_ratio(self) -> float:
        return self.tiers.ratio if self.config.hedge.policy == "tiered" else 1.0

    def decide(
        self,
        now: int,
        exposure: Exposure,
        prices: Mapping[Symbol, float],
        planned: Mapping[Symbol, float],
        ratio: float,
        forced: tuple[str, str] | None,
        cap: TargetCap | None = None,
    ) -> Proposal | None:
        """A proposal when some trigger fires (and the pacer allows it); None otherwise or before estimates.
        `cap` holds the targets to what the collateral buffer allows before the band is checked, so a capped
        hedge is not re-proposed at every sample (a cut is not followed by the hedge added straight back)."""
        hedge = self.config.hedge
        view = self.estimator.view() if self.estimator.ready else None
        regime = self._regime(now, exposure)
        shift = self._shift(now, exposure, view)
        core = self.config.portfolio.core
        proxies, reselected = self.proxy_choice.update(now, self.estimator, self.weights(exposure))
        quote = self.config.portfolio.quote
        result = hedge_notionals(hedge, quote, exposure, ratio * self.tier_ratio, view, core, proxies)
        if result is None:
            return None
        held_legs = {  # stale proxies' positions, held: the legs carrying the hedge net out what they still cover
            s: self.instruments[s].notional(planned.get(s, 0.0), prices[s])
            for s in self.proxy_choice.stale.keys() & self.instruments.keys()
            if s in prices
        }
        basket = {spot_symbol(b, quote): v for b, v in exposure.values.items() if b not in core}
        result = self.proxy_choice.adjust(now, result, basket, held_legs, view, hedge.ridge)
        targets = {
            symbol: size_target(
                self.instruments[symbol], result.notionals.get(symbol, 0.0), prices[symbol], hedge.rounding
            )
            for symbol in self.instruments
            if symbol in prices  # a proxy never priced (held: stale) has nothing to size and nothing to trade
        }
        for symbol in self.proxy_choice.stale.keys() & targets.keys():  # a proxy whose price stopped: position held
            qty = planned.get(symbol, 0.0)
            targets[symbol] = HedgeTarget(symbol, qty, self.instruments[symbol].notional(qty, prices[symbol]))
        if self.venue_held:  # legs whose venue is down: positions held, the others take over (bot.hedge.venue_holds)
            targets = hold_legs(targets, planned, self.venue_held, self.instruments, prices, hedge.rounding)
        capped = cap(targets) if cap is not None else None
        targets = capped.targets if capped is not None else targets
        self.targets = targets
        band = drift_outside_band(
            {s: t.notional for s, t in targets.items()},
            {s: self.instruments[s].notional(q, prices[s]) for s, q in planned.items() if s in prices},
            hedge.rebalance_band,
            hedge.min_trade_notional,
        )
        fired = self._first(now, forced, reselected, band, regime, shift)
        jump = self._jump(targets) if forced is None else None
        held, self._jump_held = self._jump_held, False
        if fired is None:
            return None
        if forced is None and self.pacer.blocked_reason(now) is not None:
            self.held_back += 1
            return None
        numbers = {**fired.numbers, "tier_ratio": self.tier_ratio}
        if jump is not None and not held:
            self._jump_held = True
            return self._hold_jump(fired, numbers, jump, result, prices, planned)
        if jump is not None:
            numbers["jump_confirmed"] = jump
        reason = fired.reason if capped is None else f"{fired.reason}; {capped.reason}"
        if capped is not None:
            numbers["buffer_cap"] = capped.share
        self.pacer.record(now)
        self.proxy_choice.pending = None  # the proxy change, if any, is journaled with this decision
        self._last_rebalance = now
        self._traded_gross = sum(abs(t.notional) for t in targets.values())
        return Proposal(TriggerFired(fired.name, reason, numbers, fired.symbol), result, targets)

    def _jump(self, targets: Mapping[Symbol, HedgeTarget]) -> float | None:
        """How many times the last traded target this one is (or its inverse, for a fall), when beyond the limit."""
        last = self._traded_gross
        gross = sum(abs(t.notional) for t in targets.values())
        if last is None or abs(gross - last) <= self.config.hedge.min_trade_notional:
            return None
        low, high = sorted((gross, last))
        jump = high / max(low, 1e-9)  # finite: it is journaled with the decision
        return jump if jump > self.config.hedge.max_target_jump else None

    def _hold_jump(
        self,
        fired: TriggerFired,
        numbers: dict[str, float],
        jump: float,
        result: PolicyResult,
        prices: Mapping[Symbol, float],
        planned: Mapping[Symbol, float],
    ) -> Proposal:
        """A decision that trades nothing: the legs stay where they are (orders in flight finish) until confirmed."""
        gross = sum(abs(t.notional) for t in self.targets.values())
        last = self._traded_gross or 0.0
        reason = (
            f"{fired.name} wanted a target of {gross:,.0f} gross, {jump:,.1f}× the last traded {last:,.0f}"
            f" (max_target_jump {self.config.hedge.max_target_jump:g}): held until the next decision confirms it"
        )
        stay = {
            symbol: HedgeTarget(
                symbol, planned.get(symbol, 0.0), instrument.notional(planned.get(symbol, 0.0), prices[symbol])
            )
            for symbol, instrument in self.instruments.items()
            if symbol in prices
        }
        held = {**numbers, "jump": jump, "target_gross": gross, "last_traded_gross": last}
        return Proposal(TriggerFired("target_jump_held", reason, held), result, stay)

    def _first(self, now: int, forced: tuple[str, str] | None, *candidates: TriggerFired | None) -> TriggerFired | None:
        if forced is not None:
            return TriggerFired(forced[0], forced[1], {})
        for fired in candidates:
            if fired is not None:
                return fired
        due = self._last_rebalance is not None and now - self._last_rebalance >= self.schedule_ms > 0
        return TriggerFired("schedule", f"scheduled rebalance every {self.config.hedge.schedule}", {}) if due else None

    def weights(self, exposure: Exposure) -> dict[Symbol, float]:
        quote = self.config.portfolio.quote
        core = self.config.portfolio.core
        hedged = {base: value for base, value in exposure.values.items() if base not in core}
        total = sum(hedged.values())
        return {spot_symbol(base, quote): value / total for base, value in hedged.items()} if total > 0 else {}

    def _regime(self, now: int, exposure: Exposure) -> TriggerFired | None:
        """Realised volatility of the portfolio (EWM, annualised) against the tier table."""
        fast = self.estimator.fast_view()
        weights = self.weights(exposure)
        if fast is None or not weights:
            return None
        volatility = (fast.portfolio_variance(weights) * self.estimator.samples_per_year) ** 0.5
        change = self.tiers.update(volatility)
        if change is None or self.config.hedge.policy != "tiered":
            return None
        ratio = self.tiers.tiers[change.new].ratio
        return TriggerFired(
            "volatility_regime",
            f"realised volatility {volatility:.0%} moved the tier {change.old} → {change.new} (ratio {ratio:g})",
            {"volatility": volatility, "tier": float(change.new), "tier_ratio": ratio},
        )

    def _shift(self, now: int, exposure: Exposure, view: CovarianceView | None) -> TriggerFired | None:
        weights = self.weights(exposure)
        if view is None or not weights:
            return None
        proxy = Symbol(self.config.hedge.proxy_symbol)
        correlation = self.correlation.update(now, portfolio_correlation(view, weights, proxy))
        beta = self.beta.update(now, portfolio_beta(view, weights, proxy))
        return correlation or beta
