"""The 24 h quote volume of proxy candidates, polled from the loopback exchange's tickers through the real ccxt
client: it rides once on each symbol's next mark print, and a poll that fails keeps what is known."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from bot.config import HedgeSection, VenueSection, parse_config
from bot.domain import FundingObserved, PriceObserved
from bot.exchange_sim import ExchangeSim
from bot.feeds.volume_poll import VolumePoll, volume_poll_s
from bot.testing.live import BTC_PERP, ETH_PERP, NO_THROTTLE, START, exchange_with_history
from bot.venues.ccxt_client import CcxtRest, make_client
from bot.venues.ccxt_errors import Backoff

TICKERS = "/fapi/v1/ticker/24hr"
TIERS = [{"min_quote_volume": 1e6, "max_weight": 1.0}]


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    async with exchange_with_history() as simulator:  # its public prints give each perpetual a 24 h volume
        yield simulator


@pytest_asyncio.fixture
async def poll(sim: ExchangeSim) -> AsyncIterator[VolumePoll]:
    client = make_client(VenueSection(endpoint=sim.base_url), overrides=NO_THROTTLE)  # no key: public
    rest = CcxtRest(client, Backoff(initial_s=0.001, cap_s=0.01), 2, random.Random(0))
    try:
        yield VolumePoll(rest, (BTC_PERP, ETH_PERP), every_s=900.0)
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_a_poll_reads_each_symbols_24h_quote_volume_from_the_venues_tickers(poll: VolumePoll) -> None:
    await poll.poll()
    assert set(poll.known) == {BTC_PERP, ETH_PERP}
    assert all(volume > 0 for volume in poll.known.values())
    assert poll.polls == 1


@pytest.mark.asyncio
async def test_the_next_mark_of_a_polled_symbol_carries_its_volume_once(poll: VolumePoll) -> None:
    await poll.poll()
    mark = PriceObserved(START, ETH_PERP, 2_010.0)
    carried = poll.attach(mark)
    assert isinstance(carried, PriceObserved)
    assert (carried.price, carried.quote_volume_24h) == (2_010.0, poll.known[ETH_PERP])
    assert poll.attach(mark) is mark  # once per poll: the next mark goes as it came


@pytest.mark.asyncio
async def test_a_print_with_its_own_volume_and_other_events_pass_unchanged(poll: VolumePoll) -> None:
    await poll.poll()
    own = PriceObserved(START, BTC_PERP, 30_000.0, 5.0)
    funding = FundingObserved(START, ETH_PERP, 0.0001, START + 1)
    kept = poll.attach(own)
    assert isinstance(kept, PriceObserved)
    assert kept.quote_volume_24h == 5.0
    assert poll.attach(funding) is funding
    carried = poll.attach(PriceObserved(START, BTC_PERP, 30_000.0))  # the polled one still waits for its mark
    assert isinstance(carried, PriceObserved)
    assert carried.quote_volume_24h == poll.known[BTC_PERP]


@pytest.mark.asyncio
async def test_a_failed_poll_keeps_the_last_volumes_and_is_logged_once_until_one_succeeds(
    sim: ExchangeSim, poll: VolumePoll
) -> None:
    await poll.poll()
    known = dict(poll.known)
    sim.faults.unavailable(times=None, path=TICKERS)
    with capture_logs() as logs:
        await poll.poll()
        await poll.poll()
        assert poll.known == known
        assert poll.failures == 2
        sim.faults.clear()
        await poll.poll()
    events = [entry["event"] for entry in logs if entry.get("component") == "volume_poll"]
    assert events == ["volume_poll_failed", "volume_poll_recovered"]
    assert poll.polls == 2


def test_volumes_are_polled_only_when_proxy_selection_has_liquidity_tiers() -> None:
    def hedge(**values: object) -> HedgeSection:
        return parse_config({"hedge": values}).hedge

    assert volume_poll_s(hedge(proxy_select=True, liquidity={"tiers": TIERS})) == 900.0
    assert volume_poll_s(hedge(proxy_select=True, liquidity={"tiers": TIERS, "volume_poll": "5m"})) == 300.0
    assert volume_poll_s(hedge(proxy_select=True)) is None
    assert volume_poll_s(hedge(liquidity={"tiers": TIERS})) is None
