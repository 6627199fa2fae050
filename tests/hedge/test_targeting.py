"""Segments decide what is hedged and how: core is left alone, direct holdings use their own perpetual."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import HedgeSection
from bot.domain import Symbol
from bot.hedge.exposure import Exposure
from bot.hedge.policies import CovarianceView
from bot.hedge.targeting import hedge_notionals

BTC, XRP = Symbol("BTC/USDT:USDT"), Symbol("XRP/USDT:USDT")
EXPOSURE = Exposure({"ETH": 30_000.0, "XRP": 20_000.0, "DOGE": 10_000.0}, ())


def _fixed(**extra: object) -> HedgeSection:
    return HedgeSection.model_validate({"instruments": [BTC, XRP], "policy": "fixed", **extra})


def test_core_holdings_are_not_hedged() -> None:
    result = hedge_notionals(_fixed(), "USDT", EXPOSURE, 1.0, None, core=("ETH",))
    assert result is not None
    assert result.notionals[BTC] == pytest.approx(-30_000.0)
    assert result.numbers["hedged_exposure"] == 30_000.0


def test_a_direct_holding_is_hedged_one_to_one_on_its_own_perpetual_and_the_rest_by_proxy() -> None:
    result = hedge_notionals(_fixed(direct=("XRP",)), "USDT", EXPOSURE, 0.5, None)
    assert result is not None
    assert result.notionals[XRP] == pytest.approx(-10_000.0)
    assert result.notionals[BTC] == pytest.approx(-20_000.0)


def test_an_estimate_based_policy_waits_for_its_estimates() -> None:
    section = HedgeSection.model_validate({"instruments": [BTC], "policy": "min_variance"})
    assert hedge_notionals(section, "USDT", EXPOSURE, 1.0, None) is None


def test_a_direct_holding_without_its_perpetual_among_the_instruments_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="add their perpetuals"):
        HedgeSection.model_validate({"instruments": [BTC], "direct": ["XRP"]})


def _beta_of(beta: float) -> tuple[HedgeSection, CovarianceView]:
    """A beta policy on BTC whose estimate says every holding moves `beta` times BTC."""
    section = HedgeSection.model_validate({"instruments": [BTC], "policy": "beta"})
    names = [Symbol("BTC/USDT"), Symbol("ETH/USDT"), Symbol("XRP/USDT"), Symbol("DOGE/USDT"), BTC]
    var = 1e-4
    cov = np.full((5, 5), beta * var)
    cov[0, 0] = cov[4, 4] = cov[0, 4] = cov[4, 0] = var
    return section, CovarianceView({name: i for i, name in enumerate(names)}, cov, 100)


@pytest.mark.parametrize(("ratio", "cover"), [(0.5, 0.5), (0.25, 0.25), (1.0, 1.0), (1.5, 1.0)])
def test_the_ratio_scales_the_full_hedge_after_it_is_capped_at_the_exposure(ratio: float, cover: float) -> None:
    section, view = _beta_of(1.3)  # the policy's full hedge is 130 % of the exposure, capped to 100 %
    result = hedge_notionals(section, "USDT", EXPOSURE, ratio, view)
    assert result is not None
    assert -result.notionals[BTC] / EXPOSURE.total == pytest.approx(cover)
    assert result.numbers["ratio"] == ratio
    assert ("ratio_capped_at" in result.numbers) is (ratio > 1)
