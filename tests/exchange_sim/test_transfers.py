"""The universal-transfer endpoints, through the real ccxt client: reserve in, history listed, balances kept."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from bot.domain import PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings
from tests.exchange_sim.conftest import ClientFactory

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000


def _tape() -> list[PriceObserved]:
    return [PriceObserved(T0, Symbol("BTC/USDT:USDT"), 50_000.0)]


async def test_ccxt_transfers_the_spot_reserve_into_futures_and_lists_it(clients: ClientFactory) -> None:
    settings = SimSettings(bases=("BTC",), quarterlies=False, collateral=10_000.0, spot_reserve=7_000.0)
    async with ExchangeSim(settings, _tape()) as sim:
        client = clients(sim)
        entry = await client.transfer("USDT", 2_500, "spot", "swap")
        listed = await client.fetch_transfers("USDT", params={"fromAccount": "spot", "toAccount": "swap"})
        balance = await client.fetch_balance()
    assert entry["id"] == listed[0]["id"]
    assert (listed[0]["amount"], listed[0]["fromAccount"], listed[0]["toAccount"]) == (2_500, "spot", "linear")
    assert listed[0]["status"] == "ok"
    assert balance["USDT"]["total"] == pytest.approx(12_500.0)
    assert sim.exchange.wallets.free("MAIN", "USDT") == Decimal("4500")


async def test_a_transfer_beyond_the_reserve_is_refused_as_insufficient_funds_and_moves_nothing(
    clients: ClientFactory,
) -> None:
    settings = SimSettings(bases=("BTC",), quarterlies=False, collateral=10_000.0, funding_reserve=1_000.0)
    async with ExchangeSim(settings, _tape()) as sim:
        client = clients(sim)
        with pytest.raises(ccxt.InsufficientFunds):
            await client.transfer("USDT", 1_500, "funding", "swap")
        listed = await client.fetch_transfers("USDT", params={"fromAccount": "funding", "toAccount": "swap"})
    assert listed == []
    assert sim.exchange.wallets.free("FUNDING", "USDT") == Decimal("1000")
    assert sim.exchange.account.wallet_balance == pytest.approx(10_000.0)


async def test_the_futures_wallet_pays_out_only_its_available_balance(clients: ClientFactory) -> None:
    settings = SimSettings(bases=("BTC",), quarterlies=False, collateral=1_000.0)
    async with ExchangeSim(settings, _tape()) as sim:
        client = clients(sim)
        await client.transfer("USDT", 400, "swap", "spot")
        with pytest.raises(ccxt.InsufficientFunds):
            await client.transfer("USDT", 700, "swap", "spot")
    assert sim.exchange.wallets.free("MAIN", "USDT") == Decimal("400")
    assert sim.exchange.account.wallet_balance == pytest.approx(600.0)
