"""Legs held because their venue is down (`[venues]`, bot.live.venue_watch): their positions stay as they are and
the legs that still trade take over what the held ones were to trade. Pure.

A held leg's target is its planned position (no order goes to a venue that is down). What the policy wanted it
to add or shed (its shortfall, in notional) is spread over the legs that trade, notional for notional, in
proportion to their own targets (evenly when none has one): the proxies of one basket move together, so the hedge
as a whole stays near its size while one venue is away. A shortfall never flips a trading leg to the other side:
at most it takes that leg to flat.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.domain import HedgeTarget, Instrument, Rounding, Symbol
from bot.hedge.sizing import size_target


def hold_legs(
    targets: Mapping[Symbol, HedgeTarget],
    planned: Mapping[Symbol, float],
    held: Collection[Symbol],
    instruments: Mapping[Symbol, Instrument],
    prices: Mapping[Symbol, float],
    rounding: Rounding,
) -> dict[Symbol, HedgeTarget]:
    """`targets` with the `held` legs at their planned positions and their shortfall on the other legs."""
    holding = [s for s in targets if s in held]
    if not holding:
        return dict(targets)
    out = dict(targets)
    shortfall = 0.0
    for symbol in holding:
        qty = planned.get(symbol, 0.0)
        kept = instruments[symbol].notional(qty, prices[symbol])
        shortfall += targets[symbol].notional - kept
        out[symbol] = HedgeTarget(symbol, qty, kept)
    free = [s for s in targets if s not in held]
    if not free or not shortfall:
        return out
    weight = sum(abs(targets[s].notional) for s in free)
    for symbol in free:
        share = abs(targets[symbol].notional) / weight if weight else 1 / len(free)
        notional = targets[symbol].notional + shortfall * share
        if targets[symbol].notional and notional * targets[symbol].notional < 0:
            notional = 0.0  # never past flat
        out[symbol] = size_target(instruments[symbol], notional, prices[symbol], rounding)
    return out
