"""Holdings priced from spot markets, live against the loopback exchange: the shipped live template (ETH and SOL
held, BTC/ETH perpetuals as hedges) runs with SOL listed on spot only and hedged through the proxies; a spot
stream that goes silent holds trading at `reducing` until it talks again, while a holding with a second source
keeps its price from there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.domain import MS_PER_MINUTE, PriceObserved, Symbol
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.feeds.spot import PricedFeed
from bot.testing.live import BTC_PERP, ETH, ETH_PERP, START, Live, trading, until
from bot.testing.loopback import priced, running_sim
from bot.testing.spot import SOL, spot_history, template_on

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    async with running_sim(SimSettings(spot_only=("SOL",)), spot_history()) as simulator:
        yield simulator


async def at(live: Live, minutes: float, *, sol: float, eth: float = 2_010.0, delivered: tuple[Symbol, ...]) -> None:
    """Prices at START + minutes reach the exchange, those of `delivered` reach the daemon; then it ticks there."""
    ts = START + int(minutes * MS_PER_MINUTE)
    for event in [*priced(ts, 30_000.0, eth), PriceObserved(ts, SOL, sol)]:
        live.sim.push(event)
    engine = live.daemon.engine
    assert engine is not None
    await until(lambda: all(engine.price_ts.get(s, 0) >= ts for s in delivered), f"prices at {ts} of {delivered}")
    live.clock.now = ts
    await live.daemon.tick()


async def test_the_live_template_on_the_loopback_exchange_prices_sol_from_spot_and_hedges_it_by_proxy(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = template_on(sim, tmp_path)
    async with trading(sim, config, tmp_path) as live:
        positions = await live.hedged("the first hedge, through the BTC and ETH perpetuals")
        engine = live.daemon.engine
        assert engine is not None
        await until(lambda: engine.prices.get(SOL) == 100.0, "SOL's spot price at START")
        assert isinstance(live.plan.feed, PricedFeed)
        assert live.plan.feed.choice.source_of[SOL] == "binance:SOL/USDT"
        assert set(positions) <= {BTC_PERP, ETH_PERP}
        assert sum(qty for qty in positions.values()) < 0  # short: ETH and SOL (25,000 of the 45,100) hedged
        assert engine.exposure().total == pytest.approx(10 * 2_010.0 + 250 * 100.0)


async def test_a_silent_spot_stream_holds_trading_reducing_until_it_talks_again(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = template_on(sim, tmp_path)
    async with trading(sim, config, tmp_path) as live:
        await live.hedged("the first hedge")
        sim.spot.stream_faults.silence()  # SOL's only source; ETH's first
        await at(live, 1, sol=101.0, eth=2_020.0, delivered=(BTC_PERP, ETH_PERP, ETH))
        engine = live.daemon.engine
        assert engine is not None
        assert live.status()["state"] == "reducing"  # a minute on: SOL's price is past its 30 s limit
        assert "SOL/USDT" in engine.governor.reason
        assert "ETH/USDT" not in engine.governor.reason
        assert engine.prices[ETH] == 2_020.0  # ETH priced by its second source, the perpetual's index
        assert isinstance(live.plan.feed, PricedFeed)
        assert live.plan.feed.choice.source_of[ETH] == "index"

        sim.spot.stream_faults.speak()
        await at(live, 2, sol=102.0, eth=2_030.0, delivered=(BTC_PERP, ETH_PERP, ETH, SOL))
        assert live.status()["state"] == "active"
        assert engine.prices[SOL] == 102.0
        assert live.plan.feed.choice.source_of == {ETH: "binance:ETH/USDT", SOL: "binance:SOL/USDT"}
