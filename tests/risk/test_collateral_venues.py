"""Legs on several venues: the collateral ladder reads the venue nearest liquidation, each on its own account,
and fails closed on a venue whose equity cannot be read."""

from __future__ import annotations

import math

from bot.domain import AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk.collateral import BufferSteps, CollateralMonitor, Step, worst_venue

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
INSTRUMENTS = {
    s: Instrument(s, s[:3], "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001) for s in (BTC, ETH)
}
MARKS = {BTC: 60_000.0, ETH: 3_000.0}
STEPS = BufferSteps(warn=0.5, top_up=0.3, reduce=0.2, floor=0.05, hysteresis=0.05)


def _venue(equity: float, position: Position) -> AccountSnapshot:
    return AccountSnapshot(1, "USDT", equity, equity, 0.0, 0.0, (position,))


def _merged(main: AccountSnapshot, second: AccountSnapshot) -> AccountSnapshot:
    return AccountSnapshot(
        1, "USDT", main.equity + second.equity, main.equity + second.equity, 0.0, 0.0,
        (*main.positions, *second.positions), venues=(("main", main), ("second", second)),
    )  # fmt: skip


def test_the_ladder_steps_on_the_venue_nearest_liquidation_and_names_it() -> None:
    main = _venue(50_000.0, Position(ETH, -10.0, 3_000.0))
    second = _venue(3_000.0, Position(BTC, -0.5, 60_000.0))  # a rally under 10 % liquidates it: under reduce
    escalation = CollateralMonitor(STEPS).update(1, _merged(main, second), MARKS, INSTRUMENTS)
    assert escalation.venue == "second"
    assert escalation.step is Step.REDUCE
    assert escalation.reason.startswith("venue second: liquidation")
    assert 0 < escalation.reduce_fraction < 1


def test_a_venue_whose_equity_cannot_be_read_is_the_worst_and_puts_the_ladder_at_its_floor() -> None:
    main = _venue(50_000.0, Position(ETH, -10.0, 3_000.0))
    second = _venue(math.nan, Position(BTC, -0.1, 60_000.0))
    assert worst_venue(_merged(main, second), MARKS, INSTRUMENTS)[0] == "second"
    assert CollateralMonitor(STEPS).update(1, _merged(main, second), MARKS, INSTRUMENTS).step is Step.FLOOR


def test_one_venue_s_account_is_read_as_it_is() -> None:
    alone = _venue(50_000.0, Position(ETH, -10.0, 3_000.0))
    assert worst_venue(alone, MARKS, INSTRUMENTS) == ("", alone)
