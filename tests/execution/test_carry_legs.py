"""A carry leg ("…@carry") holds its perpetual and every quarterly of its pair; new exposure goes to whichever the
carry book chose; it lists the quarterlies a replay prices and a venue loads; and a switch is a roll of its own."""

from __future__ import annotations

import pytest

from bot.domain import Symbol
from bot.execution.legs import HedgeLeg, LegKind, contracts_for, parse_legs
from bot.execution.roll_plan import RollState, next_roll_pair, quarterly_expiry_ms, start_switch

DAY = 86_400_000
MARCH_2024 = quarterly_expiry_ms(2024, 3)
WINDOW = 3 * DAY
PERP, NEAR, FAR = Symbol("BTC/USDT:USDT"), Symbol("BTC/USDT:USDT-240329"), Symbol("BTC/USDT:USDT-240628")


def test_a_carry_leg_is_priced_by_its_perpetual_and_holds_it_and_every_quarterly_of_the_pair() -> None:
    leg = HedgeLeg.parse("BTC/USDT:USDT@carry")
    assert (leg.kind, leg.reference, leg.roll_spec) == (LegKind.CARRY, PERP, "BTC/USDT:USDT@quarterly")
    assert leg.holds(PERP)
    assert leg.holds(NEAR)
    assert leg.holds(FAR)
    assert not leg.holds(Symbol("ETH/USDT:USDT"))
    assert leg.rolls


def test_new_exposure_goes_to_the_perpetual_or_to_the_quarterly_a_quarterly_leg_would_use() -> None:
    leg = HedgeLeg.parse("BTC/USDT:USDT@carry")
    assert leg.contract(MARCH_2024 - WINDOW - 1, WINDOW) == PERP
    assert leg.contract(MARCH_2024 - WINDOW - 1, WINDOW, dated=True) == NEAR
    assert leg.contract(MARCH_2024 - WINDOW, WINDOW, dated=True) == FAR  # inside the roll window: the next one


def test_a_venue_loads_the_perpetual_and_both_quarterlies_of_a_carry_leg() -> None:
    assert contracts_for(["BTC/USDT:USDT@carry"], MARCH_2024 - 10 * DAY) == [PERP, NEAR, FAR]


def test_no_other_leg_may_trade_a_carry_leg_s_pair() -> None:
    with pytest.raises(ValueError, match="no other leg may trade"):
        parse_legs(["BTC/USDT:USDT@carry", "BTC/USDT:USDT"])
    with pytest.raises(ValueError, match="no other leg may trade"):
        parse_legs(["BTC/USDT:USDT@carry", "BTC/USDT:USDT@quarterly"])


def test_a_switch_moves_the_whole_position_at_once_in_pairs_under_ids_of_its_own() -> None:
    switch = start_switch(PERP, NEAR, MARCH_2024, -2.0, 0.0, MARCH_2024 - 30 * DAY)
    pair = next_roll_pair(switch, -2.0, 0.0, switch.started_ms, max_qty=0.5, lot=0.001)
    assert pair is not None
    assert (pair.near_qty, pair.far_qty) == (0.5, -0.5)
    again = start_switch(PERP, NEAR, MARCH_2024, -2.0, 0.0, MARCH_2024 - 20 * DAY)
    assert switch.roll_id != again.roll_id  # switching to and fro never reuses a client order id
    assert all(len(cid) <= 36 for cid in switch.client_ids(9999))
    assert RollState.from_record(switch.to_record()) == switch
