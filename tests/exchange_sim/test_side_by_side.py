"""Several loopback exchanges side by side, one per venue, each on its own port with its own account and
markets: what a rehearsal of hedges on more than one venue starts from."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt_async
import pytest

from bot.exchange_sim import ccxt_config
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.testing.loopback import running_sim
from bot.venues.ccxt_client import make_spot_client


@pytest.mark.asyncio
async def test_two_simulators_keep_their_own_accounts_and_listings() -> None:
    async with running_sim() as first, running_sim(SimSettings(spot_only=("SOL",))) as second:
        assert first.port != second.port
        clients = [
            ccxt_async.binanceusdm(ccxt_config(sim.base_url, DEFAULT_API_KEY, DEFAULT_API_SECRET))
            for sim in (first, second)
        ]
        spot = make_spot_client("binance", second.base_url + "/spot", overrides={"enableRateLimit": False})
        try:
            await clients[0].create_order("BTC/USDT:USDT", "market", "sell", 0.01)
            positions = [await c.fetch_positions(["BTC/USDT:USDT"]) for c in clients]
            second.exchange.wallets.credit("MAIN", "SOL", Decimal("3"))
            spot_markets = await spot.load_markets()
        finally:
            for client in (*clients, spot):
                await client.close()
    assert [len(p) for p in positions] == [1, 0]
    assert positions[0][0]["contracts"] == 0.01
    assert "SOL/USDT" in spot_markets
    assert first.exchange.wallets.free("MAIN", "SOL") == 0
