"""Staleness gates: no order on a price, funding rate or account state older than its limit. Pure.

The gate is a function of the timestamps it is given and of `now`, so it closes while any input the caller
depends on is too old (or was never seen) and reopens by itself at the first check after fresh data returns:
there is nothing to reset. The caller says what it depends on by what it passes: the marks of the hedge
instruments, the funding of the perpetuals whose funding it uses, the hedge-account snapshot.

Governor: source `SOURCE`; while `gate.hold_state` is not None hold it with `gate.reason`, else release.
Stale inputs hold trading to `reducing` (fail closed: nothing that adds risk on data we cannot trust, while
reducing orders may still go out; `check_clip` blocks every order on a stale mark of its own instrument).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain import Symbol, readable_duration
from bot.risk.state import TradingState

SOURCE = "staleness"


class Input(enum.StrEnum):
    PRICE = "price"
    FUNDING = "funding"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class StalenessLimits:
    max_price_age_ms: int
    max_funding_age_ms: int
    max_account_age_ms: int

    def limit_for(self, kind: Input) -> int:
        if kind is Input.PRICE:
            return self.max_price_age_ms
        if kind is Input.FUNDING:
            return self.max_funding_age_ms
        return self.max_account_age_ms


@dataclass(frozen=True, slots=True)
class StaleInput:
    kind: Input
    name: str  # the symbol, or "hedge account"
    age_ms: int | None  # None: never seen
    limit_ms: int

    def describe(self) -> str:
        limit = f"limit {readable_duration(self.limit_ms)}"
        if self.age_ms is None:
            return f"{self.kind} of {self.name} never seen ({limit})"
        return f"{self.kind} of {self.name} {readable_duration(self.age_ms)} old ({limit})"


@dataclass(frozen=True, slots=True)
class Gate:
    ts: int
    stale: tuple[StaleInput, ...]

    @property
    def open(self) -> bool:
        return not self.stale

    @property
    def hold_state(self) -> TradingState | None:
        """The hold to place on the governor (None: release it)."""
        return TradingState.REDUCING if self.stale else None

    @property
    def reason(self) -> str:
        if not self.stale:
            return "prices, funding and account fresh"
        return "stale: " + ", ".join(item.describe() for item in self.stale)


def check_staleness(
    now: int,
    limits: StalenessLimits,
    price_ts: Mapping[Symbol, int | None],
    funding_ts: Mapping[Symbol, int | None],
    account_ts: int | None,
) -> Gate:
    """The gate at `now`, from when each input the caller depends on was last seen (None: never)."""
    if (
        _fresh(now, limits.max_price_age_ms, price_ts.values())
        and _fresh(now, limits.max_funding_age_ms, funding_ts.values())
        and _fresh(now, limits.max_account_age_ms, (account_ts,))
    ):  # the common case, at every instant: nothing to sort, list or describe
        return Gate(now, ())
    inputs = [
        *((Input.PRICE, name, ts) for name, ts in sorted(price_ts.items())),
        *((Input.FUNDING, name, ts) for name, ts in sorted(funding_ts.items())),
        (Input.ACCOUNT, "hedge account", account_ts),
    ]
    stale = []
    for kind, name, ts in inputs:
        limit = limits.limit_for(kind)
        age = None if ts is None else now - ts  # a time ahead of `now` (clock skew) counts as fresh
        if age is None or age > limit:
            stale.append(StaleInput(kind, name, age, limit))
    return Gate(now, tuple(stale))


def _fresh(now: int, limit: int, seen: Iterable[int | None]) -> bool:
    """Every time seen within `limit` of `now` (the test below, for all of them at once)."""
    return all(ts is not None and now - ts <= limit for ts in seen)


def stale_prices(
    now: int, limits: StalenessLimits, price_ts: Mapping[Symbol, int | None], funding_ts: Mapping[Symbol, int | None]
) -> dict[Symbol, StaleInput]:
    """The symbols among these whose price (first) or funding is too old, each with the input found stale: for
    inputs the caller can do without (a proxy among several) rather than gate on."""
    gate = check_staleness(now, limits, price_ts, funding_ts, account_ts=now)
    found: dict[Symbol, StaleInput] = {}
    for item in gate.stale:
        if item.kind is not Input.ACCOUNT:
            found.setdefault(Symbol(item.name), item)
    return found
