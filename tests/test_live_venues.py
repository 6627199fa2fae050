"""Hedge legs on two venues (`[venues]`), live against two loopback exchanges: the ETH leg on the default venue
("main"), the BTC leg on "second". The second venue's websockets are dropped and its REST fails: only its leg is
held (its position kept, nothing sent there) while the main venue's leg keeps trading; when it is back,
reconciliation adopts nothing twice (the journal's orders and fills are the two exchanges' own, each once). Each
leg is priced, funded and warmed up from its own venue's streams: a contract need be listed only where it trades."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.commands import SetHolding
from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, FundingObserved
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.feeds.venue_feeds import VenueFeeds
from bot.live.exchange_plan import open_live_plan
from bot.testing.live import (
    BTC_PERP,
    ETH,
    ETH_PERP,
    FAST,
    GUARD_S,
    START,
    Live,
    ManualClock,
    config_for,
    exchange_with_history,
    trading,
    until,
)
from bot.testing.loopback import priced
from bot.venues.venue_set import VenueSet

pytestmark = pytest.mark.asyncio


def _second_keys(second: ExchangeSim, state_dir: Path) -> dict[str, str]:
    """The second venue's endpoint and its own key files (the simulator's keys, in files of its own)."""
    key, secret = state_dir / "second-key", state_dir / "second-secret"
    for path, value in ((key, DEFAULT_API_KEY), (secret, DEFAULT_API_SECRET)):
        path.write_text(value, encoding="utf-8")
        path.chmod(0o600)
    return {
        "endpoint": second.base_url,
        "api_key_env": "HEDGEBOT_TEST_SECOND_KEY",
        "api_secret_env": "HEDGEBOT_TEST_SECOND_SECRET",
        "api_key_file": str(key),
        "api_secret_file": str(secret),
    }


def _two_venue_config(main: ExchangeSim, second: ExchangeSim, state_dir: Path):  # type: ignore[no-untyped-def]
    return config_for(
        main,
        state_dir,
        portfolio={"holdings": {"ETH": 10.0, "BTC": 0.5}},
        hedge={"direct": ["BTC", "ETH"]},  # each holding hedged 1:1 with its own perpetual: a leg on each venue
        execution={"reconcile_interval": "1m", "reconcile_retry": "30s"},
        venues={"second": {"instruments": [BTC_PERP], **_second_keys(second, state_dir)}},
    )


async def _at(
    live: Live, second: ExchangeSim, minutes: float, eth: float, btc: float = 30_000.0, *, second_down: bool = False
) -> None:
    """Prices at START + minutes on both exchanges (the second matches its orders on its own), then a tick; the
    BTC leg's mark comes from the second's streams, so it is not awaited while that venue is down."""
    ts = START + int(minutes * 60_000)
    for event in priced(ts, btc, eth):
        second.push(event)
    await live.at(minutes, eth=eth, btc=btc, silent=(BTC_PERP,) if second_down else ())


def _exchange_positions(*sims: ExchangeSim) -> dict[str, float]:
    return {p.symbol: round(p.qty, 3) for sim in sims for p in sim.exchange.account.positions() if round(p.qty, 3)}


async def test_a_venue_down_holds_only_its_legs_and_comes_back_with_nothing_adopted_twice(tmp_path: Path) -> None:
    async with exchange_with_history() as main, exchange_with_history() as second:
        config = _two_venue_config(main, second, tmp_path)
        async with trading(main, config, tmp_path) as live:
            venues = live.plan.venue
            assert isinstance(venues, VenueSet)
            await _at(live, second, 1, eth=2_010.0)
            await until(
                lambda: (
                    _exchange_positions(main, second).get(BTC_PERP) == -0.5
                    and _exchange_positions(main, second).get(ETH_PERP) == -10.0
                    and live.status()["open_orders"] == 0
                ),
                "both legs hedged, each on its own exchange",
            )
            assert {p.symbol for p in main.exchange.account.positions() if p.qty} == {ETH_PERP}
            assert {p.symbol for p in second.exchange.account.positions() if p.qty} == {BTC_PERP}
            sent_to_second = list(second.sent_client_order_ids())

            second.faults.unavailable(times=None)  # its REST fails ...
            await second.faults.drop_websockets()  # ... and its user stream is gone (no listen key to reconnect)
            await _at(live, second, 2, eth=2_010.0, second_down=True)  # the reconciliation finds it unreachable
            await until(lambda: live.status()["venues"]["second"]["state"] == "down", "the second venue held")
            assert live.status()["state"] == "active"  # the rest trades on
            engine = live.daemon.engine
            assert engine is not None
            assert engine.price_ts[BTC_PERP] < START + 2 * MS_PER_MINUTE  # its leg's price ages: its streams are down
            assert engine.price_ts[ETH_PERP] == START + 2 * MS_PER_MINUTE
            # its REST refused (a member call or the reconciliation, whichever reached it first)
            assert "503 Service Unavailable" in live.status()["venues"]["second"]["reason"]
            assert live.status()["venues"]["main"]["state"] == "up"

            await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
            await _at(live, second, 3, eth=2_010.0, second_down=True)
            await until(
                lambda: _exchange_positions(main).get(ETH_PERP) == -15.0 and live.status()["open_orders"] == 0,
                "the main venue's leg follows the holding",
            )
            assert second.sent_client_order_ids() == sent_to_second  # nothing sent to the venue that is down
            assert _exchange_positions(second) == {BTC_PERP: -0.5}  # its position kept

            second.faults.clear()  # back
            await _at(live, second, 4, eth=2_010.0)
            await until(lambda: live.status()["venues"]["second"]["state"] == "up", "the second venue back")
            await until(
                lambda: live.user_streams_live() and live.status()["open_orders"] == 0,
                "its user stream live again, nothing open",
            )
            await live.daemon.command(SetHolding(asset="BTC", qty=1.0), {"asset": "BTC", "qty": 1.0})
            await _at(live, second, 5, eth=2_010.0)
            await until(
                lambda: (
                    _exchange_positions(second).get(BTC_PERP) == -1.0
                    and live.status()["open_orders"] == 0
                    and live.positions() == _exchange_positions(main, second)
                ),
                "the second venue's leg trading again, its fill heard",
            )

            fills = live.journal.rows("fills")
            journaled = sorted((str(r["venue"]), str(r["client_id"]), str(r["trade_id"])) for r in fills)
            exchanges = sorted(
                [("main", t.client_id, str(t.trade_id)) for t in main.exchange.trades()]
                + [("second", t.client_id, str(t.trade_id)) for t in second.exchange.trades()]
            )
            assert journaled == exchanges  # every fill once, under its own venue
            orders = {str(r["client_id"]): str(r["venue"]) for r in live.journal.rows("orders")}
            assert {cid for cid, venue in orders.items() if venue == "second"} == set(second.sent_client_order_ids())
            assert {cid for cid, venue in orders.items() if venue == "main"} == set(main.sent_client_order_ids())
            assert live.journal.count("position_adoptions") == 0  # nothing adopted: the journal knew it all
            assert live.positions() == _exchange_positions(main, second)


async def test_an_instrument_on_two_venues_is_placed_at_start_where_it_costs_least_and_the_choice_is_journaled(
    tmp_path: Path,
) -> None:
    async with exchange_with_history() as main, exchange_with_history() as second:
        # shorts receive 0.1 % a settlement on the second venue: cheaper to hold the ETH hedge there
        second.push(FundingObserved(START, ETH_PERP, 0.001, START + 8 * MS_PER_HOUR))
        second_venue = {"candidates": [ETH_PERP], **_second_keys(second, tmp_path)}
        config = config_for(main, tmp_path, venues={"second": second_venue})
        async with trading(main, config, tmp_path) as live:
            await _at(live, second, 1, eth=2_010.0)
            await until(
                lambda: _exchange_positions(second).get(ETH_PERP, 0.0) < 0 and live.status()["open_orders"] == 0,
                "the ETH hedge on the second venue",
            )
            assert _exchange_positions(main) == {}
            [(_, kind, symbol, record)] = live.journal.executions("venue_choice")
            assert (kind, symbol, record["venue"]) == ("venue_choice", ETH_PERP, "second")
            assert record["reason"].startswith("cheapest")
            assert live.status()["venues"]["second"]["legs"] == [ETH_PERP]


async def test_a_leg_listed_only_on_its_own_venue_is_priced_warmed_up_and_hedged_from_that_venues_streams(
    tmp_path: Path,
) -> None:
    # the default exchange lists no BTC perpetual: the BTC leg's mark, funding and candles are the second's own
    async with exchange_with_history(settings=SimSettings(bases=("ETH",))) as main, exchange_with_history() as second:
        assert main.exchange.catalog.by_symbol(BTC_PERP) is None
        prices = {"endpoints": {"binance": f"{second.base_url}/spot"}, "sources": {"BTC": ["binance:BTC/USDT"]}}
        config = config_for(
            main,
            tmp_path,
            portfolio={"holdings": {"ETH": 10.0, "BTC": 0.5}},
            hedge={"direct": ["BTC", "ETH"]},
            venues={"second": {"instruments": [BTC_PERP], **_second_keys(second, tmp_path)}},
            prices=prices,  # the BTC holding by the second exchange's spot market (the default's has no BTC index)
        )
        async with trading(main, config, tmp_path) as live:
            assert any(event.symbol == BTC_PERP for event in live.plan.warmup)  # its candles: the second's
            await _at(live, second, 1, eth=2_010.0, btc=30_300.0)  # BTC's new mark reaches the daemon from there
            await until(
                lambda: (
                    _exchange_positions(main, second) == {ETH_PERP: -10.0, BTC_PERP: -0.5}
                    and live.status()["open_orders"] == 0
                ),
                "both legs hedged, the BTC leg on the only exchange that lists it",
            )
            assert {p.symbol for p in second.exchange.account.positions() if p.qty} == {BTC_PERP}
            assert live.positions() == _exchange_positions(main, second)


async def test_a_paper_run_on_two_exchanges_prices_each_leg_from_a_public_client_of_its_own_venue(
    tmp_path: Path,
) -> None:
    async with exchange_with_history(settings=SimSettings(bases=("ETH",))) as main, exchange_with_history() as second:
        config = config_for(
            main,
            tmp_path,
            bot={"mode": "paper"},
            hedge={"instruments": [BTC_PERP, ETH_PERP]},
            venues={"second": {"instruments": [BTC_PERP], "endpoint": second.base_url}},
        )
        plan = await open_live_plan(config, clock=ManualClock(START), tuning=FAST)
        try:
            assert isinstance(plan.feed, VenueFeeds)
            assert {venue_id: feed.symbols for venue_id, feed in plan.feed.feeds.items()} == {
                "main": (ETH, ETH_PERP),  # the default venue's also prices the holding by its index
                "second": (BTC_PERP,),
            }
            assert all(not feed.client.apiKey for feed in plan.feed.feeds.values())  # public: paper needs no key
            assert any(event.symbol == BTC_PERP for event in plan.warmup)
            await asyncio.wait_for(_priced(plan.feed, {BTC_PERP, ETH_PERP}), GUARD_S)  # each from its own exchange
        finally:
            await plan.close()


async def _priced(feed: VenueFeeds, symbols: set[str]) -> None:
    seen: set[str] = set()
    async for event in feed:
        seen.add(event.symbol)
        if symbols <= seen:
            return


async def test_a_venue_whose_market_streams_go_silent_holds_only_its_legs_while_the_book_stays_active(
    tmp_path: Path,
) -> None:
    async with exchange_with_history() as main, exchange_with_history() as second:
        config = _two_venue_config(main, second, tmp_path)
        async with trading(main, config, tmp_path) as live:
            await _at(live, second, 1, eth=2_010.0)
            await until(
                lambda: (
                    _exchange_positions(main, second) == {BTC_PERP: -0.5, ETH_PERP: -10.0}
                    and live.status()["open_orders"] == 0
                ),
                "both legs hedged, each on its own exchange",
            )
            sent_to_second = list(second.sent_client_order_ids())

            second.faults.silence(user=False)  # its market streams fall silent; its REST and user stream stay up
            await _at(live, second, 4, eth=2_010.0, second_down=True)  # its BTC mark 3 minutes old: past 2m
            await until(lambda: live.status()["venues"]["second"]["state"] == "down", "the second venue held")
            assert "prices stale" in live.status()["venues"]["second"]["reason"]
            assert live.status()["state"] == "active"  # not the whole book reducing
            assert live.status()["venues"]["main"]["state"] == "up"

            await live.daemon.command(SetHolding(asset="ETH", qty=15.0), {"asset": "ETH", "qty": 15.0})
            await _at(live, second, 5, eth=2_010.0, second_down=True)
            await until(
                lambda: _exchange_positions(main).get(ETH_PERP) == -15.0 and live.status()["open_orders"] == 0,
                "the main venue's leg follows the holding",
            )
            assert second.sent_client_order_ids() == sent_to_second  # nothing sent to the venue held
            assert _exchange_positions(second) == {BTC_PERP: -0.5}  # its position kept

            second.faults.speak()  # its prices flow again
            await _at(live, second, 6, eth=2_010.0)
            await until(lambda: live.status()["venues"]["second"]["state"] == "up", "the hold lifted")
            await live.daemon.command(SetHolding(asset="BTC", qty=1.0), {"asset": "BTC", "qty": 1.0})
            await _at(live, second, 7, eth=2_010.0)
            await until(
                lambda: _exchange_positions(second).get(BTC_PERP) == -1.0 and live.status()["open_orders"] == 0,
                "the second venue's leg trading again",
            )
            assert live.status()["state"] == "active"
