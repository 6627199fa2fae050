"""`[sanity]`: the settings of the market-data sanity layer (`bot.core.sanity`), which every world runs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.settings.values import Flag, Float, Int, PositiveDuration, Section

MIN_RETURNS = 10  # recent returns needed before the series' own volatility counts; until then min_move alone


class SanitySection(Section):
    """`[sanity]`: the market-data sanity layer (bot.feeds.sanity); on by default in every world."""

    enabled: Flag = True
    max_sigmas: Annotated[Float, Field(gt=0, le=1_000)] = 12.0  # a move beyond this many robust σ ...
    min_move: Annotated[Float, Field(gt=0, le=5)] = 0.4  # ... and beyond this log move (+49 %, −33 %) is implausible
    max_factor: Annotated[Float, Field(gt=1, le=1e6)] = 10.0  # beyond ×10 or ÷10 is implausible whatever the σ
    window: Annotated[Int, Field(ge=MIN_RETURNS, le=10_000)] = 120  # recent returns the σ is estimated from
    confirmations: Annotated[Int, Field(ge=1, le=100)] = 2  # later prints carrying on from a held one confirm it
    reference_band: Annotated[Float, Field(gt=0, le=1)] = 0.05  # perpetual vs its spot pair: further is implausible
    reference_age: PositiveDuration = "1m"  # a reference print older than this is not compared
