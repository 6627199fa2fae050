"""Fixtures for the exchange simulator tests: a started simulator and real ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
import pytest_asyncio

from bot.domain import MarketEvent
from bot.exchange_sim import ExchangeSim, ccxt_config
from bot.testing.loopback import priced


@pytest.fixture
def tape() -> Callable[..., list[MarketEvent]]:
    return priced


ClientFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[ClientFactory]:
    """make(sim, pro=False, secret=None, timeout_ms=10_000) -> a ccxt binanceusdm client, closed after."""
    made: list[Any] = []

    def make(simulator: ExchangeSim, *, pro: bool = False, secret: str | None = None, timeout_ms: int = 10_000) -> Any:
        cls = ccxt_pro.binanceusdm if pro else ccxt_async.binanceusdm
        key, real_secret = simulator.settings.api_key, simulator.settings.api_secret
        exchange = cls(ccxt_config(simulator.base_url, key, secret or real_secret, timeout_ms=timeout_ms))
        made.append(exchange)
        return exchange

    yield make
    for exchange in made:
        await exchange.close()
