"""Hedge effectiveness from a value series: variance and drawdown reduction, P&L. Pure.

hedged value = spot holdings at market + hedge-account P&L (price, funding, fees);
variance_reduction = 1 − Var(Δ hedged) / Var(Δ unhedged);
drawdown_reduction = 1 − max drawdown hedged / max drawdown unhedged (drawdowns from the running peak);
upside / downside capture, their spread and the realised floor breach: bot/report/capture.py.
All on every recorded value, at the data's resolution (hourly on hourly data, each minute on 1-minute data:
the daemon values the book every `hedge.sample`, at most an hour apart), never on daily closes alone: a crash
and its rebound inside one day is a drawdown, not a flat day.

A holdings change that is no trade (an operator's `set-holding`, a reload) is a transfer, not P&L: both value
series are flow-adjusted, every value after it less the transfers' value at their prices then, so a period's
change is Σ qty × price change (the holding added earns from the transfer's price on) and neither P&L, variance
nor drawdown sees the transfer itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.domain import MS_PER_DAY
from bot.report.capture import NO_CAPTURE, Capture, capture


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
    capture: Capture = NO_CAPTURE  # upside and downside capture, floor breaches (bot/report/capture.py)


class ValueRecorder:
    """Keeps every recorded (spot value, hedged value), after the opening, and the UTC days they fall on.

    The opening is the state before the first trade: the first record's spot value with the hedge account at
    its baseline (hedge P&L 0). The daemon trades at an instant before it records it, so the first record
    already carries that instant's fees and slippage, and they are the run's costs (`hedgebot report` opens
    the same way: bot/report/daily.py).
    """

    def __init__(self, floor: float = 0.85, floor_value: float | None = None) -> None:
        self._days: set[int] = set()  # the UTC days recorded: the run's length
        self._points: list[tuple[float, float]] = []  # every record, net of transfers: the data's resolution
        self._floor = (floor, floor_value)  # the realised floor breach is measured against it
        self._first: tuple[float, float] | None = None
        self._moved = 0.0  # Σ transfers since the opening (quote, at their prices): taken out of every value
        self.hedge_ratio: list[tuple[int, float]] = []

    def transfer(self, value: float) -> None:
        """Holdings worth `value` moved in (+) or out (−) now; before the opening the opening includes them."""
        if self._first is not None:
            self._moved += value

    def record(self, ts: int, spot_value: float, hedge_pnl: float) -> None:
        if self._first is None:
            self._first = (spot_value, spot_value)
        moved = self._moved
        self._days.add(ts // MS_PER_DAY)
        self._points.append((spot_value - moved, spot_value + hedge_pnl - moved))

    def series(self) -> tuple[list[float], list[float]]:
        """Every recorded (unhedged, hedged) value net of transfers, starting with the opening."""
        if self._first is None:
            return [], []
        points = [self._first, *self._points]
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
            days=len(self._days),
            capture=self.capture(),
        )

    def capture(self) -> Capture:
        """Capture figures on every recorded point, from the opening."""
        if self._first is None:
            return NO_CAPTURE
        points = [self._first, *self._points]
        return capture([p[0] for p in points], [p[1] for p in points], *self._floor)
