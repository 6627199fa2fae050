"""Fixtures for the exchange simulator tests: a started simulator and real ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
import pytest_asyncio

from bot.domain import MarketEvent, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings, ccxt_config

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC: quarterlies BTCUSDT_260327 and BTCUSDT_260626 are listed


def priced(ts: int, btc: float = 30_000.0, eth: float = 2_000.0) -> list[MarketEvent]:
    """Spot (index) and perpetual prices of BTC and ETH at `ts`."""
    return [
        PriceObserved(ts, Symbol("BTC/USDT"), btc),
        PriceObserved(ts, Symbol("ETH/USDT"), eth),
        PriceObserved(ts, Symbol("BTC/USDT:USDT"), btc),
        PriceObserved(ts, Symbol("ETH/USDT:USDT"), eth),
    ]


@pytest.fixture
def tape() -> Callable[..., list[MarketEvent]]:
    return priced


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """A started simulator with BTC at 30,000 and ETH at 2,000 (market time T0)."""
    simulator = ExchangeSim(SimSettings(), priced(T0))
    await simulator.start()
    await simulator.advance(4)
    yield simulator
    await simulator.stop()


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
