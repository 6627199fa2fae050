"""Driving the rolls of dated legs: inside a leg's roll window, paired clips move its exposure from the near
contract to the far one (or, for a plain dated contract, close it) along the staggered schedule. Pure.

While a leg rolls, the roller owns both its contracts: hedge decisions only move the leg's target, which the
pairs follow (a pair restores net exposure first, then moves the next slice). A pair's two legs go out
together, each through the executor's limits; the next pair waits until neither is open. Every pair is
derived from positions, so a restarted engine given the journaled `RollState` finishes the roll where it
stood. Roll cost (basis, slippage against the mark at planning, fees) accumulates per roll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import Config
from bot.domain import MS_PER_DAY, ClientOrderId, Fill, HedgeTarget, Instrument, Rounding, Symbol, round_to_step
from bot.execution.actions import ClipHeld, ExecutionAction, PlaceOrder, RollChanged
from bot.execution.clips import min_clip_qty
from bot.execution.dated_contracts import perpetual_of
from bot.execution.executor import Executor
from bot.execution.legs import HedgeLeg
from bot.execution.roll_plan import (
    RollPair,
    RollState,
    next_roll_pair,
    pair_cap,
    roll_complete,
    roll_window,
    start_roll,
    start_switch,
)
from bot.money import fee_in_quote


@dataclass(frozen=True, slots=True)
class RollTotals:
    rolls: int = 0  # finished
    cost: float = 0.0  # quote currency, positive = paid: basis + slippage + fees of finished rolls


class Roller:
    def __init__(self, config: Config, legs: tuple[HedgeLeg, ...], executor: Executor) -> None:
        self.legs = tuple(leg for leg in legs if leg.rolls)
        self.executor = executor
        self.quote = config.portfolio.quote
        self.states: dict[Symbol, RollState] = {}  # by leg spec: the rolls in progress
        self.totals = RollTotals()
        self._refs: dict[ClientOrderId, tuple[float, bool]] = {}  # a roll order's mark when planned, and
        # whether it is one leg of a pair (only pairs carry basis)
        self._due: dict[Symbol, int] = {}
        self.configure(config)

    def configure(self, config: Config) -> None:
        self.window_ms = int(config.execution.roll_window_days * MS_PER_DAY)
        self.steps = config.execution.roll_steps
        self.band = config.hedge.rebalance_band

    def rolling(self, spec: Symbol) -> bool:
        return spec in self.states

    def restore(self, spec: Symbol, state: RollState) -> None:
        """Resume a roll the journal says was in progress (its pairs follow from the positions)."""
        if state.finished_ms is None:
            self.states[spec] = state

    @property
    def in_progress_cost(self) -> float:
        return sum(state.cost.total for state in self.states.values())

    def on_fill(self, fill: Fill) -> None:
        known = self._refs.get(fill.client_id)
        if known is None:
            return
        reference, paired = known
        for spec, state in self.states.items():
            if fill.symbol in (state.near, state.far):
                instrument = self.executor.view.instruments[fill.symbol]
                fee = fee_in_quote(fill, self.quote)
                coin = self._coin_price(instrument, reference) if instrument.inverse else None
                self.states[spec] = state.with_fill(fill, reference, instrument.contract_size, fee, paired, coin)
                return

    def _coin_price(self, instrument: Instrument, reference: float) -> float:
        """An inverse contract's coin in the quote: its perpetual's price (one price for both legs of a pair)."""
        return self.executor.view.prices.get(perpetual_of(instrument.symbol), reference)

    # ---- working the rolls ------------------------------------------------------------------------

    def work(self, now: int, targets: Mapping[Symbol, HedgeTarget]) -> list[ExecutionAction]:
        """The next roll moves of every dated leg, towards each leg's current target."""
        actions: list[ExecutionAction] = []
        for leg in self.legs:
            target = targets.get(leg.spec)
            actions.extend(self._work_leg(now, leg, None if target is None else target.qty))
        return actions

    def _work_leg(self, now: int, leg: HedgeLeg, target: float | None) -> list[ExecutionAction]:
        state = self.states.get(leg.spec)
        if state is not None and now >= state.expiry_ms:
            return self._finish(now, leg.spec, state, "expired")  # delivered by the venue at expiry
        started: list[ExecutionAction] = []
        if state is None:
            state = self._maybe_start(now, leg)
            if state is None:
                return []
            started.append(RollChanged(now, leg.spec, state, "started"))
        return [*started, *self._next_pair(now, leg, state, target)]

    def _next_pair(self, now: int, leg: HedgeLeg, state: RollState, target: float | None) -> list[ExecutionAction]:
        positions = self.executor.view.positions
        near_pos, far_pos = positions.get(state.near, 0.0), positions.get(state.far, 0.0) if state.far else 0.0
        if self._busy(state) or now < self._due.get(leg.spec, 0):
            return []
        far_or_near = self._instrument(state.far or state.near)
        near = self._instrument(state.near)
        if near is None or far_or_near is None or not self._priced(state):
            return [
                ClipHeld(now, state.near, (f"roll {state.near} → {state.far}: a contract is not listed or priced",))
            ]
        total = state.near_start + state.far_start if target is None else target
        lot = near.lot_step
        least = min_clip_qty(far_or_near, self.executor.view.prices[far_or_near.symbol])
        if roll_complete(state, near_pos, far_pos, now, lot, least, total):
            return self._finish(now, leg.spec, state, "finished")
        cap = pair_cap(self._clip_qty(far_or_near), self.band, total)
        pair = next_roll_pair(state, near_pos, far_pos, now, cap, lot, least, total)
        return [] if pair is None else self._send_pair(now, leg.spec, state, pair)

    def _maybe_start(self, now: int, leg: HedgeLeg) -> RollState | None:
        window = roll_window(leg.roll_spec, now, self.window_ms, self.steps)
        positions = self.executor.view.positions
        near_pos = positions.get(window.near, 0.0)
        if not window.is_open(now) or (near_pos == 0 and not self.executor.open_on(window.near)):
            return None
        far_pos = positions.get(window.far, 0.0) if window.far else 0.0
        state = start_roll(window, near_pos, far_pos, now)
        self.states[leg.spec] = state
        for symbol in (window.near, window.far):
            if symbol is not None:
                self.executor.hand_over(symbol)  # the roll owns both contracts until it ends
        return state

    def switch(
        self, now: int, leg: HedgeLeg, near: Symbol, far: Symbol, expiry_ms: int, target: float | None
    ) -> list[ExecutionAction]:
        """Start a carry switch of `leg` from `near` to `far` (`roll_plan.start_switch`): journaled as a roll that
        starts, then worked pair by pair like one; a restart resumes it from its journaled state."""
        positions = self.executor.view.positions
        state = start_switch(near, far, expiry_ms, positions.get(near, 0.0), positions.get(far, 0.0), now)
        self.states[leg.spec] = state
        for symbol in (near, far):
            self.executor.hand_over(symbol)
        return [RollChanged(now, leg.spec, state, "started"), *self._next_pair(now, leg, state, target)]

    def _busy(self, state: RollState) -> bool:
        return bool(self.executor.open_on(state.near) or (state.far and self.executor.open_on(state.far)))

    def _instrument(self, symbol: Symbol) -> Instrument | None:
        return self.executor.view.instruments.get(symbol)

    def _priced(self, state: RollState) -> bool:
        prices = self.executor.view.prices
        return state.near in prices and (state.far is None or state.far in prices)

    def _clip_qty(self, instrument: Instrument) -> float:
        """One clip of the configured notional, in whole lots of the contract."""
        unit = abs(instrument.notional(1.0, self.executor.view.prices[instrument.symbol]))
        return round_to_step(self.executor.policy.clip_notional / unit, instrument.lot_step, Rounding.DOWN)

    def _send_pair(self, now: int, spec: Symbol, state: RollState, pair: RollPair) -> list[ExecutionAction]:
        near_id, far_id = state.client_ids(pair.pair_no)
        legs = [(state.near, pair.near_qty, pair.near_reduce_only, near_id)]
        if state.far is not None:
            legs.append((state.far, pair.far_qty, False, far_id))
        actions: list[ExecutionAction] = []
        sent = False
        paired = pair.near_qty != 0 and pair.far_qty != 0
        reason = f"roll {state.near} → {state.far or 'close'} (pair {pair.pair_no}, step {pair.step}/{state.steps})"
        for symbol, qty, reduce_only, client_id in legs:
            if qty == 0:
                continue
            instrument = self.executor.view.instruments[symbol]
            clipped = self.executor.clip(
                now, instrument, qty, reduce_only, client_id, None, escalated=False, roll_pair=paired
            )
            actions.extend([clipped.held] if clipped.held else [])
            if clipped.request is not None:
                self._refs[client_id] = (self.executor.view.prices[symbol], paired)
                actions.append(PlaceOrder(clipped.request, reason))
                sent = True
        self._due[spec] = now + self.executor.policy.interval_ms
        if sent:
            self.states[spec] = state.sent(pair)
            actions.append(RollChanged(now, spec, self.states[spec], "pair"))
        return actions

    def _finish(self, now: int, spec: Symbol, state: RollState, event: str) -> list[ExecutionAction]:
        done = state.finished(now)
        del self.states[spec]
        self._refs = {cid: ref for cid, ref in self._refs.items() if not cid.startswith(f"hb-{state.roll_id}-")}
        self.totals = RollTotals(self.totals.rolls + 1, self.totals.cost + done.cost.total)
        return [RollChanged(now, spec, done, event)]
