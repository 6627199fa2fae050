"""Notional to contracts: N = notional / (P × S) for linear contracts, notional / face for inverse ones.

Rounding to the lot step is a policy (down, nearest, up; `down` rounds towards zero so the hedge never
overshoots); the unrounded remainder is reported as the residual.
"""

from __future__ import annotations

from bot.domain import HedgeTarget, Instrument, Rounding, round_to_step


def size_target(instrument: Instrument, notional: float, price: float, rounding: Rounding) -> HedgeTarget:
    raw = instrument.contracts_for_notional(notional, price)
    qty = round_to_step(raw, instrument.lot_step, rounding)
    return HedgeTarget(
        symbol=instrument.symbol,
        qty=qty,
        notional=instrument.notional(qty, price),
        residual=raw - qty,
    )
