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
    )
