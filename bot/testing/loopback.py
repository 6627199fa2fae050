"""Fakes for tests that talk to the loopback exchange: a price tape and a started simulator.

Shipped with the package (like a test kit) so every test suite that needs a running exchange starts it the
same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from bot.domain import MarketEvent, PriceObserved, Symbol
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import SimSettings

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC: the quarterlies BTCUSDT_260327 and BTCUSDT_260626 are listed
BTC_PERP, ETH_PERP, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("ETH/USDT")
# The hedge of the live tests on the loopback exchange: ETH held, hedged by beta on the ETH perpetual (spot and
# perpetual priced alike: beta 1), estimated over an hour of 1-minute samples, ready after ten.
LOOPBACK_HEDGE: Mapping[str, Any] = {
    "instruments": [BTC_PERP, ETH_PERP],
    "policy": "beta",
    "proxy": ETH_PERP,
    "window": "1h",
    "sample": "1m",
    "min_samples": 10,
}


def priced(ts: int, btc: float = 30_000.0, eth: float = 2_000.0) -> list[MarketEvent]:
    """Spot (index) and perpetual prices of BTC and ETH at `ts`."""
    return [
        PriceObserved(ts, Symbol("BTC/USDT"), btc),
        PriceObserved(ts, Symbol("ETH/USDT"), eth),
        PriceObserved(ts, Symbol("BTC/USDT:USDT"), btc),
        PriceObserved(ts, Symbol("ETH/USDT:USDT"), eth),
    ]


@asynccontextmanager
async def running_sim(
    settings: SimSettings | None = None, events: Iterable[MarketEvent] | None = None
) -> AsyncIterator[ExchangeSim]:
    """A started simulator on 127.0.0.1 that has played `events` (default: BTC 30,000, ETH 2,000 at T0)."""
    tape = list(priced(T0) if events is None else events)
    simulator = ExchangeSim(settings or SimSettings(), tape)
    await simulator.start()
    await simulator.advance(len(tape))
    try:
        yield simulator
    finally:
        await simulator.stop()
