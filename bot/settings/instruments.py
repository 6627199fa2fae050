"""The syntax of `[hedge] instruments`: which contracts a leg may name. Pure string rules, no execution policy.

A hedge instrument is a linear contract settled in its quote currency, written three ways:
"BTC/USDT:USDT" (perpetual), "BTC/USDT:USDT-240329" (dated, expiring 2024-03-29) or "BTC/USDT:USDT@quarterly"
(the front quarterly, rolled). A spot pair ("BTC/USDT") cannot hold a short hedge. An inverse (coin-margined)
perpetual ("BTC/USD:BTC", USD face value, settled in the coin) is one too; dated inverse contracts are not
supported yet, and the legs' settlement rules (one coin) are in `bot.settings.settlement`. A @quarterly leg
holds every dated contract of its pair, so no other leg may trade that pair (`bot.execution.legs` works the
legs; this module only says which are valid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

QUARTERLY = "@quarterly"
_CONTRACT = re.compile(
    r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(?::(?P<settle>[A-Z0-9]+)(?:-(?P<date>\d{6}))?)?(?P<quarterly>@quarterly)?$"
)


def leg_reference(spec: str) -> str:
    """'BTC/USDT:USDT-240329' or 'BTC/USDT:USDT@quarterly' → 'BTC/USDT:USDT': the perpetual of the leg's pair."""
    spec = spec.removesuffix(QUARTERLY)
    return re.sub(r"-\d{6}$", "", spec)


def check_hedge_symbol(spec: str) -> str:
    """`spec` when it names a linear perpetual, dated or @quarterly contract; ValueError naming it and why not."""
    match = _CONTRACT.match(spec)
    if match is None:
        raise ValueError(f"{spec!r} is not a ccxt unified symbol like 'BTC/USDT:USDT' or 'BTC/USDT:USDT-250328'")
    base, quote, settle, day = match.group("base", "quote", "settle", "date")
    if settle is None:
        raise ValueError(
            f"{spec!r} is a spot pair: a hedge instrument is a perpetual or dated contract,"
            f" like '{base}/{quote}:{quote}'"
        )
    if base == quote:
        raise ValueError(f"{spec!r} prices {base} in itself")
    if settle == base:  # inverse (coin-margined): perpetuals only (bot.settings.settlement: one coin, USD face)
        if day is not None or match.group("quarterly"):
            raise ValueError(
                f"{spec!r} is a dated inverse (coin-margined) contract: only inverse perpetuals are supported"
                f" ('{base}/{quote}:{base}'), or a linear dated one like '{base}/USDT:USDT-{day or '250328'}'"
            )
        if quote != "USD":
            raise ValueError(f"{spec!r}: an inverse contract is quoted in USD, like '{base}/USD:{base}'")
        return spec
    if settle != quote:
        raise ValueError(f"{spec!r} settles in {settle}, not in its quote {quote}: only linear contracts are supported")
    if day is not None:
        if match.group("quarterly"):
            raise ValueError(f"{spec!r}: @quarterly follows the perpetual ('{base}/{quote}:{settle}@quarterly')")
        try:
            datetime.strptime(day, "%y%m%d")
        except ValueError:
            raise ValueError(f"{spec!r}: {day} is not an expiry date YYMMDD") from None
    return spec


def check_hedge_legs(specs: Iterable[str]) -> None:
    """ValueError when the instruments repeat one or overlap a @quarterly leg's pair (their positions would mix)."""
    specs = list(specs)
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"hedge instruments {repeated} are listed more than once")
    quarterly = [leg_reference(s) for s in specs if s.endswith(QUARTERLY)]
    shared = sorted({s for s in specs if not s.endswith(QUARTERLY) and leg_reference(s) in quarterly})
    shared += sorted({f"{r}{QUARTERLY}" for r in quarterly if quarterly.count(r) > 1})
    if shared:
        raise ValueError(
            f"hedge instruments {shared}: a @quarterly leg holds every dated contract of its pair; "
            "no other leg may trade that pair's perpetual or dated contracts"
        )
