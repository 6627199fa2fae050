"""The syntax of `[hedge] instruments`: which contracts a leg may name. Pure string rules, no execution policy.

A hedge instrument is a linear contract settled in its quote currency, written four ways:
"BTC/USDT:USDT" (perpetual), "BTC/USDT:USDT-240329" (dated, expiring 2024-03-29), "BTC/USDT:USDT@quarterly"
(the front quarterly, rolled), or "BTC/USDT:USDT@carry" (the perpetual or the front quarterly, chosen by carry:
`bot.core.carry_book`). A spot pair ("BTC/USDT") cannot hold a short hedge. An inverse (coin-margined)
contract, quoted in USD and settled in its coin, is written the same four ways ("BTC/USD:BTC",
"BTC/USD:BTC-240329", "BTC/USD:BTC@quarterly", "BTC/USD:BTC@carry"); the legs' settlement rules (one coin)
are in `bot.settings.settlement`. A @quarterly or @carry leg holds every dated contract of its pair, so no other
leg may trade that pair (`bot.execution.legs` works the legs; this module only says which are valid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

QUARTERLY = "@quarterly"
CARRY = "@carry"  # the perpetual or the front quarterly of a pair, whichever carries more
_CONTRACT = re.compile(
    r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(?::(?P<settle>[A-Z0-9]+)(?:-(?P<date>\d{6}))?)?(?P<quarterly>@quarterly|@carry)?$"
)


def leg_reference(spec: str) -> str:
    """'BTC/USDT:USDT-240329' or 'BTC/USDT:USDT@quarterly' → 'BTC/USDT:USDT': the perpetual of the leg's pair."""
    spec = spec.removesuffix(QUARTERLY).removesuffix(CARRY)
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
    if settle == base:  # inverse (coin-margined): one coin, USD face (bot.settings.settlement)
        if quote != "USD":
            raise ValueError(f"{spec!r}: an inverse contract is quoted in USD, like '{base}/USD:{base}'")
    elif settle != quote:
        raise ValueError(
            f"{spec!r} settles in {settle}: a contract settles in its quote (linear) or its base (inverse)"
        )
    if day is not None:
        if match.group("quarterly"):
            suffix = match.group("quarterly")
            raise ValueError(f"{spec!r}: {suffix} follows the perpetual ('{base}/{quote}:{settle}{suffix}')")
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
    whole_pair = [s for s in specs if s.endswith((QUARTERLY, CARRY))]  # legs holding every contract of a pair
    pairs = [leg_reference(s) for s in whole_pair]
    shared = sorted({s for s in specs if s not in whole_pair and leg_reference(s) in pairs})
    shared += sorted({s for s in whole_pair if pairs.count(leg_reference(s)) > 1})
    if shared:
        raise ValueError(
            f"hedge instruments {shared}: a @quarterly or @carry leg holds every dated contract of its pair"
            " (@carry its perpetual too); no other leg may trade that pair's perpetual or dated contracts"
        )
