"""`[hedge.liquidity]`: the liquidity tiers of proxy candidates (`bot.hedge.liquidity`): how much traded volume a
candidate perpetual needs to be chosen at all, and how much of the hedge it may carry."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from bot.settings.values import Float, Int, PositiveDuration, PositiveFloat, Section


class LiquidityTierSpec(Section):
    min_quote_volume: PositiveFloat  # the median daily quote volume (quote currency) a candidate needs for this tier
    max_weight: Annotated[Float, Field(gt=0, le=1)]  # its leg's notional at most this share of the hedged basket


class LiquiditySection(Section):
    """Tiers from the median of a candidate's daily quote volume over the last `days` (replay: the candles' volume ×
    close, 24 h sums; live: the venue ticker's 24 h quote volume). A candidate below the lowest tier is not chosen;
    a current proxy stays until its volume falls below (1 − `hysteresis`) × the lowest tier and is then replaced at
    the next re-choice. No tiers: every candidate is eligible with no cap."""

    tiers: tuple[LiquidityTierSpec, ...] = ()
    days: Annotated[Int, Field(ge=1, le=365)] = 30
    hysteresis: Annotated[Float, Field(ge=0, lt=1)] = 0.2  # 1 would keep a proxy whose volume is gone
    # live and paper on an exchange: how often the venue's 24 h tickers are read (bot/feeds/volume_poll.py)
    volume_poll: PositiveDuration = "15m"

    @field_validator("tiers")
    @classmethod
    def _tiers_fall(cls, tiers: tuple[LiquidityTierSpec, ...]) -> tuple[LiquidityTierSpec, ...]:
        """Highest volume first, each tier's volume and cap below the one before: a candidate's tier is the first
        it reaches, and more volume never buys a smaller cap."""
        volumes = [tier.min_quote_volume for tier in tiers]
        weights = [tier.max_weight for tier in tiers]
        if volumes != sorted(set(volumes), reverse=True) or weights != sorted(weights, reverse=True):
            raise ValueError(
                f"min_quote_volume must fall strictly and max_weight never rise, tier by tier; got volumes"
                f" {volumes} and weights {weights}"
            )
        return tiers
