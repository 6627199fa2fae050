"""Dated-futures prices for markets whose data has none (the synthetic market, replayed history).

After each price of a perpetual that a dated hedge leg references, the prices of the leg's listed contracts at
the same instant: the perpetual's price plus a basis that shrinks to zero at expiry (`bot.execution.dated_contracts`).
The paper venue and the engine both see them as ordinary market events, so they mark and trade the same
numbers. A contract is priced only until it expires.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.domain import MarketEvent, PriceObserved, Symbol
from bot.execution.dated_contracts import dated_price
from bot.execution.legs import HedgeLeg
from bot.execution.roll_plan import expiry_of


def with_dated_prices(
    events: Iterable[MarketEvent], specs: Iterable[str], basis_annual: float
) -> Iterator[MarketEvent]:
    legs = {leg.reference: leg for leg in (HedgeLeg.parse(s) for s in specs) if leg.rolls}
    if not legs:
        yield from events
        return
    listed = _Listing()
    for event in events:
        yield event
        leg = legs.get(event.symbol) if isinstance(event, PriceObserved) else None
        if leg is None:
            continue
        assert isinstance(event, PriceObserved)
        for contract, expiry in listed.contracts(leg, event.ts):
            if event.ts < expiry:
                yield PriceObserved(event.ts, contract, dated_price(event.price, basis_annual, event.ts, expiry))


class _Listing:
    """The contracts of each leg with their expiries, recomputed only when the front one expires."""

    def __init__(self) -> None:
        self._cache: dict[Symbol, tuple[int, tuple[tuple[Symbol, int], ...]]] = {}

    def contracts(self, leg: HedgeLeg, now: int) -> tuple[tuple[Symbol, int], ...]:
        cached = self._cache.get(leg.spec)
        if cached is not None and now < cached[0]:
            return cached[1]
        contracts = tuple((c, expiry_of(c) or 0) for c in leg.contracts_listed(now))
        valid_until = min(expiry for _, expiry in contracts)
        self._cache[leg.spec] = (valid_until, contracts)
        return contracts
