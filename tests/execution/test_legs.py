"""Hedge legs: a perpetual, a dated contract or a quarterly spec, and the contracts that hold each."""

from __future__ import annotations

import pytest

from bot.domain import Symbol
from bot.execution.legs import HedgeLeg, LegKind, contracts_for, parse_legs
from bot.execution.roll_plan import quarterly_expiry_ms

DAY = 86_400_000
MARCH_2024 = quarterly_expiry_ms(2024, 3)  # 2024-03-29 08:00 UTC
WINDOW = 3 * DAY


def test_a_quarterly_leg_is_priced_by_its_perpetual_and_holds_every_dated_contract_of_the_pair() -> None:
    leg = HedgeLeg.parse("BTC/USDT:USDT@quarterly")
    assert (leg.kind, leg.reference) == (LegKind.QUARTERLY, Symbol("BTC/USDT:USDT"))
    assert leg.holds(Symbol("BTC/USDT:USDT-240329"))
    assert leg.holds(Symbol("BTC/USDT:USDT-240628"))
    assert not leg.holds(Symbol("BTC/USDT:USDT"))
    assert not leg.holds(Symbol("ETH/USDT:USDT-240329"))


def test_new_exposure_of_a_quarterly_leg_goes_to_the_next_contract_once_the_roll_window_opens() -> None:
    leg = HedgeLeg.parse("BTC/USDT:USDT@quarterly")
    assert leg.contract(MARCH_2024 - WINDOW - 1, WINDOW) == "BTC/USDT:USDT-240329"
    assert leg.contract(MARCH_2024 - WINDOW, WINDOW) == "BTC/USDT:USDT-240628"
    assert leg.contracts_listed(MARCH_2024 - 1) == ("BTC/USDT:USDT-240329", "BTC/USDT:USDT-240628")


def test_a_dated_leg_takes_no_new_exposure_inside_its_closing_window() -> None:
    leg = HedgeLeg.parse("BTC/USDT:USDT-240329")
    assert (leg.kind, leg.reference) == (LegKind.DATED, Symbol("BTC/USDT:USDT"))
    assert leg.contract(MARCH_2024 - WINDOW - 1, WINDOW) == "BTC/USDT:USDT-240329"
    assert leg.contract(MARCH_2024 - WINDOW, WINDOW) is None


def test_a_perpetual_leg_is_its_own_contract_and_reference() -> None:
    leg = HedgeLeg.parse("ETH/USDT:USDT")
    assert (leg.kind, leg.reference, leg.contract(0, WINDOW), leg.rolls) == (
        LegKind.PERPETUAL, "ETH/USDT:USDT", "ETH/USDT:USDT", False,
    )  # fmt: skip


def test_a_venue_loads_the_references_and_the_listed_contracts_of_every_leg() -> None:
    loaded = contracts_for(["BTC/USDT:USDT@quarterly", "ETH/USDT:USDT"], MARCH_2024 - DAY)
    assert loaded == ["BTC/USDT:USDT", "BTC/USDT:USDT-240329", "BTC/USDT:USDT-240628", "ETH/USDT:USDT"]


def test_a_quarterly_leg_sharing_its_pair_with_another_leg_is_refused_because_their_positions_would_mix() -> None:
    with pytest.raises(ValueError, match="no other leg may trade"):
        parse_legs(["BTC/USDT:USDT", "BTC/USDT:USDT@quarterly"])
    assert len(parse_legs(["BTC/USDT:USDT", "BTC/USDT:USDT-240329"])) == 2  # each holds only itself
