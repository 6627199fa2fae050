"""Value at risk and expected shortfall of a P&L history, historical and filtered. Pure: the one home of this maths.

At a level α (0.99), losses being −P&L, positive numbers in the quote currency:

- historical:  VaR = the α-quantile of the losses; ES = the mean of the losses at or beyond it;
- filtered (filtered historical simulation): each period's P&L is divided by its EWM volatility at that period
  (RiskMetrics, decay λ = 0.94 a day, from the periods before it only) and multiplied by today's, so a calm
  history does not understate a volatile present (and the other way round); VaR and ES as above.

Two users: the report revalues today's book on each past *day* (bot.report.tail_risk, `hedgebot stress
--history`); the engine's live book is revalued on each *sample* of its own rolling window (`book_tail_risk`: the
estimator's returns, hourly by default), and the per-sample figures are scaled to one day by √(samples a day),
with the decay per sample λ^(1 / samples a day) so its half-life in time stays RiskMetrics'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain import Symbol
from bot.hedge.moments import FloatArray

RISKMETRICS_DECAY = 0.94  # a day
WARM_UP_DAYS = 20  # the filter's first variance: the mean square of the first periods, which are then skipped
LEVEL = 0.99


@dataclass(frozen=True, slots=True)
class TailRisk:
    var: float  # loss not exceeded on a fraction `level` of periods
    es: float  # mean loss on the periods at or beyond the VaR


@dataclass(frozen=True, slots=True)
class TailRiskReport:
    level: float
    days: int  # periods of history behind the figures (samples, for the live book)
    unhedged: TailRisk
    hedged: TailRisk
    unhedged_filtered: TailRisk
    hedged_filtered: TailRisk


def historical(pnl: Sequence[float] | FloatArray, level: float) -> TailRisk:
    """VaR and ES of the losses (−P&L) at `level`; zeros with no periods."""
    if len(pnl) == 0:
        return TailRisk(0.0, 0.0)
    losses = -np.asarray(pnl, dtype=float)
    var = float(np.quantile(losses, level))
    tail = losses[losses >= var]
    return TailRisk(var, float(tail.mean()))


def filtered(pnl: Sequence[float] | FloatArray, decay: float = RISKMETRICS_DECAY) -> list[float]:
    """Each period's P&L rescaled from that period's EWM volatility to today's (see the module's docstring); the
    first WARM_UP_DAYS periods only seed the volatility, and a history no longer than that is returned as it is."""
    x = np.asarray(pnl, dtype=float)
    if len(x) <= WARM_UP_DAYS:
        return [float(v) for v in x]
    variance = float(np.mean(x[:WARM_UP_DAYS] ** 2))
    scaled: list[float] = []
    for value in x[WARM_UP_DAYS:]:
        scaled.append(float(value) / math.sqrt(variance) if variance > 0 else 0.0)
        variance = decay * variance + (1 - decay) * float(value) * float(value)
    today = math.sqrt(variance)
    return [z * today for z in scaled]


def pnl_tail_risk(
    unhedged: Sequence[float] | FloatArray,
    hedged: Sequence[float] | FloatArray,
    level: float = LEVEL,
    decay: float = RISKMETRICS_DECAY,
    scale: float = 1.0,
) -> TailRiskReport:
    """VaR and ES of two P&L series of equal length, each figure multiplied by `scale` (√ of the periods a day)."""
    if not 0.5 <= level < 1:
        raise ValueError(f"level {level} must be in [0.5, 1)")

    def scaled(risk: TailRisk) -> TailRisk:
        return TailRisk(risk.var * scale, risk.es * scale)

    return TailRiskReport(
        level,
        len(unhedged),
        scaled(historical(unhedged, level)),
        scaled(historical(hedged, level)),
        scaled(historical(filtered(unhedged, decay), level)),
        scaled(historical(filtered(hedged, decay), level)),
    )


def book_tail_risk(
    returns: FloatArray,
    index: Mapping[Symbol, int],
    spot_values: Mapping[Symbol, float],
    hedge_notionals: Mapping[Symbol, float],
    samples_per_day: float,
    level: float = LEVEL,
) -> TailRiskReport | None:
    """One-day VaR and ES of the live book: spot values (series → value in quote) and hedge notionals (series →
    signed notional, a short negative) revalued on each row of `returns` (the estimator's window, one column per
    series of `index`). None without a row, or when some series of the book is not in `index`."""
    if len(returns) == 0 or not spot_values or not {*spot_values, *hedge_notionals} <= index.keys():
        return None
    spot = np.zeros(returns.shape[1])
    hedge = np.zeros(returns.shape[1])
    for symbol, value in spot_values.items():
        spot[index[symbol]] += value
    for symbol, notional in hedge_notionals.items():
        hedge[index[symbol]] += notional
    unhedged = returns @ spot
    hedged = unhedged + returns @ hedge
    per_day = max(samples_per_day, 1.0)
    return pnl_tail_risk(unhedged, hedged, level, RISKMETRICS_DECAY ** (1 / per_day), math.sqrt(per_day))
