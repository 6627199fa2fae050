"""The live book's one-day VaR and ES, hedged and unhedged, from the engine's own rolling returns (`ctl status`,
the metrics). The maths is bot.risk.tail's; this reads the book off the engine: the holdings at their marks and
each hedge leg's position (near and far during a roll) at its reference perpetual's mark."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.domain import MS_PER_DAY, Symbol, spot_symbol
from bot.risk.tail import TailRisk, book_tail_risk

if TYPE_CHECKING:  # the engine is only read here; the type is enough
    from bot.core.engine import Engine


def live_tail_risk(engine: Engine) -> dict[str, Any] | None:
    """VaR and ES at 99 %, historical and filtered, unhedged and hedged, in the quote currency; None until the
    estimator holds `min_samples` returns or while some holding or leg is not priced."""
    estimator = engine.estimator
    if not estimator.ready:
        return None
    exposure = engine.exposure()
    if exposure.missing:
        return None
    spot = {spot_symbol(base, engine.quote): value for base, value in exposure.values.items() if value}
    hedge: dict[Symbol, float] = {}
    for spec, leg in engine.legs.items():
        qty = engine.leg_position(leg)
        if qty and leg.reference in engine.prices and leg.reference in engine.instruments:
            hedge[spec] = engine.notional(leg.reference, qty)
    samples_per_day = MS_PER_DAY / estimator.step_ms
    report = book_tail_risk(estimator.returns(), estimator.index, spot, hedge, samples_per_day)
    if report is None:
        return None

    def pair(risk: TailRisk) -> dict[str, float]:
        return {"var": round(risk.var, 2), "es": round(risk.es, 2)}

    return {
        "level": report.level,
        "samples": report.days,
        "step_ms": estimator.step_ms,
        "historical": {"unhedged": pair(report.unhedged), "hedged": pair(report.hedged)},
        "filtered": {"unhedged": pair(report.unhedged_filtered), "hedged": pair(report.hedged_filtered)},
    }
