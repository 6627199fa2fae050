"""Liquidity tiers of proxy candidates: which perpetuals trade enough to carry a hedge, and how much of it. Pure.

A candidate's liquidity is the median of its daily quote volume over the last `days` (each UTC day's figure is the
last 24 h quote volume seen in that day: a ticker's, or a replay's 24 h sum of candle volume × close), so one
frantic day or one quiet holiday does not move it. The tiers (highest volume first) each give a cap on the share of
the hedged basket's value one proxy's leg may carry; below the lowest tier a candidate is not chosen. A proxy
already chosen keeps its tier until its volume falls below (1 − hysteresis) × the threshold, so a candidate near a
boundary does not churn the set. A candidate whose volume is unknown (a feed that carries none) is capped at the
lowest tier rather than excluded: a feed without volumes must not leave the basket unhedged.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from bot.domain import MS_PER_DAY, Symbol
from bot.hedge.policies import PolicyResult
from bot.settings.liquidity import LiquiditySection


@dataclass(frozen=True, slots=True)
class LiquidityTier:
    min_quote_volume: float
    max_weight: float  # the leg's |notional| at most this share of the hedged basket's value


@dataclass(frozen=True, slots=True)
class LiquiditySettings:
    tiers: tuple[LiquidityTier, ...]  # highest volume first
    days: int
    hysteresis: float


def liquidity_settings(section: LiquiditySection) -> LiquiditySettings | None:
    """The tiers from `[hedge.liquidity]`, or None when none are configured (every candidate eligible, uncapped)."""
    if not section.tiers:
        return None
    tiers = tuple(LiquidityTier(t.min_quote_volume, t.max_weight) for t in section.tiers)
    return LiquiditySettings(tiers, section.days, section.hysteresis)


class DailyVolumes:
    """Each symbol's daily quote volume: the last 24 h figure seen in each UTC day, a bounded number of days kept."""

    def __init__(self, keep_days: int = 366) -> None:
        self.keep_days = keep_days
        self._days: dict[Symbol, dict[int, float]] = {}

    def observe(self, ts: int, symbol: Symbol, quote_volume_24h: float) -> None:
        if not quote_volume_24h >= 0:  # NaN or negative: not a volume
            return
        day = ts // MS_PER_DAY
        days = self._days.setdefault(symbol, {})
        new_day = day not in days
        days[day] = quote_volume_24h
        if new_day and len(days) > self.keep_days:  # pruned once a day, not at every print
            for old in [d for d in days if d <= day - self.keep_days]:
                del days[old]

    def median(self, symbol: Symbol, now: int, days: int) -> float | None:
        """The median daily quote volume over the `days` days to `now`; None when none was seen in them."""
        today = now // MS_PER_DAY
        seen = [v for d, v in self._days.get(symbol, {}).items() if today - days < d <= today]
        return statistics.median(seen) if seen else None


def tier_for(settings: LiquiditySettings, volume: float | None, *, current: bool) -> LiquidityTier | None:
    """The tier a candidate with this median volume is in (a current proxy with the hysteresis's slack); None
    below the lowest; the lowest when the volume is unknown."""
    if volume is None:
        return settings.tiers[-1]
    slack = 1.0 - settings.hysteresis if current else 1.0
    return next((t for t in settings.tiers if volume >= t.min_quote_volume * slack), None)


def below_lowest(settings: LiquiditySettings, volume: float, *, current: bool) -> str:
    """Why a candidate is left out: its volume against the lowest tier's threshold."""
    lowest = settings.tiers[-1].min_quote_volume
    slack = f" less the hysteresis {settings.hysteresis:g}" if current else ""
    return (
        f"liquidity: median daily quote volume {volume:,.0f} over {settings.days} d below the lowest tier's"
        f" {lowest:,.0f}{slack}"
    )


def cap_weights(result: PolicyResult, caps: Mapping[Symbol, float], basket_value: float) -> PolicyResult:
    """Each leg's |notional| at most its tier's share of the hedged basket's value (what is cut is not moved to
    the other legs: a thin market does not get a bigger share of the hedge because another is capped)."""
    notionals = dict(result.notionals)
    capped = 0
    for symbol, cap in caps.items():
        limit = cap * basket_value
        wanted = notionals.get(symbol, 0.0)
        if abs(wanted) > limit:
            notionals[symbol] = limit if wanted > 0 else -limit
            capped += 1
    if not capped:
        return result
    return PolicyResult(notionals, {**result.numbers, "liquidity_capped_legs": float(capped)})


class CandidateLiquidity:
    """The proxy candidates' volumes as they arrive, and the tiers they put each candidate in."""

    def __init__(self, settings: LiquiditySettings | None, volumes: DailyVolumes | None = None) -> None:
        self.settings = settings
        self.volumes = volumes or DailyVolumes()  # kept across a config reload: the history is the market's

    def observe(self, ts: int, symbol: Symbol, quote_volume_24h: float) -> None:
        self.volumes.observe(ts, symbol, quote_volume_24h)

    def volume(self, now: int, candidate: Symbol) -> float | None:
        days = self.settings.days if self.settings is not None else 30
        return self.volumes.median(priced_as(candidate), now, days)

    def illiquid(self, now: int, candidates: Iterable[Symbol], current: Collection[Symbol]) -> dict[Symbol, str]:
        """The candidates below the lowest tier (a current proxy with the hysteresis's slack), with why."""
        settings = self.settings
        if settings is None:
            return {}
        found: dict[Symbol, str] = {}
        for candidate in candidates:
            volume, chosen = self.volume(now, candidate), candidate in current
            if volume is not None and tier_for(settings, volume, current=chosen) is None:
                found[candidate] = below_lowest(settings, volume, current=chosen)
        return found

    def caps(self, now: int, proxies: Iterable[Symbol]) -> dict[Symbol, float]:
        """Each chosen proxy's cap (share of the hedged basket's value) from its tier; 1 when it is above them all."""
        settings = self.settings
        if settings is None:
            return {}
        caps: dict[Symbol, float] = {}
        for proxy in proxies:
            tier = tier_for(settings, self.volume(now, proxy), current=True)
            caps[proxy] = tier.max_weight if tier is not None else settings.tiers[-1].max_weight
        return caps


def priced_as(candidate: Symbol) -> Symbol:
    """The symbol whose prints carry a leg's volume: a dated or carry leg (`…@quarterly`) trades as its pair."""
    return Symbol(candidate.split("@", 1)[0])
