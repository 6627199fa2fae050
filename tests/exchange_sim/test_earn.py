"""The simulator's Simple Earn positions, through an unmodified ccxt `binance` client's implicit API (the
endpoints Binance serves them at: GET /sapi/v1/simple-earn/{flexible,locked}/position)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.earn import EarnPositions
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.exchange_sim.wallets import InsufficientBalance, Wallets
from bot.testing.loopback import running_sim
from bot.venues.ccxt_client import make_spot_client


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    async with running_sim(SimSettings(spot_only=("XYZ",))) as simulator:
        yield simulator


@pytest_asyncio.fixture
async def spot(sim: ExchangeSim) -> AsyncIterator[Any]:
    client = make_spot_client("binance", sim.base_url + "/spot", api_key=DEFAULT_API_KEY, secret=DEFAULT_API_SECRET)
    yield client
    await client.close()


@pytest.mark.asyncio
async def test_flexible_and_locked_positions_are_listed_as_binance_lists_them(sim: ExchangeSim, spot: Any) -> None:
    sim.exchange.earn.credit("flexible", "XYZ", Decimal("20"))
    sim.exchange.earn.credit("locked", "XYZ", "5")
    sim.exchange.earn.credit("locked", "ETH", "1.5")
    flexible = await spot.sapi_get_simple_earn_flexible_position({"current": 1, "size": 100})
    locked = await spot.sapi_get_simple_earn_locked_position({"asset": "XYZ"})
    assert (flexible["total"], flexible["rows"][0]["asset"], flexible["rows"][0]["totalAmount"]) == (
        1, "XYZ", "20.00000000"
    )  # fmt: skip
    assert (locked["total"], [(r["asset"], r["amount"]) for r in locked["rows"]]) == (1, [("XYZ", "5.00000000")])


@pytest.mark.asyncio
async def test_positions_are_paged(sim: ExchangeSim, spot: Any) -> None:
    for asset in ("AAA", "BBB", "CCC"):
        sim.exchange.earn.credit("flexible", asset, "1")
    second = await spot.sapi_get_simple_earn_flexible_position({"current": 2, "size": 2})
    assert (second["total"], [r["asset"] for r in second["rows"]]) == (3, ["CCC"])


def test_subscribing_moves_the_coin_from_the_spot_wallet_and_redeeming_back() -> None:
    wallets, earn = Wallets.funded({"MAIN": {"XYZ": 10}}), EarnPositions()
    earn.subscribe(wallets, "locked", "XYZ", Decimal("4"))
    assert (wallets.free("MAIN", "XYZ"), earn.held("locked")) == (Decimal("6"), {"XYZ": Decimal("4")})
    with pytest.raises(InsufficientBalance):
        earn.subscribe(wallets, "flexible", "XYZ", Decimal("7"))
    earn.redeem(wallets, "locked", "XYZ", Decimal("4"))
    assert (wallets.free("MAIN", "XYZ"), earn.held("locked")) == (Decimal("10"), {})
