"""Where the hedge account settles: the quote currency (linear legs) or one coin (inverse legs). Pure string rules.

A paper (and a Binance COIN-M) hedge account holds one settlement currency, so the legs may not mix: all linear,
settled in the portfolio's quote, or all inverse perpetuals ("BTC/USD:BTC") settled in one coin, whose face
value is in USD (taken as the portfolio's quote, a USD stablecoin). `[portfolio] posted` names the holding
posted as that coin account's collateral (the ETH held, margining a short ETH/USD:ETH): it must be a holding
given as a quantity, in the coin the account settles in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

USD_QUOTES = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD"})  # an inverse contract's USD face, in such a quote


def inverse_settle(spec: str) -> str | None:
    """'BTC/USD:BTC' (or dated, '-250328', '@quarterly', '@carry') → 'BTC': the coin an inverse contract settles
    in; None for a linear one."""
    pair, _, rest = spec.partition(":")
    settle = re.split(r"[-@]", rest, maxsplit=1)[0]
    base = pair.split("/")[0]
    return base if settle == base else None


def settlement_currency(specs: Iterable[str], quote: str) -> str:
    """The one currency the hedge legs settle in; ValueError naming the legs when they mix currencies."""
    currencies = {spec: inverse_settle(spec) or quote for spec in specs}
    distinct = sorted(set(currencies.values()))
    if len(distinct) > 1:
        raise ValueError(
            f"hedge instruments {sorted(currencies)} settle in {distinct}: one hedge account holds one settlement"
            " currency; hedge with linear contracts only, or with inverse contracts of one coin only"
        )
    return distinct[0] if distinct else quote


def check_inverse_quote(specs: Iterable[str], quote: str) -> None:
    """ValueError when an inverse leg's USD face cannot be valued in the portfolio's quote."""
    for spec in specs:
        if inverse_settle(spec) is not None and quote not in USD_QUOTES:
            raise ValueError(
                f"hedge instrument {spec!r} has a USD face value; portfolio.quote {quote!r} is not a USD currency"
            )


def check_posted(posted: Iterable[str], holdings: Mapping[str, float], settles_in: str) -> None:
    """ValueError unless each posted holding is a quantity held in the coin the hedge account settles in."""
    for base in posted:
        if base != settles_in:
            raise ValueError(
                f"portfolio.posted {base!r}: the hedge account settles in {settles_in}; only a holding of that coin"
                " can be posted as its collateral (hedge with inverse contracts settled in it, like"
                f" '{base}/USD:{base}')"
            )
        if base not in holdings:
            raise ValueError(f"portfolio.posted {base!r} is not in portfolio.holdings (a quantity of the coin)")
