"""What the portfolio is worth and what it is exposed to: holdings at mark, in the quote currency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import Symbol, spot_symbol


@dataclass(frozen=True, slots=True)
class Exposure:
    """Spot holdings valued at the latest prices; `missing` lists holdings with no price yet."""

    values: Mapping[str, float]  # base asset -> quote value
    missing: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(self.values.values())

    def weights(self) -> dict[str, float]:
        total = self.total
        return {base: value / total for base, value in self.values.items()} if total > 0 else {}


def value_holdings(holdings: Mapping[str, float], prices: Mapping[Symbol, float], quote: str) -> Exposure:
    values: dict[str, float] = {}
    missing: list[str] = []
    for base, qty in holdings.items():
        price = prices.get(spot_symbol(base, quote))
        if price is None:
            missing.append(base)
        else:
            values[base] = qty * price
    return Exposure(values, tuple(missing))
