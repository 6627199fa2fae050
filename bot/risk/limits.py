"""Pre-trade limits, checked on every clip against the state after the clip. Pure.

A check may shrink a clip to fit rather than drop it, and says so. Orders that only reduce exposure are
never blocked by the exposure limits (they make things safer), only by staleness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import Instrument, Rounding, Symbol, round_to_step


@dataclass(frozen=True, slots=True)
class Limits:
    max_leverage: float
    max_position_notional: float
    max_order_notional: float
    max_price_age_ms: int


@dataclass(frozen=True, slots=True)
class ClipVerdict:
    qty: float  # signed contracts allowed (0 = blocked)
    notes: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return self.qty == 0


def _shrink(qty: float, allowed_abs: float, lot: float) -> float:
    # 1e-9 relative slack: room computed as 0.0999999… contracts must still allow 0.1
    allowed = round_to_step(max(allowed_abs, 0.0) * (1 + 1e-9), lot, Rounding.DOWN)
    return qty if abs(qty) <= allowed else allowed * (1 if qty > 0 else -1)


def check_clip(
    instrument: Instrument,
    qty: float,
    price: float,
    price_age_ms: int,
    positions: Mapping[Symbol, float],
    prices: Mapping[Symbol, float],
    instruments: Mapping[Symbol, Instrument],
    equity: float,
    limits: Limits,
) -> ClipVerdict:
    """How much of a clip of `qty` contracts in `instrument` may go out now."""
    if price_age_ms > limits.max_price_age_ms:
        return ClipVerdict(0.0, (f"price of {instrument.symbol} is {price_age_ms / 1000:.0f}s old (stale)",))
    position = positions.get(instrument.symbol, 0.0)
    reduces = position * qty < 0 and abs(qty) <= abs(position) + 1e-12
    if reduces:
        return ClipVerdict(qty, ())
    notes: list[str] = []
    unit = abs(instrument.notional(1.0, price))
    checks = (
        ("max_order_notional", limits.max_order_notional / unit),
        ("max_position_notional", limits.max_position_notional / unit - abs(position)),
        (
            "max_leverage",
            _leverage_room(instrument, position, price, positions, prices, instruments, equity, limits),
        ),
    )
    for name, room in checks:
        allowed = _shrink(qty, room, instrument.lot_step)
        if allowed != qty:
            notes.append(f"{name}: clip shrunk from {abs(qty):g} to {abs(allowed):g} contracts")
            qty = allowed
    return ClipVerdict(qty, tuple(notes))


def _leverage_room(
    instrument: Instrument,
    position: float,
    price: float,
    positions: Mapping[Symbol, float],
    prices: Mapping[Symbol, float],
    instruments: Mapping[Symbol, Instrument],
    equity: float,
    limits: Limits,
) -> float:
    """Contracts that can be added in this instrument before total notional / equity exceeds the limit."""
    if equity <= 0:
        return 0.0
    gross = sum(
        abs(instruments[s].notional(q, prices[s])) for s, q in positions.items() if s in instruments and s in prices
    )
    room_notional = limits.max_leverage * equity - gross
    return room_notional / abs(instrument.notional(1.0, price))
