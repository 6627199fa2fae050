"""Choosing which hedge instruments proxy the basket: forward stepwise regression with a rank check. Pure.

For the holdings without a perpetual of their own, the proxies are chosen among candidate perpetuals from the
returns in the estimation window:

- a candidate whose returns are constant (no price moved: delisted, halted) is not eligible;
- the rank check: a candidate whose Pearson correlation with the basket exceeds its Spearman (rank) correlation
  by more than `rank_gap` has its linear fit carried by a few extreme moves, and is dropped;
- forward stepwise: the candidate that raises the R² of the basket's regression on the chosen set most is added,
  until `max_proxies` are chosen or the next one adds less than `min_gain`;
- hysteresis: the choice is re-made every `every_ms`; a new set replaces the current one only when its R² beats the
  current set's R² (on the same, current window) by more than `hysteresis`, so two near-equal sets do not churn.
  A current proxy that is no longer eligible is replaced at once, without waiting for the schedule.
- a candidate whose price feed stopped (the engine's staleness limits) is not eligible while it is stale: a current
  proxy that goes stale is dropped at once and the others carry the hedge (the bot does not halt for one proxy);
  its position is held, not traded on a stale price; it is a candidate again, at the next choice, once fresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.config import HedgeSection
from bot.domain import Symbol, parse_duration_ms, perp_symbol, spot_symbol
from bot.hedge.estimation import CovarianceEstimator
from bot.hedge.held_proxies import frozen_covariances, net_of_held
from bot.hedge.liquidity import CandidateLiquidity, DailyVolumes, cap_weights, liquidity_settings, priced_as
from bot.hedge.moments import FloatArray
from bot.hedge.policies import CovarianceView, PolicyResult
from bot.hedge.rank import average_ranks
from bot.hedge.triggers import TriggerFired


@dataclass(frozen=True, slots=True)
class ProxySettings:
    max_proxies: int  # at most this many proxies
    min_gain: float  # stepwise stops when the next proxy adds less R² than this
    rank_gap: float  # drop a candidate when |Pearson| − |Spearman| with the basket exceeds this
    hysteresis: float  # a new set must beat the current set's R² by more than this
    every_ms: int  # re-choose at most this often (a proxy gone is replaced at once)


@dataclass(frozen=True, slots=True)
class ProxyFit:
    """A chosen set, its R² on the window, and the candidates left out with why."""

    proxies: tuple[Symbol, ...]
    r2: float
    excluded: dict[Symbol, str]


@dataclass(frozen=True, slots=True)
class ProxyChange:
    old: tuple[Symbol, ...]
    new: tuple[Symbol, ...]
    r2_old: float  # the old set's R² on the current window (NaN when there was none or it is gone)
    r2_new: float
    reason: str


def r_squared(y: FloatArray, x: FloatArray) -> float:
    """Share of the variance of y explained by a least-squares fit on the columns of x (with an intercept)."""
    yc = y - y.mean()
    total = float(yc @ yc)
    if x.shape[1] == 0 or total <= 0:
        return 0.0
    xc = x - x.mean(axis=0)
    coef = np.linalg.lstsq(xc, yc, rcond=None)[0]
    residual = yc - xc @ coef
    return max(0.0, 1.0 - float(residual @ residual) / total)


def rank_gap(y: FloatArray, x: FloatArray) -> float:
    """|Pearson| − |Spearman| between two series: large when a few extreme moves carry the linear fit."""
    pearson = _correlation(y, x)
    ranks = average_ranks(np.column_stack([y, x]))
    spearman = _correlation(ranks[:, 0], ranks[:, 1])
    return abs(pearson) - abs(spearman)


def _correlation(a: FloatArray, b: FloatArray) -> float:
    ac, bc = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((ac @ ac) * (bc @ bc)))
    return float(ac @ bc) / denominator if denominator > 0 else 0.0


def basket_returns(rows: FloatArray, index: Mapping[Symbol, int], weights: Mapping[Symbol, float]) -> FloatArray:
    """The basket's return per sample: the holdings' returns weighted by their current value weights."""
    columns = [index[symbol] for symbol in weights]
    result: FloatArray = rows[:, columns] @ np.array(list(weights.values()))
    return result


def choose_proxies(y: FloatArray, columns: Mapping[Symbol, FloatArray], settings: ProxySettings) -> ProxyFit:
    """The stepwise choice among `columns` (candidate → its returns, aligned with y)."""
    excluded: dict[Symbol, str] = {}
    eligible: list[Symbol] = []
    for symbol, x in columns.items():
        if len(x) < 3 or float(np.ptp(x)) == 0.0:
            excluded[symbol] = "no price moves in the window"
        elif (gap := rank_gap(y, x)) > settings.rank_gap:
            excluded[symbol] = f"rank check: |Pearson| − |Spearman| = {gap:.2f} > {settings.rank_gap:g}"
        else:
            eligible.append(symbol)
    chosen: list[Symbol] = []
    r2 = 0.0
    while len(chosen) < settings.max_proxies:
        scores = {s: r_squared(y, _matrix(columns, [*chosen, s])) for s in eligible if s not in chosen}
        if not scores:
            break
        best = max(scores, key=lambda s: (scores[s], -eligible.index(s)))  # ties: the one listed first
        if chosen and scores[best] - r2 < settings.min_gain:
            break
        chosen.append(best)
        r2 = scores[best]
    return ProxyFit(tuple(chosen), r2, excluded)


def _matrix(columns: Mapping[Symbol, FloatArray], symbols: Sequence[Symbol]) -> FloatArray:
    return np.column_stack([columns[s] for s in symbols])


class ProxySelector:
    """The current proxy set, re-chosen on a schedule with hysteresis (see the module's docstring)."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.current: tuple[Symbol, ...] = ()
        self.r2 = float("nan")
        self._chosen_at: int | None = None

    def update(
        self,
        now: int,
        y: FloatArray,
        columns: Mapping[Symbol, FloatArray],
        unavailable: Mapping[Symbol, str] | None = None,
        illiquid: Mapping[Symbol, str] | None = None,
    ) -> ProxyChange | None:
        """Re-choose when due (or when a current proxy is gone); the change when the set changed. `unavailable`:
        candidates left out whatever their fit (their price is stale), with why: a current one is replaced at once.
        `illiquid`: candidates below the lowest liquidity tier, with why: not chosen, and a current one is replaced
        at the next re-choice (a thin market is no emergency; a dead feed is)."""
        unavailable, illiquid = unavailable or {}, illiquid or {}
        columns = {s: x for s, x in columns.items() if s not in unavailable}
        gone = [s for s in self.current if s not in columns or float(np.ptp(columns[s])) == 0.0]
        due = self._chosen_at is None or now - self._chosen_at >= self.settings.every_ms
        if not (due or gone):
            return None
        self._chosen_at = now
        thin = {s: illiquid[s] for s in self.current if s in illiquid and s not in gone}
        fit = choose_proxies(y, {s: x for s, x in columns.items() if s not in illiquid}, self.settings)
        fit = ProxyFit(fit.proxies, fit.r2, {**unavailable, **illiquid, **fit.excluded})
        old = self.current
        if thin and fit.proxies:  # the thin ones leave with the others' replacement, like a proxy gone
            gone += list(thin)
        held = r_squared(y, _matrix(columns, old)) if old and not gone else float("nan")
        better = fit.r2 > held + self.settings.hysteresis
        if not fit.proxies and gone:  # nothing eligible to replace them: keep what is left of the set
            fit = ProxyFit(tuple(s for s in old if s not in gone), held, fit.excluded)
        if set(fit.proxies) == set(old) or not (gone or not old or better):  # the same set in another order: kept
            self.r2 = held if old and not gone else fit.r2
            return None
        self.current, self.r2 = fit.proxies, fit.r2
        reasons = {s: thin.get(s) or unavailable.get(s, "no price moves in the window") for s in gone}
        return ProxyChange(old, fit.proxies, held, fit.r2, _reason(old, fit, held, reasons, self.settings))


def _reason(
    old: tuple[Symbol, ...], fit: ProxyFit, held: float, gone: Mapping[Symbol, str], settings: ProxySettings
) -> str:
    new = ", ".join(fit.proxies)
    if not old:
        why = "first choice"
    elif gone:
        why = "; ".join(f"{s} gone ({why_gone})" for s, why_gone in gone.items())
    else:
        why = f"R² {fit.r2:.3f} beats the current {held:.3f} by more than {settings.hysteresis:g}"
    left_out = "; ".join(f"{s}: {why_out}" for s, why_out in fit.excluded.items())
    return f"proxies [{', '.join(old)}] → [{new}] (R² {fit.r2:.3f}): {why}" + (
        f"; left out {left_out}" if left_out else ""
    )


def proxy_settings(hedge: HedgeSection) -> ProxySettings | None:
    """The selection's settings from `[hedge]`, or None when `proxy_select` is off."""
    if not hedge.proxy_select:
        return None
    return ProxySettings(
        max_proxies=hedge.max_proxies,
        min_gain=hedge.proxy_min_gain,
        rank_gap=hedge.proxy_rank_gap,
        hysteresis=hedge.proxy_hysteresis,
        every_ms=parse_duration_ms(hedge.proxy_reselect),
    )


class ProxyChoice:
    """The decider's side of proxy selection: the candidates and the basket from the config and the estimator's
    window, the chosen set for the policy, and a trigger (journaled with the decision) when the set changes."""

    def __init__(self, hedge: HedgeSection, quote: str, volumes: DailyVolumes | None = None) -> None:
        settings = proxy_settings(hedge)
        self.selector = ProxySelector(settings) if settings is not None else None
        self.quote = quote
        self.liquidity = CandidateLiquidity(liquidity_settings(hedge.liquidity), volumes)
        direct = {perp_symbol(base, quote) for base in hedge.direct}
        self.candidates = [Symbol(s) for s in (hedge.proxies or hedge.instruments) if s not in direct]
        self.direct_spots = {spot_symbol(base, quote) for base in hedge.direct}
        self._priced = {priced_as(c) for c in self.candidates}  # the prints whose volumes are the candidates'
        self.pending: TriggerFired | None = None  # a change not yet journaled (the pacer held its decision back)
        self._seen_samples = -1  # the estimator's sample count at the last look: the window changes only per sample
        self.stale: dict[Symbol, str] = {}  # candidates whose price feed stopped → why (set by the engine)
        self._stale_seen: dict[Symbol, str] = {}  # the stale set at the last look: a change is looked at at once
        # a stale candidate's covariances from the window as it went stale (None: it went stale before estimates)
        self.frozen: dict[Symbol, dict[Symbol, float] | None] = {}
        self._stale_before: set[Symbol] = set()  # the stale set at the previous update: who went stale since

    @property
    def on(self) -> bool:
        return self.selector is not None

    def on_volume(self, ts: int, symbol: Symbol, quote_volume_24h: float) -> None:
        """A print's 24 h quote volume (bot.hedge.liquidity): the candidates' liquidity tiers."""
        if self.selector is not None and symbol in self._priced:
            self.liquidity.observe(ts, symbol, quote_volume_24h)

    def set_stale(self, stale: Mapping[Symbol, str]) -> bool:
        """The candidates whose price feed stopped, with why; True when the set changed (re-decide now)."""
        changed = set(stale) != set(self.stale)
        self.stale = dict(stale)
        return changed

    def update(
        self, now: int, estimator: CovarianceEstimator, weights: Mapping[Symbol, float]
    ) -> tuple[tuple[Symbol, ...] | None, TriggerFired | None]:
        """The proxies to use (None: the configured ones) and the change to journal, if any."""
        if self.selector is None:
            return None, None
        self._freeze(estimator)
        basket = {s: w for s, w in weights.items() if s not in self.direct_spots and s in estimator.index}
        fresh = estimator.sampler.samples != self._seen_samples or set(self.stale) != set(self._stale_seen)
        if fresh and estimator.ready and basket:
            self._seen_samples, self._stale_seen = estimator.sampler.samples, dict(self.stale)
            rows = estimator.returns()
            columns = {c: rows[:, estimator.index[c]] for c in self.candidates if c in estimator.index}
            y = basket_returns(rows, estimator.index, basket)
            stale = {s: f"price stale: {why}" for s, why in self.stale.items()}
            illiquid = self.liquidity.illiquid(now, self.candidates, self.selector.current)
            change = self.selector.update(now, y, columns, stale, illiquid)
            if change is not None:
                numbers = {"proxy_r2": change.r2_new, "proxy_r2_before": change.r2_old, "proxies": len(change.new)}
                self.pending = TriggerFired("proxy_reselect", change.reason, numbers)
        usable = tuple(c for c in self.candidates if c not in self.stale) if self.stale else ()
        return self.selector.current or usable or None, self.pending

    def _freeze(self, estimator: CovarianceEstimator) -> None:
        """Keep the covariances of a candidate that has just gone stale, from the window before its outage (the
        window's own shrink towards zero while it is sampled as unmoved)."""
        ready = estimator.ready
        for symbol in self.stale.keys() - self.frozen.keys():
            just_now = ready and symbol not in self._stale_before and symbol in estimator.index
            self.frozen[symbol] = frozen_covariances(estimator.view(), symbol) if just_now else None
        self.frozen = {s: row for s, row in self.frozen.items() if s in self.stale}
        self._stale_before = set(self.stale)

    def adjust(
        self,
        now: int,
        result: PolicyResult,
        basket: Mapping[Symbol, float],
        held: Mapping[Symbol, float],
        view: CovarianceView | None,
        ridge: float,
    ) -> PolicyResult:
        """The policy's legs within their liquidity tiers' caps (bot.hedge.liquidity), then net of what the held
        stale proxies (`held`: their notionals) still hedge (bot.hedge.held_proxies). `basket`: the hedged
        holdings' values by spot symbol (core ones left out)."""
        if self.selector is None:
            return result
        values = {s: v for s, v in basket.items() if s not in self.direct_spots}  # what the proxies hedge
        total = sum(values.values())
        caps = self.liquidity.caps(now, self.selector.current)
        result = cap_weights(result, caps, total) if caps else result
        if not held:
            return result
        frozen = {s: row for s, row in self.frozen.items() if row is not None}
        weights = {s: v / total for s, v in values.items()} if total > 0 else {}
        return net_of_held(result, held, frozen, view, weights, ridge)
