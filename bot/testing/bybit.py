"""The loopback exchange speaking Bybit v5 (bot/exchange_sim/bybit), started for tests, and real ccxt `bybit`
clients pointed at it.

    async with running_bybit_sim() as sim:
        client = bybit_client(sim)              # ccxt.pro bybit: REST and websockets
        await client.load_markets()
        await client.close()

Shipped with the package (like `bot.testing.loopback`) so every suite that drives the Bybit dialect starts it
the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import ccxt.pro as ccxt_pro

from bot.domain import MarketEvent
from bot.exchange_sim.bybit import BybitSim
from bot.exchange_sim.settings import SimSettings
from bot.testing.loopback import T0, priced
from bot.venues.ccxt_client import point_at

__all__ = ["bybit_client", "running_bybit_sim"]


@asynccontextmanager
async def running_bybit_sim(
    settings: SimSettings | None = None, events: Iterable[MarketEvent] | None = None
) -> AsyncIterator[BybitSim]:
    """A started Bybit-dialect simulator on 127.0.0.1 that has played `events` (default: BTC 30,000, ETH 2,000
    at T0)."""
    tape = list(priced(T0) if events is None else events)
    simulator = BybitSim(settings or SimSettings(), tape)
    await simulator.start()
    await simulator.advance(len(tape))
    try:
        yield simulator
    finally:
        await simulator.stop()


def bybit_client(sim: BybitSim, *, secret: str | None = None, **options: Any) -> Any:
    """A ccxt.pro `bybit` client with the simulator's keys (or `secret`), every URL pointed at it; close it after.

    Swap markets by default and no currency list, as hedgebot's own client (bot.venues.ccxt_client)."""
    config = {
        "apiKey": sim.settings.api_key,
        "secret": secret or sim.settings.api_secret,
        "enableRateLimit": False,
        "options": {"defaultType": "swap", "fetchCurrencies": False, **options},
    }
    client = ccxt_pro.bybit(config)
    point_at(client, sim.base_url)
    return client
