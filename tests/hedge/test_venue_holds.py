"""Legs held because their venue is down: their positions kept, the legs that trade take over their shortfall."""

from __future__ import annotations

from bot.domain import HedgeTarget, Rounding, Symbol
from bot.execution.market_rules import default_instrument
from bot.hedge.venue_holds import hold_legs

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
INSTRUMENTS = {BTC: default_instrument(BTC), ETH: default_instrument(ETH)}
PRICES = {BTC: 30_000.0, ETH: 2_000.0}


def _targets(btc: float, eth: float) -> dict[Symbol, HedgeTarget]:
    return {BTC: HedgeTarget(BTC, btc, btc * 30_000.0), ETH: HedgeTarget(ETH, eth, eth * 2_000.0)}


def test_a_held_leg_keeps_its_position_and_the_other_takes_its_shortfall_notional_for_notional() -> None:
    out = hold_legs(_targets(-1.0, -10.0), {BTC: -0.5, ETH: -10.0}, {BTC}, INSTRUMENTS, PRICES, Rounding.NEAREST)
    assert out[BTC].qty == -0.5  # held where it is
    assert out[ETH].notional == -20_000.0 - 15_000.0  # 0.5 BTC (15,000) more short on ETH
    assert out[ETH].qty == -17.5


def test_a_held_leg_above_its_target_lets_the_others_shrink_but_never_flip() -> None:
    out = hold_legs(_targets(-0.1, -1.0), {BTC: -1.0, ETH: -1.0}, {BTC}, INSTRUMENTS, PRICES, Rounding.NEAREST)
    assert out[BTC].qty == -1.0
    assert out[ETH].qty == 0.0  # 27,000 over-hedged on BTC: ETH goes flat, not long


def test_nothing_held_changes_nothing() -> None:
    targets = _targets(-1.0, -10.0)
    assert hold_legs(targets, {}, set(), INSTRUMENTS, PRICES, Rounding.NEAREST) == targets
