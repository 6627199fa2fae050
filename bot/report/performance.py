"""Hedge effectiveness from a value series: variance and drawdown reduction, P&L. Pure.

hedged value = spot holdings at market + hedge-account P&L (price, funding, fees);
variance_reduction = 1 − Var(daily Δ hedged) / Var(daily Δ unhedged);
drawdown_reduction = 1 − max drawdown hedged / max drawdown unhedged (drawdowns from the running peak).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.domain import MS_PER_DAY


def max_drawdown(values: list[float]) -> float:
    """The largest fall from a running peak, in the values' units (≥ 0)."""
    if not values:
        return 0.0
    series = np.asarray(values)
    return float(np.max(np.maximum.accumulate(series) - series))


@dataclass(frozen=True, slots=True)
class Effectiveness:
    variance_reduction: float
    drawdown_reduction: float
    hedged_pnl: float
    unhedged_pnl: float
    hedged_max_drawdown: float
    unhedged_max_drawdown: float
    days: int


class ValueRecorder:
    """Keeps the last (spot value, hedged value) of each UTC day, after the opening.

    The opening is the state before the first trade: the first record's spot value with the hedge account at
    its baseline (hedge P&L 0). The daemon trades at an instant before it records it, so the first record
    already carries that instant's fees and slippage, and they are the run's costs (`hedgebot report` opens
    the same way: bot/report/daily.py).
    """

    def __init__(self) -> None:
        self._days: dict[int, tuple[float, float]] = {}
        self._first: tuple[float, float] | None = None
        self.hedge_ratio: list[tuple[int, float]] = []

    def record(self, ts: int, spot_value: float, hedge_pnl: float) -> None:
        if self._first is None:
            self._first = (spot_value, spot_value)
        self._days[ts // MS_PER_DAY] = (spot_value, spot_value + hedge_pnl)

    def series(self) -> tuple[list[float], list[float]]:
        """Daily closes of (unhedged, hedged) values, starting with the opening."""
        if self._first is None:
            return [], []
        points = [self._first, *(self._days[day] for day in sorted(self._days))]
        return [p[0] for p in points], [p[1] for p in points]

    def effectiveness(self) -> Effectiveness:
        unhedged, hedged = self.series()
        var_u = float(np.var(np.diff(unhedged), ddof=1)) if len(unhedged) > 2 else 0.0
        var_h = float(np.var(np.diff(hedged), ddof=1)) if len(hedged) > 2 else 0.0
        dd_u, dd_h = max_drawdown(unhedged), max_drawdown(hedged)
        return Effectiveness(
            variance_reduction=1.0 - var_h / var_u if var_u > 0 else 0.0,
            drawdown_reduction=1.0 - dd_h / dd_u if dd_u > 0 else 0.0,
            hedged_pnl=hedged[-1] - hedged[0] if hedged else 0.0,
            unhedged_pnl=unhedged[-1] - unhedged[0] if unhedged else 0.0,
            hedged_max_drawdown=dd_h,
            unhedged_max_drawdown=dd_u,
            days=max(len(unhedged) - 1, 0),
        )
