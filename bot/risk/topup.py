"""Top-up before cutting: how much of the reserve to move into the hedge account, and when. Pure.

The reserve is stablecoins in the spot or funding wallet of the hedge account's own exchange (`[risk.reserve]`).
When the collateral buffer (`bot.risk.collateral`) falls below its top-up step, the planner asks for the amount
that lifts the buffer back to where a cut would take it (`BufferSteps.cut_target`), within three caps: each
transfer (`max_transfer`), each UTC day (`max_daily`), and the reserve the bot may use at all (`amount`).

One transfer is in flight at a time. Its amount counts as equity from the moment it is asked (`credit`), so the
same shortfall is never asked twice, and a cut at the reduce step is only what the top-up cannot cover; the
credit is dropped once the shell reports the transfer (executed: it stays until an account snapshot taken after
it arrives; refused: the planner waits `retry_after_ms` before asking again).

Transfer ids are deterministic, like client order ids (`bot.execution.ids`): a replay asks the same ids, and a
restart continues the sequence from the journal.

A coin-margined hedge account (`bot.risk.inverse`) is topped up with its coin (Binance's MAIN_CMFUTURE): its legs
are `CoinLeg`s, the buffer is solved in the coin, and every amount here (the caps of `[risk.reserve]` too) is in
that coin, asked in steps of `COIN_UNIT` rather than whole units.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.risk import buffer as buffers
from bot.risk import inverse

ReserveWallet = Literal["spot", "funding"]
Legs = tuple[buffers.Leg, ...] | tuple[inverse.CoinLeg, ...]  # a linear account's, or a coin account's
_MIN_TRANSFER = 1.0  # quote units: below this a transfer is not worth a request (and the rounding step)
COIN_UNIT = 0.0001  # a coin account's step: 0.0001 BTC or ETH is a few dollars, as one quote unit is one
_SEARCH_DOUBLINGS = 60


@dataclass(frozen=True, slots=True)
class ReserveLimits:
    amount: float = 0.0  # quote the bot may move in over the run; 0: no reserve (the ladder cuts)
    wallet: ReserveWallet = "spot"
    max_transfer: float = 25_000.0
    max_daily: float = 100_000.0  # per UTC day
    retry_after_ms: int = MS_PER_HOUR  # after a refused transfer (the wallet short, the venue away)

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) and v >= 0 for v in (self.amount, self.max_transfer, self.max_daily)):
            raise ValueError(f"reserve amounts must be finite and non-negative: {self}")

    @property
    def enabled(self) -> bool:
        return self.amount > 0 and self.max_transfer > 0 and self.max_daily > 0


@dataclass(frozen=True, slots=True)
class TopUp:
    """Move `amount` (quote) from the reserve wallet into the hedge account: the engine's action, journaled
    before it is sent."""

    ts: int
    transfer_id: str
    amount: float
    wallet: ReserveWallet
    reason: str

    def as_record(self) -> dict[str, object]:
        return {"ts": self.ts, "transfer_id": self.transfer_id, "amount": self.amount, "wallet": self.wallet,
                "reason": self.reason}  # fmt: skip


def transfer_id(ts_ms: int, seq: int) -> str:
    """The `seq`-th top-up of a run, asked at event time `ts_ms` (like 'hb-tu-1a255f43f00-3')."""
    return f"hb-tu-{ts_ms:x}-{seq}"


def _split(legs: Legs) -> tuple[tuple[inverse.CoinLeg, ...], tuple[buffers.Leg, ...]]:
    """(a coin account's legs, a linear account's legs): one of them is empty."""
    coin = tuple(leg for leg in legs if isinstance(leg, inverse.CoinLeg))
    return coin, tuple(leg for leg in legs if isinstance(leg, buffers.Leg))


def account_buffer(equity: float, legs: Legs) -> float | None:
    """The account's buffer: linear (`bot.risk.buffer`), or in the coin for a coin account's legs."""
    coin, linear = _split(legs)
    return inverse.account_buffer(equity, coin) if coin else buffers.account_buffer(equity, linear)


def unit_of(legs: Legs) -> float:
    """The step amounts are asked in: one quote unit, or `COIN_UNIT` of a coin account's coin."""
    return COIN_UNIT if _split(legs)[0] else _MIN_TRANSFER


def _gross(legs: Legs) -> float:
    """The legs' size in the account's currency (the coin account's at the marks)."""
    coin, linear = _split(legs)
    return sum(abs(leg.qty) * leg.face / leg.mark for leg in coin) + sum(abs(leg.notional) for leg in linear)


def needed(equity: float, legs: Legs, target: float) -> float:
    """The smallest equity to add for the account's buffer to reach `target` (0.0 when it already does)."""

    def enough(added: float) -> bool:
        buffer = account_buffer(equity + added, legs)
        return buffer is None or buffer >= target

    if not legs or enough(0.0):
        return 0.0
    high = max(_gross(legs) * 0.01, unit_of(legs))
    for _ in range(_SEARCH_DOUBLINGS):
        if enough(high):
            break
        high *= 2
    low = 0.0
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


class ReservePlanner:
    def __init__(self, limits: ReserveLimits) -> None:
        self.limits = limits
        self.used = 0.0  # executed so far
        self._by_day: dict[int, float] = {}
        self.in_flight: TopUp | None = None
        self._unseen = 0.0  # executed, not yet in an account snapshot
        self._seq = 0
        self._retry_at = 0

    @property
    def credit(self) -> float:
        """Equity on its way: the transfer in flight and those executed that no snapshot shows yet."""
        return self._unseen + (self.in_flight.amount if self.in_flight else 0.0)

    def room(self, ts: int) -> float:
        """What may still be moved now: the smallest of the three caps."""
        day = self._by_day.get(ts // MS_PER_DAY, 0.0)
        limits = self.limits
        return max(min(limits.max_transfer, limits.max_daily - day, limits.amount - self.used), 0.0)

    def available(self, ts: int) -> float:
        """What top-ups could still bring in today, beyond the transfer in flight: the day's cap and the amount
        left over the run (one transfer at a time, each within `max_transfer`). The hedge a decision may add
        counts on it (`bot.risk.headroom`): a buffer it takes below `top_up` is topped up, not cut."""
        if not self.limits.enabled:
            return 0.0
        day = self._by_day.get(ts // MS_PER_DAY, 0.0)
        left = min(self.limits.max_daily - day, self.limits.amount - self.used)
        return max(left - (self.in_flight.amount if self.in_flight else 0.0), 0.0)

    def plan(self, ts: int, equity: float, legs: Legs, target: float, reason: str) -> TopUp | None:
        """A top-up lifting the buffer to `target`, as far as the caps allow; None when none is due or possible."""
        if not self.limits.enabled or self.in_flight is not None or ts < self._retry_at or not math.isfinite(equity):
            return None
        unit = unit_of(legs)  # whole steps: the history matches the amount exactly
        want = math.ceil(needed(equity + self.credit, legs, target) / unit)
        amount = round(min(want, math.floor(self.room(ts) / unit)) * unit, 8)  # Binance books 8 decimals
        if amount < unit:
            return None
        self._seq += 1
        shown = f"{amount:,.0f}" if unit >= 1 else f"{amount:,.4f}"
        why = f"{reason}; top up {shown} from the {self.limits.wallet} wallet"
        self.in_flight = TopUp(ts, transfer_id(ts, self._seq), amount, self.limits.wallet, why)
        return self.in_flight

    def settled(self, transfer: str, executed: bool, ts: int, *, refused: bool = True) -> TopUp | None:
        """The shell's word on a transfer: executed or not; one not executed was `refused` (the planner waits
        before asking again) or never reached the venue (asked again at once). Returns the top-up it was (None:
        not the one in flight)."""
        top_up = self.in_flight
        if top_up is None or top_up.transfer_id != transfer:
            return None
        self.in_flight = None
        if executed:
            self._count(top_up.ts, top_up.amount)
            self._unseen += top_up.amount
        elif refused:
            self._retry_at = ts + self.limits.retry_after_ms
        return top_up

    def account_seen(self) -> None:
        """A fresh account snapshot arrived: every executed transfer is in its equity."""
        self._unseen = 0.0

    def restore(self, executed: Iterable[tuple[int, float]], asked: int) -> None:
        """Continue after a restart: the transfers executed so far (ts, amount), and how many were asked."""
        for ts, amount in executed:
            self._count(ts, amount)
        self._seq = max(self._seq, asked)

    def _count(self, ts: int, amount: float) -> None:
        self.used += amount
        self._by_day[ts // MS_PER_DAY] = self._by_day.get(ts // MS_PER_DAY, 0.0) + amount
