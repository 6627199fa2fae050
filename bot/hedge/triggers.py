"""When to change the hedge: the rebalance band (with an absolute floor so dust never trades).

Each check returns a `TriggerFired` naming the trigger and the numbers behind it, or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import Symbol


@dataclass(frozen=True, slots=True)
class TriggerFired:
    name: str
    reason: str
    numbers: dict[str, float]
    symbol: Symbol | None = None  # the one instrument the reason is about (the band's worst drift); None: all

    def leg_reason(self, symbol: Symbol, target_notional: float) -> str:
        """Why a leg's clips trade: the reason itself when it is about this leg or about every leg; for another
        leg of the same decision, that leg's own target first and the decision's cause only in brackets."""
        if self.symbol is None or self.symbol == symbol:
            return f"{self.name}: {self.reason}"
        return f"{self.name}: {symbol} to target {target_notional:,.0f} in the same decision ({self.reason})"


def drift_outside_band(
    targets: Mapping[Symbol, float],
    actuals: Mapping[Symbol, float],
    band: float,
    min_notional: float,
) -> TriggerFired | None:
    """Fires when some instrument's hedge notional is off its target by more than band × |target| and by
    more than `min_notional` in absolute terms (so a tiny target still trades once, but dust never does)."""
    worst: tuple[float, Symbol] | None = None
    for symbol, target in targets.items():
        drift = abs(actuals.get(symbol, 0.0) - target)
        if drift > band * abs(target) and drift > min_notional and (worst is None or drift > worst[0]):
            worst = (drift, symbol)
    if worst is None:
        return None
    drift, symbol = worst
    target = targets[symbol]
    return TriggerFired(
        name="rebalance_band",
        reason=f"{symbol} hedge {actuals.get(symbol, 0.0):,.0f} is {drift:,.0f} off target {target:,.0f}",
        numbers={"drift": drift, "target": target, "actual": actuals.get(symbol, 0.0), "band": band},
        symbol=symbol,
    )


class TrailingShift:
    """Fires when a metric (correlation, beta) leaves its trailing mean by more than `band`.

    The trailing mean is exponentially weighted in time (half-life); a breakdown and a spike both count.
    A band of 0 turns the trigger off.
    """

    def __init__(self, name: str, band: float, halflife_ms: int) -> None:
        self.name = name
        self.band = band
        self.halflife_ms = halflife_ms
        self.mean: float | None = None
        self._last_ts = 0

    def update(self, ts: int, value: float) -> TriggerFired | None:
        if value != value:  # NaN: no estimate, nothing to compare
            return None
        if self.mean is None:
            self.mean, self._last_ts = value, ts
            return None
        keep = 0.5 ** ((ts - self._last_ts) / self.halflife_ms) if self.halflife_ms > 0 else 0.0
        deviation = value - self.mean
        self.mean = keep * self.mean + (1 - keep) * value
        self._last_ts = ts
        if self.band <= 0 or abs(deviation) <= self.band:
            return None
        return TriggerFired(
            name=self.name,
            reason=f"{self.name.split('_')[0]} {value:.3f} is {deviation:+.3f} from its trailing mean",
            numbers={"value": value, "trailing_mean": value - deviation, "band": self.band},
        )
