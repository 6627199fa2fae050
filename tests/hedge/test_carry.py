"""The carry choice compares annualised funding with annualised basis and switches only past a threshold."""

from __future__ import annotations

import pytest

from bot.domain import MS_PER_DAY
from bot.hedge.carry import annualised_basis, annualised_funding, choose_contract


def test_one_basis_point_per_8h_is_about_eleven_percent_a_year() -> None:
    assert annualised_funding(0.0001, 8) == pytest.approx(0.1095)


def test_a_two_percent_premium_with_73_days_left_is_ten_percent_a_year() -> None:
    assert annualised_basis(102.0, 100.0, 0, 73 * MS_PER_DAY) == pytest.approx(0.10)


def test_a_small_advantage_does_not_switch_but_a_large_one_does() -> None:
    assert not choose_contract(0.10, 0.11, currently_dated=False, threshold=0.02).use_dated
    assert choose_contract(0.10, 0.13, currently_dated=False, threshold=0.02).use_dated
    assert choose_contract(0.10, 0.11, currently_dated=True, threshold=0.02).use_dated
