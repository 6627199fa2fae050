"""Rolls of dated futures: the quarterly calendar, the roll window with its staggered schedule, and the paired
steps that move a hedge from the near contract to the far one. Pure.

- Calendar: quarterlies deliver on the last Friday of March, June, September and December at 08:00 UTC (as
  Binance's). "BTC/USDT:USDT@quarterly" resolves to the front one (`resolve_quarterly`) and is rolled into the
  next inside the roll window; a plain dated symbol ("BTC/USDT:USDT-250328") is closed inside its window.
- Schedule: the window opens `window_ms` before expiry and holds `steps` steps, evenly spaced, the last one
  a step's length before expiry. After step k of n, k/n of the near position (as it was when the roll
  started) should have moved.
- A roll step is worked in pairs: close c on the near contract (reduce-only), open c on the far one, c capped
  so that one leg filling without the other keeps net exposure inside the rebalance band (never below one
  venue-minimum clip, though). A leg left behind (rejected, cancelled, or lost to a restart) is completed
  alone before the next pair.
- `RollState` is small and serialisable (`to_record` / `from_record`): with the positions the venue reports
  it is all a restarted engine needs to finish a roll, since each pair is derived from positions, not from a
  count of what was sent.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.domain import ClientOrderId, DecisionId, Fill, Rounding, Symbol, round_to_step
from bot.execution.ids import client_order_id

QUARTERLY = "@quarterly"
CARRY = "@carry"
_EXPIRY_HOUR_UTC = 8
_QUARTER_MONTHS = (3, 6, 9, 12)
_DATED = re.compile(r"^(?P<perp>[A-Z0-9]+/[A-Z0-9]+:[A-Z0-9]+)-(?P<date>\d{6})$")
_PERPETUAL = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+:[A-Z0-9]+$")


# ---- calendar -----------------------------------------------------------------------------------


def quarterly_expiry_ms(year: int, month: int) -> int:
    """08:00 UTC on the last Friday of `month`."""
    last_day = calendar.monthrange(year, month)[1]
    day = max(d for d in range(last_day - 6, last_day + 1) if calendar.weekday(year, month, d) == calendar.FRIDAY)
    return int(datetime(year, month, day, _EXPIRY_HOUR_UTC, tzinfo=UTC).timestamp() * 1000)


def quarterly_expiries_after(now_ms: int, count: int = 2) -> list[int]:
    """The next `count` quarterly expiries strictly after `now_ms`."""
    year = datetime.fromtimestamp(now_ms / 1000, tz=UTC).year
    found: list[int] = []
    while len(found) < count:
        found.extend(e for e in (quarterly_expiry_ms(year, m) for m in _QUARTER_MONTHS) if e > now_ms)
        year += 1
    return found[:count]


def expiry_of(symbol: str) -> int | None:
    """'BTC/USDT:USDT-250328' → 08:00 UTC on 2025-03-28 in ms; None for a symbol without a date."""
    match = _DATED.match(symbol)
    if match is None:
        return None
    day = datetime.strptime(match.group("date"), "%y%m%d").replace(hour=_EXPIRY_HOUR_UTC, tzinfo=UTC)
    return int(day.timestamp() * 1000)


def dated_symbol(perpetual: str, expiry_ms: int) -> Symbol:
    """'BTC/USDT:USDT' and an expiry → 'BTC/USDT:USDT-YYMMDD'."""
    return Symbol(f"{perpetual}-{datetime.fromtimestamp(expiry_ms / 1000, tz=UTC):%y%m%d}")


def _quarterly_base(spec: str) -> str:
    perpetual = spec.removesuffix(QUARTERLY)
    if not spec.endswith(QUARTERLY) or not _PERPETUAL.match(perpetual):
        raise ValueError(f"{spec!r} is not a quarterly spec like 'BTC/USDT:USDT@quarterly'")
    return perpetual


def resolve_quarterly(spec: str, now_ms: int) -> Symbol:
    """'BTC/USDT:USDT@quarterly' → the front quarterly (the first expiring after `now_ms`), e.g. '...-250328'."""
    return dated_symbol(_quarterly_base(spec), quarterly_expiries_after(now_ms, 1)[0])


def hedge_contract(spec: str, now_ms: int, window_ms: int) -> Symbol:
    """The quarterly that new exposure goes to: the front one until its roll window opens, then the next."""
    base = _quarterly_base(spec)
    front, following = quarterly_expiries_after(now_ms, 2)
    return dated_symbol(base, front if now_ms < front - window_ms else following)


# ---- the roll window ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollWindow:
    near: Symbol
    far: Symbol | None  # None: a plain dated contract, closed rather than rolled
    expiry_ms: int
    window_ms: int
    steps: int

    @property
    def start_ms(self) -> int:
        return self.expiry_ms - self.window_ms

    def step_times(self) -> tuple[int, ...]:
        """When each step falls due: evenly from the window's start, the last one a step before expiry."""
        return tuple(self.start_ms + k * self.window_ms // self.steps for k in range(self.steps))

    def steps_due(self, now_ms: int) -> int:
        return sum(1 for t in self.step_times() if t <= now_ms)

    def fraction_due(self, now_ms: int) -> float:
        """The share of the near position that should have moved by `now_ms`."""
        return self.steps_due(now_ms) / self.steps

    def is_open(self, now_ms: int) -> bool:
        return now_ms >= self.start_ms


def roll_window(spec: str, now_ms: int, window_ms: int, steps: int) -> RollWindow:
    """The window of the contract `spec` holds at `now_ms`: front → next for @quarterly, close for dated."""
    if window_ms <= 0 or steps < 1:
        raise ValueError(f"a roll needs a positive window and at least one step (got {window_ms} ms, {steps})")
    if spec.endswith(QUARTERLY):
        base = _quarterly_base(spec)
        near_expiry, far_expiry = quarterly_expiries_after(now_ms, 2)
        return RollWindow(
            dated_symbol(base, near_expiry), dated_symbol(base, far_expiry), near_expiry, window_ms, steps
        )
    expiry = expiry_of(spec)
    if expiry is None:
        raise ValueError(f"{spec!r} is neither a dated symbol nor a quarterly spec: it has no expiry to roll")
    return RollWindow(Symbol(spec), None, expiry, window_ms, steps)


# ---- roll cost ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollCost:
    """What a roll cost in the quote currency (positive = paid).

    basis: Σ the signed value of each fill at the mark when the clip was planned: linear, qty × contract size ×
    mark, so a completed pair is (near mark − far mark) × contracts moved and a short hedge rolled in contango earns
    (negative cost); inverse, −qty × face / mark in coin, valued at the coin's price (one price for both legs: the
    pair's coin difference, qty × face × (1/far − 1/near), is what it locks in). slippage: Σ the value at the fill
    less the value at that mark. fees: as charged.
    """

    basis: float = 0.0
    slippage: float = 0.0
    fees: float = 0.0

    @property
    def total(self) -> float:
        return self.basis + self.slippage + self.fees

    def with_fill(
        self,
        fill: Fill,
        reference_price: float,
        contract_size: float,
        fee_quote: float,
        paired: bool = True,
        coin_price: float | None = None,
    ) -> RollCost:
        """Count a roll fill (`coin_price`: an inverse contract's coin in the quote; None for a linear one). Only
        the legs of a pair carry basis: a one-legged move (restoring net exposure, closing a dust remainder)
        changes the hedge, and its notional is not a cost of rolling."""

        def value(price: float) -> float:
            if coin_price is None:
                return fill.signed_qty * contract_size * price
            return -fill.signed_qty * contract_size / price * coin_price

        at_mark = value(reference_price)
        return RollCost(
            basis=self.basis + (at_mark if paired else 0.0),
            slippage=self.slippage + value(fill.price) - at_mark,
            fees=self.fees + fee_quote,
        )


# ---- roll state and steps -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollPair:
    """One paired move: signed contracts on each leg (0 for a leg that does not trade in this pair)."""

    pair_no: int
    step: int  # the schedule step (1..n) this pair works towards
    near_qty: float
    far_qty: float
    near_reduce_only: bool


@dataclass(frozen=True, slots=True)
class RollState:
    """A roll in progress, as journaled: the window, the positions it started from, what it cost so far."""

    near: Symbol
    far: Symbol | None
    expiry_ms: int
    window_ms: int
    steps: int
    near_start: float  # near position (contracts, signed) when the roll started
    far_start: float  # far position when it started (usually 0)
    started_ms: int
    next_pair_no: int = 1
    finished_ms: int | None = None
    cost: RollCost = RollCost()
    moved_qty: float = 0.0  # contracts closed on the near leg by fills so far (signed like the fills)
    switch: bool = False  # a carry switch (perpetual ↔ dated, `start_switch`), not a roll by expiry

    @property
    def window(self) -> RollWindow:
        return RollWindow(self.near, self.far, self.expiry_ms, self.window_ms, self.steps)

    @property
    def roll_id(self) -> DecisionId:
        """'rBTCUSDT250328': the decision id of the roll's orders (distinct from hedge decisions' hex ids); a carry
        switch's, 'cBTC18b2a8c1e00', carries its start (a leg may switch to and from the same contracts again)."""
        if self.switch:
            return DecisionId(f"c{self.near.split('/')[0][:12]}{self.started_ms:x}")
        pair, _, rest = self.near.partition(":")
        settle, _, day = rest.partition("-")
        return DecisionId(f"r{pair.split('/')[0][:12]}{settle[:5]}{day}")

    def client_ids(self, pair_no: int) -> tuple[ClientOrderId, ClientOrderId]:
        """The (near, far) client order ids of a pair: legs 0 and 1 of the roll's decision id."""
        return client_order_id(self.roll_id, 0, pair_no), client_order_id(self.roll_id, 1, pair_no)

    def sent(self, pair: RollPair) -> RollState:
        """A pair was journaled and sent: later pairs get new client ids."""
        return replace(self, next_pair_no=max(self.next_pair_no, pair.pair_no + 1))

    def with_fill(
        self,
        fill: Fill,
        reference_price: float,
        contract_size: float,
        fee_quote: float,
        paired: bool = True,
        coin_price: float | None = None,
    ) -> RollState:
        moved = self.moved_qty + (fill.signed_qty if fill.symbol == self.near else 0.0)
        cost = self.cost.with_fill(fill, reference_price, contract_size, fee_quote, paired, coin_price)
        return replace(self, cost=cost, moved_qty=moved)

    def finished(self, now_ms: int) -> RollState:
        return replace(self, finished_ms=now_ms)

    def to_record(self) -> dict[str, Any]:
        """Plain JSON-able values for the journal."""
        return {
            "near": self.near,
            "far": self.far,
            "expiry_ms": self.expiry_ms,
            "window_ms": self.window_ms,
            "steps": self.steps,
            "near_start": self.near_start,
            "far_start": self.far_start,
            "started_ms": self.started_ms,
            "next_pair_no": self.next_pair_no,
            "finished_ms": self.finished_ms,
            "cost": {"basis": self.cost.basis, "slippage": self.cost.slippage, "fees": self.cost.fees},
            "moved_qty": self.moved_qty,
            "switch": self.switch,
        }

    @staticmethod
    def from_record(record: dict[str, Any]) -> RollState:
        cost = record.get("cost") or {}
        far = record.get("far")
        finished = record.get("finished_ms")
        return RollState(
            near=Symbol(str(record["near"])),
            far=None if far is None else Symbol(str(far)),
            expiry_ms=int(record["expiry_ms"]),
            window_ms=int(record["window_ms"]),
            steps=int(record["steps"]),
            near_start=float(record["near_start"]),
            far_start=float(record["far_start"]),
            started_ms=int(record["started_ms"]),
            next_pair_no=int(record.get("next_pair_no", 1)),
            finished_ms=None if finished is None else int(finished),
            cost=RollCost(
                float(cost.get("basis", 0.0)), float(cost.get("slippage", 0.0)), float(cost.get("fees", 0.0))
            ),
            moved_qty=float(record.get("moved_qty", 0.0)),
            switch=bool(record.get("switch", False)),
        )


def start_switch(
    near: Symbol, far: Symbol, expiry_ms: int, near_position: float, far_position: float, now_ms: int
) -> RollState:
    """A carry switch as a roll: the whole `near` position moves to `far` in paired clips, all of it due at once
    (one step whose window opens now). `expiry_ms` is the dated side's: the venue delivers what is left of a dated
    near leg then (a switch takes a few clip intervals, a quarter is far)."""
    window_ms = max(expiry_ms - now_ms, 1)
    return RollState(near, far, expiry_ms, window_ms, 1, near_position, far_position, now_ms, switch=True)


def start_roll(window: RollWindow, near_position: float, far_position: float, now_ms: int) -> RollState:
    return RollState(
        window.near, window.far, window.expiry_ms, window.window_ms, window.steps, near_position, far_position, now_ms
    )


def roll_targets(state: RollState, near_position: float, total: float, now_ms: int, lot: float) -> tuple[float, float]:
    """Where (near, far) should stand by `now_ms` while the hedge wants `total` contracts across both.

    The near leg shrinks along the schedule and never grows during a roll (new exposure goes to the far
    leg); it never holds more than the whole hedge. A plain dated contract has no far leg (target 0).
    """
    scheduled = round_to_step(state.near_start * (1.0 - state.window.fraction_due(now_ms)), lot, Rounding.NEAREST)
    same_side = scheduled * near_position > 0
    near = (scheduled if abs(scheduled) < abs(near_position) else near_position) if same_side else 0.0
    if near * total <= 0:
        near = 0.0
    elif abs(near) > abs(total):
        near = total
    far = total - near if state.far is not None else 0.0
    return near, round_to_step(far, lot, Rounding.NEAREST)


def pair_cap(clip_qty: float, band: float, total: float) -> float:
    """The largest pair: one clip, and no more than the rebalance band of the hedge (one leg may fill alone)."""
    return min(clip_qty, band * abs(total)) if band > 0 else clip_qty


def next_roll_pair(
    state: RollState,
    near_position: float,
    far_position: float,
    now_ms: int,
    max_qty: float,
    lot: float,
    min_qty: float = 0.0,
    total: float | None = None,
) -> RollPair | None:
    """The next move of the roll: a leg left behind first, else the next pair towards the schedule, or None.

    In order: (1) net exposure off its target (a leg of an earlier pair failed, or the hedge's target
    changed) is restored by the leg that lags; (2) a pair moves exposure from near to far, sized so that
    one leg filling alone keeps net exposure within `max_qty` (see `pair_cap`); (3) a remainder of the near
    leg too small for the far contract to mirror is closed alone (reduce-only orders have no minimum).
    `min_qty` is the smallest opening clip the far contract accepts; `total` the hedge's current target
    across both legs, by default the exposure the roll started with. A plain dated contract closes alone.
    """
    if state.finished_ms is not None:
        return None
    total = state.near_start + state.far_start if total is None else total
    near_target, far_target = roll_targets(state, near_position, total, now_ms, lot)
    gaps = _Gaps(
        near=round_to_step(near_target - near_position, lot, Rounding.NEAREST),
        far=round_to_step(far_target - far_position, lot, Rounding.NEAREST) if state.far is not None else 0.0,
        net=round_to_step(total - near_position - far_position, lot, Rounding.NEAREST),
        lot=lot,
    )
    cap, step, pair_no = max(max_qty, min_qty, lot), state.window.steps_due(now_ms), state.next_pair_no
    if state.far is None:
        near_qty = gaps.take(gaps.near, cap)
        return RollPair(pair_no, step, near_qty, 0.0, True) if near_qty else None
    lagging = _restore_net(gaps, cap, min_qty)
    if lagging is not None:
        near_qty, far_qty = lagging
        return RollPair(pair_no, step, near_qty, far_qty, near_qty != 0.0)
    if gaps.near * gaps.far < 0:
        size = gaps.take(min(abs(gaps.near), abs(gaps.far), max(cap - abs(gaps.net), min_qty)), math.inf)
        if size >= max(min_qty, lot):
            return RollPair(pair_no, step, math.copysign(size, gaps.near), math.copysign(size, gaps.far), True)
    if lot <= abs(gaps.near) < min_qty:
        return RollPair(pair_no, step, gaps.near, 0.0, True)
    return None


@dataclass(frozen=True, slots=True)
class _Gaps:
    near: float  # contracts the near leg is from its target (always towards flat)
    far: float
    net: float  # contracts the two legs together are from the hedge's target
    lot: float

    def take(self, gap: float, cap: float) -> float:
        """`gap` capped at `cap` contracts and rounded down to whole lots, signed like `gap`."""
        return math.copysign(round_to_step(min(abs(gap), cap), self.lot, Rounding.DOWN), gap) if gap else 0.0


def _restore_net(gaps: _Gaps, cap: float, min_qty: float) -> tuple[float, float] | None:
    """(near, far) contracts that bring net exposure back to the target by the leg that lags, or None."""
    if abs(gaps.net) < gaps.lot:
        return None
    if gaps.far * gaps.net > 0:
        far_qty = gaps.take(math.copysign(min(abs(gaps.net), abs(gaps.far)), gaps.far), cap)
        if abs(far_qty) >= max(min_qty, gaps.lot):
            return 0.0, far_qty
    if gaps.near * gaps.net > 0:
        near_qty = gaps.take(math.copysign(min(abs(gaps.net), abs(gaps.near)), gaps.near), cap)
        if abs(near_qty) >= gaps.lot:
            return near_qty, 0.0
    return None


def roll_complete(
    state: RollState,
    near_position: float,
    far_position: float,
    now_ms: int,
    lot: float,
    min_qty: float = 0.0,
    total: float | None = None,
) -> bool:
    """Every step is due, the near contract is flat and the far leg holds the hedge (within what the venue's
    minimum lets a clip fix): the roll can be journaled as finished. Check no roll order is open too."""
    if state.window.fraction_due(now_ms) < 1.0 or abs(near_position) >= lot / 2:
        return False
    if state.far is None:
        return True
    total = state.near_start + state.far_start if total is None else total
    return abs(total - far_position) < max(min_qty, lot) - lot / 2
