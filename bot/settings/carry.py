"""`[hedge.carry]`: the carry rule of "…@carry" legs (`bot.core.carry_book`): when a leg moves between its
perpetual and its front quarterly."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.settings.values import Duration, Float, PositiveDuration, Section


class CarrySection(Section):
    """Annualised funding (trailing mean of the settlements in `lookback`) against the front quarterly's annualised
    basis less its rolls' cost (two trades of `fee_bps` + `slippage_bps` four times a year); the leg switches when
    the other contract is better by more than `threshold` a year, and never sooner than `min_hold` after its last
    switch (hysteresis in size and in time: a switch costs two trades of the notional)."""

    threshold: Annotated[Float, Field(ge=0, le=1)] = 0.02  # a year: 0.02 = 2 %/y better before a switch
    lookback: PositiveDuration = "7d"  # funding settlements the perpetual's yield is the mean of
    min_hold: Duration = "7d"  # no switch sooner than this after the last one; "0s" = threshold only
    fee_bps: Annotated[Float, Field(ge=0, le=100)] = 4.0  # per trade (taker)
    slippage_bps: Annotated[Float, Field(ge=0, le=100)] = 2.0  # per trade, beyond the fee
