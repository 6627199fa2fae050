"""Protective hedges: cover that rises as the basket falls toward a floor, and falls as it rallies away. Pure.

Two policies scale the base hedge (`protect_base` at ratio 1: fixed, beta or min_variance) by a cover in [0, 1]:

- protective_put: cover = |Δ| of a European put on the basket (Black–Scholes, zero rates):
      cover = N(−d1), d1 = (ln(S / K) + σ²T / 2) / (σ √T)
  S the basket's spot value, K the floor (`floor` × the basket's peak, or `floor_value`), T the rolling `horizon`
  (the put never comes nearer expiry: its delta is always that of a `horizon` put), σ the basket's annualised
  realised volatility from the estimators (EWM, `tier_halflife`). Holding the basket and shorting cover × the
  basket is the replicating portfolio of basket + put.
- cppi: cover = 1 − min(1, multiplier × cushion / value), cushion = value − floor, on the portfolio's value (spot
  basket + the hedge account's P&L since the start) and a floor of `floor` × its peak (or `floor_value`): the
  exposure kept, (1 − cover) × value, is multiplier × cushion, so cover reaches 1 as the value reaches the floor.

The peak is the highest value over the trailing `peak_window` ("0s": since the start); holdings moved in or out
(an operator's set-holding, a reload) shift it by their value, so a transfer is neither a rally nor a crash.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import HedgeSection
from bot.domain import Symbol, parse_duration_ms
from bot.hedge.policies import CovarianceView

MS_PER_YEAR = 365 * 86_400_000


def put_delta(value: float, strike: float, volatility: float, years: float) -> float:
    """|Δ| of a put (Black–Scholes, zero rates and carry) on an underlying worth `value`: a cover in [0, 1].

    Degenerate inputs take their limits: no volatility or no time left gives the payoff's slope (1 below the
    strike, 0 above, ½ at it); a worthless underlying is fully covered, a strike of 0 needs no cover."""
    if not (value > 0):
        return 1.0
    if not (strike > 0):
        return 0.0
    spread = volatility * math.sqrt(years) if volatility > 0 and years > 0 else 0.0
    if not (spread > 0) or not math.isfinite(spread):
        return 1.0 if value < strike else 0.0 if value > strike else 0.5
    d1 = (math.log(value / strike) + 0.5 * spread * spread) / spread
    return min(1.0, max(0.0, 0.5 * math.erfc(d1 / math.sqrt(2.0))))  # N(−d1)


def cppi_cover(value: float, floor: float, multiplier: float) -> float:
    """1 − min(1, multiplier × cushion / value), cushion = value − floor: 1 at or below the floor, in [0, 1]."""
    if not (value > 0):
        return 1.0
    kept = multiplier * (value - floor) / value
    return 1.0 - min(1.0, max(0.0, kept))


class TrailingPeak:
    """The highest value over a trailing window (0: since the start), with transfers shifting every value seen."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._values: deque[tuple[int, float]] = deque()  # decreasing values, increasing times
        self._shift = 0.0  # Σ transfers: values are kept net of them, shown gross

    def update(self, ts: int, value: float) -> float:
        """Take the value at `ts` and return the peak, this value included."""
        net = value - self._shift
        while self._values and self._values[-1][1] <= net:
            self._values.pop()
        self._values.append((ts, net))
        if self.window_ms > 0:
            while self._values[0][0] <= ts - self.window_ms:
                self._values.popleft()
        return self._values[0][1] + self._shift

    def transfer(self, value: float) -> None:
        """Holdings worth `value` came in (+) or went out (−): the peak moves with them."""
        self._shift += value


@dataclass(frozen=True, slots=True)
class ProtectionSettings:
    policy: str  # "protective_put" or "cppi"
    floor: float  # a fraction of the peak
    floor_value: float | None  # a set floor in the quote currency: overrides `floor`
    horizon_years: float  # protective_put: the rolling maturity
    multiplier: float  # cppi
    peak_window_ms: int  # 0: since the start


@dataclass(frozen=True, slots=True)
class Protected:
    """Where the protected value stands: the floor, the cushion above it and the cover it calls for."""

    value: float  # protective_put: the basket's spot value; cppi: spot + hedge P&L
    peak: float
    floor: float
    cover: float
    volatility: float | None  # protective_put: the annualised volatility the delta used

    @property
    def cushion(self) -> float:
        return self.value - self.floor

    def numbers(self) -> dict[str, float]:
        numbers = {
            "protected_value": self.value,
            "floor": self.floor,
            "cushion": self.cushion,
            "cushion_share": self.cushion / self.value if self.value > 0 else 0.0,
            "cover": self.cover,
        }
        if self.volatility is not None:
            numbers["volatility"] = self.volatility
        return numbers


class Protection:
    """The cover of a protective policy, updated at each sampling step from the values the engine sees."""

    def __init__(self, settings: ProtectionSettings | None) -> None:
        self.settings = settings
        self._peak = TrailingPeak(settings.peak_window_ms if settings else 0)
        self.state: Protected | None = None
        self._equity_baseline: float | None = None  # the hedge account's equity at the first step: P&L 0

    def configure(self, settings: ProtectionSettings | None) -> None:
        """A reload: new settings; the peak seen so far is kept unless its window changed."""
        if settings is None or self.settings is None or settings.peak_window_ms != self.settings.peak_window_ms:
            self._peak = TrailingPeak(settings.peak_window_ms if settings else 0)
            self.state = None
        self.settings = settings

    @property
    def cover(self) -> float:
        """The factor on the base hedge: 1 when no protective policy is configured or before the first update."""
        return 1.0 if self.settings is None or self.state is None else self.state.cover

    def update(self, ts: int, basket_value: float, equity: float | None, volatility: float | None) -> Protected | None:
        """The cover at `ts`: `basket_value` is the hedged spot basket at market, `equity` the hedge account's (its
        change since the first step is the hedge's P&L), `volatility` the basket's, annualised."""
        settings = self.settings
        if settings is None:
            return None
        if self._equity_baseline is None and equity is not None:
            self._equity_baseline = equity
        hedge_pnl = 0.0 if equity is None or self._equity_baseline is None else equity - self._equity_baseline
        value = basket_value if settings.policy == "protective_put" else basket_value + hedge_pnl
        peak = self._peak.update(ts, value)
        floor = settings.floor_value if settings.floor_value is not None else settings.floor * peak
        if settings.policy == "protective_put":
            sigma = volatility if volatility is not None and math.isfinite(volatility) else 0.0
            cover = put_delta(value, floor, sigma, settings.horizon_years)
        else:
            cover = cppi_cover(value, floor, settings.multiplier)
            volatility = None
        self.state = Protected(value, peak, floor, cover, volatility)
        return self.state

    def transfer(self, value: float) -> None:
        self._peak.transfer(value)

    def status(self) -> dict[str, float | str] | None:
        """What `ctl status` and the report show: None without a protective policy or before the first step."""
        if self.settings is None or self.state is None:
            return None
        return {"policy": self.settings.policy, **{k: round(v, 6) for k, v in self.state.numbers().items()}}


def protection_settings(hedge: HedgeSection) -> ProtectionSettings | None:
    """The settings of a protective policy; None for the others."""
    if hedge.policy not in ("protective_put", "cppi"):
        return None
    return ProtectionSettings(
        policy=hedge.policy,
        floor=hedge.floor,
        floor_value=hedge.floor_value,
        horizon_years=parse_duration_ms(hedge.horizon) / MS_PER_YEAR,
        multiplier=hedge.multiplier,
        peak_window_ms=parse_duration_ms(hedge.peak_window),
    )


def basket_volatility(
    view: CovarianceView | None, weights: Mapping[Symbol, float], samples_per_year: float
) -> float | None:
    """The basket's annualised realised volatility from a covariance view and its value weights (None: no view)."""
    if view is None or not weights:
        return None
    variance = view.portfolio_variance(weights)
    return math.sqrt(variance * samples_per_year) if variance > 0 else 0.0
