"""Proxy candidates' liquidity tiers, live against the loopback exchange: Binance's mark-price stream carries no
24 h quote volume, so the feed reads it from the venue's 24 h tickers (`bot.feeds.volume_poll`) and every candidate
is tiered by its own volume instead of being held to the lowest tier's cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.feeds.venue_feeds import VenueFeeds
from bot.testing.live import BTC_PERP, ETH_PERP, START, config_for, exchange_with_history, trading

pytestmark = pytest.mark.asyncio

# any traded volume reaches the top tier; an unknown volume gets the lowest tier's cap, a quarter of the basket
TIERS = [{"min_quote_volume": 1.0, "max_weight": 1.0}, {"min_quote_volume": 0.5, "max_weight": 0.25}]
SELECTION = {"policy": "min_variance", "proxy_select": True, "max_proxies": 2, "liquidity": {"tiers": TIERS}}


async def test_live_candidates_are_tiered_by_the_venues_24h_quote_volume(tmp_path: Path) -> None:
    async with (
        exchange_with_history() as sim,
        trading(sim, config_for(sim, tmp_path, hedge=SELECTION), tmp_path) as live,
    ):
        engine = live.daemon.engine
        assert engine is not None
        liquidity = engine.decider.proxy_choice.liquidity
        volumes = {symbol: liquidity.volume(START, symbol) for symbol in (BTC_PERP, ETH_PERP)}
        assert all(volume is not None and volume > 0 for volume in volumes.values()), volumes
        assert liquidity.caps(START, (BTC_PERP, ETH_PERP)) == {BTC_PERP: 1.0, ETH_PERP: 1.0}


def _second_venue(second: ExchangeSim, state_dir: Path) -> dict[str, object]:
    """`[venues.second]` trading the BTC leg on `second`, with its own key files (the simulator's keys)."""
    key, secret = state_dir / "second-key", state_dir / "second-secret"
    for path, value in ((key, DEFAULT_API_KEY), (secret, DEFAULT_API_SECRET)):
        path.write_text(value, encoding="utf-8")
        path.chmod(0o600)
    return {
        "instruments": [BTC_PERP],
        "endpoint": second.base_url,
        "api_key_env": "HEDGEBOT_TEST_SECOND_KEY",
        "api_secret_env": "HEDGEBOT_TEST_SECOND_SECRET",
        "api_key_file": str(key),
        "api_secret_file": str(secret),
    }


async def test_each_venues_candidates_are_tiered_by_that_venues_own_tickers(tmp_path: Path) -> None:
    # the second exchange has a longer history than the main one: its BTC volume is not the main one's
    async with exchange_with_history() as main, exchange_with_history(minutes=100) as second:
        config = config_for(main, tmp_path, hedge=SELECTION, venues={"second": _second_venue(second, tmp_path)})
        async with trading(main, config, tmp_path) as live:
            feed, engine = live.plan.feed, live.daemon.engine
            assert isinstance(feed, VenueFeeds)
            assert engine is not None
            polls = {venue_id: venue_feed.volume_poll for venue_id, venue_feed in feed.feeds.items()}
            assert {venue_id: poll.symbols for venue_id, poll in polls.items() if poll} == {
                "main": (ETH_PERP,),
                "second": (BTC_PERP,),
            }
            liquidity = engine.decider.proxy_choice.liquidity
            for venue_id, symbol in (("main", ETH_PERP), ("second", BTC_PERP)):
                poll = polls[venue_id]
                assert poll is not None
                assert liquidity.volume(START, symbol) == poll.known[symbol] > 0
            assert liquidity.volume(START, BTC_PERP) != liquidity.volume(START, ETH_PERP)
