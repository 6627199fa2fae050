"""The value types every config section is built from: strict numbers, durations, symbols, the section base.

Numbers are strict and finite: a bool or a string where a number belongs is refused (`ratio = true`,
`ratio = "1.0"`), as are `inf` and `nan` (which would silently switch a limit off); an integer setting takes
no float. Durations are `Duration` where "0s" documents "off", `PositiveDuration` where zero means nothing.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, AllowInfNan, BaseModel, ConfigDict, Field, Strict

from bot.domain import parse_duration_ms


class ConfigError(ValueError):
    """A config that cannot be used; the message names each bad key, its value and what was expected."""


class Section(BaseModel):
    """A config section: unknown keys refused, frozen, every float finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


Float = Annotated[float, Strict(), AllowInfNan(False)]  # an int is fine (`collateral = 50000`); bool, str, inf: not
Int = Annotated[int, Strict()]  # no float, no bool, no string
Flag = Annotated[bool, Strict()]  # true or false; not 1, not "yes"
PositiveFloat = Annotated[Float, Field(gt=0)]
NonNegativeFloat = Annotated[Float, Field(ge=0)]
Fraction = Annotated[Float, Field(ge=0, le=1)]
ASSET = re.compile(r"[A-Z0-9]+")


def _valid_duration(text: str) -> str:
    parse_duration_ms(text)  # ValueError naming the text: not a duration, or beyond a century
    return text


def _positive_duration(text: str) -> str:
    if parse_duration_ms(text) <= 0:
        raise ValueError(f"{text!r} must be longer than 0 (a zero duration cannot pace anything)")
    return text


Duration = Annotated[str, AfterValidator(_valid_duration)]  # "0s" allowed: where the field documents "off"
PositiveDuration = Annotated[str, AfterValidator(_valid_duration), AfterValidator(_positive_duration)]


def _valid_asset(text: str) -> str:
    if not ASSET.fullmatch(text):
        raise ValueError(f"{text!r} is not an asset code in capitals, like 'USDT' or 'ETH'")
    return text


Asset = Annotated[str, AfterValidator(_valid_asset)]
