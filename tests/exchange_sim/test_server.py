"""The simulator's REST surface, driven by the real ccxt binanceusdm client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from bot.domain import MS_PER_HOUR, BookObserved, FundingObserved, MarketEvent, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings, ccxt_config, serve

pytestmark = pytest.mark.asyncio

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, as in conftest
PERP = "BTC/USDT:USDT"
Tape = Callable[..., list[MarketEvent]]


async def test_load_markets_sees_the_perpetuals_and_dated_futures_with_their_steps(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    markets = await ex.load_markets()
    assert {"BTC/USDT:USDT", "BTC/USDT:USDT-260327", "BTC/USDT:USDT-260626", "ETH/USDT:USDT"} <= set(markets)
    perp, march = markets["BTC/USDT:USDT"], markets["BTC/USDT:USDT-260327"]
    assert (perp["type"], perp["linear"], perp["settle"], perp["expiry"]) == ("swap", True, "USDT", None)
    assert (march["type"], march["id"], march["expiry"]) == ("future", "BTCUSDT_260327", 1_774_598_400_000)
    assert perp["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert (perp["limits"]["amount"]["min"], perp["limits"]["cost"]["min"]) == (0.001, 100.0)
    assert markets["ETH/USDT:USDT"]["precision"]["price"] == 0.01
    assert markets["ETH/USDT:USDT-260626"]["info"]["contractType"] == "NEXT_QUARTER"


async def test_tickers_and_funding_rates_report_the_market_and_its_schedule(sim: ExchangeSim, clients: Any) -> None:
    sim.push(FundingObserved(T0 + 1, Symbol(PERP), 0.0003, T0 + 8 * MS_PER_HOUR))
    ex = clients(sim)
    ticker = await ex.fetch_ticker(PERP)
    rate = await ex.fetch_funding_rate(PERP)
    rates = await ex.fetch_funding_rates()
    assert ticker["last"] == 30_000.0
    assert (rate["markPrice"], rate["indexPrice"], rate["fundingRate"]) == (30_000.0, 30_000.0, 0.0003)
    assert rate["fundingTimestamp"] == T0 + 8 * MS_PER_HOUR
    assert rates["ETH/USDT:USDT"]["fundingRate"] == 0.0001


async def test_orders_are_created_fetched_and_cancelled_by_client_order_id(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    bought = await ex.create_order(PERP, "market", "buy", 0.01, None, {"clientOrderId": "hb-1"})
    resting = await ex.create_order(PERP, "limit", "sell", 0.01, 31_000, {"clientOrderId": "hb-2", "reduceOnly": True})
    assert (bought["status"], bought["filled"], bought["clientOrderId"]) == ("closed", 0.01, "hb-1")
    assert (resting["status"], resting["reduceOnly"]) == ("open", True)
    assert [o["clientOrderId"] for o in await ex.fetch_open_orders(PERP)] == ["hb-2"]
    cancelled = await ex.cancel_order(None, PERP, {"origClientOrderId": "hb-2"})
    fetched = await ex.fetch_order(None, PERP, {"origClientOrderId": "hb-1"})
    assert cancelled["status"] == "canceled"
    assert (fetched["id"], fetched["average"]) == (bought["id"], 30_000.0)
    assert await ex.fetch_open_orders() == []
    assert sim.sent_client_order_ids() == ["hb-1", "hb-2"]


async def test_an_order_fills_partially_across_the_depth_and_the_rest_later(tape: Tape, clients: Any) -> None:
    settings = SimSettings(book_levels=2, level_notional=3_010.0)
    async with ExchangeSim(settings, tape(T0)) as sim:
        await sim.advance(4)
        sim.push(BookObserved(T0 + 1, Symbol(PERP), 29_999.9, 0.05, 30_000.0, 0.05))
        ex = clients(sim)
        market = await ex.create_order(PERP, "market", "buy", 0.3, None, {"clientOrderId": "walk"})
        limit = await ex.create_order(PERP, "limit", "buy", 0.2, 29_990, {"clientOrderId": "rest"})
        sim.push(BookObserved(T0 + 2, Symbol(PERP), 29_980.0, 1.0, 29_990.0, 0.05))
        partly = await ex.fetch_order(None, PERP, {"origClientOrderId": "rest"})
        sim.push(BookObserved(T0 + 3, Symbol(PERP), 29_980.0, 1.0, 29_985.0, 5.0))
        done = await ex.fetch_order(None, PERP, {"origClientOrderId": "rest"})
    assert (market["status"], market["filled"], market["remaining"]) == ("expired", 0.15, 0.15)
    assert market["average"] == pytest.approx((0.05 * 30_000.0 + 0.1 * 30_000.1) / 0.15)
    assert (limit["status"], limit["filled"]) == ("open", 0.0)
    assert (partly["status"], partly["filled"], partly["info"]["status"]) == (
        "open",
        0.05,
        "PARTIALLY_FILLED",
    )
    assert (done["status"], done["filled"]) == ("closed", 0.2)


async def test_balance_positions_and_trades_reflect_fills_and_fees(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "market", "sell", 0.1, None, {"clientOrderId": "short"})
    sim.push(PriceObserved(T0 + 60_000, Symbol(PERP), 29_000.0))
    balance = await ex.fetch_balance()
    [position] = await ex.fetch_positions()
    [trade] = await ex.fetch_my_trades(PERP)
    fee = 0.1 * 29_999.9 * 4 / 1e4  # a market sell takes the bid, one tick under the mark, at 4 bps
    gain = 0.1 * (29_999.9 - 29_000.0)
    assert trade["fee"] == {"currency": "USDT", "cost": pytest.approx(fee)}
    assert (trade["side"], trade["takerOrMaker"], trade["order"]) == (
        "sell",
        "taker",
        trade["info"]["orderId"].__str__(),
    )
    assert (position["side"], position["contracts"], position["entryPrice"]) == ("short", 0.1, 29_999.9)
    assert position["unrealizedPnl"] == pytest.approx(gain)
    assert position["initialMargin"] == pytest.approx(0.1 * 29_000.0 / 20)
    assert balance["USDT"]["total"] == pytest.approx(100_000.0 - fee + gain)
    assert balance["USDT"]["used"] == pytest.approx(0.1 * 29_000.0 / 20)


async def test_history_endpoints_serve_klines_funding_history_and_income(tape: Tape, clients: Any) -> None:
    settle_at = T0 + 8 * MS_PER_HOUR
    events = [
        *tape(T0),
        FundingObserved(T0, Symbol(PERP), 0.0002, settle_at),
        *tape(T0 + MS_PER_HOUR, btc=30_500.0),
    ]
    async with ExchangeSim(SimSettings(), events) as sim:
        await sim.advance(len(events))
        ex = clients(sim)
        await ex.create_order(PERP, "market", "sell", 0.1, None, {"clientOrderId": "short"})
        for event in tape(settle_at + 60_000, btc=30_200.0):
            sim.push(event)
        candles = await ex.fetch_ohlcv(PERP, "1h", since=T0)
        history = await ex.fetch_funding_rate_history(PERP, since=T0)
        income = await ex.fetch_funding_history(PERP)
    assert [c[0] for c in candles] == [T0, T0 + MS_PER_HOUR, settle_at]
    assert [c[4] for c in candles] == [30_000.0, 30_500.0, 30_200.0]
    assert [(h["timestamp"], h["fundingRate"]) for h in history] == [(settle_at, 0.0002)]
    assert [i["amount"] for i in income] == [pytest.approx(0.1 * 30_500.0 * 0.0002)]


async def test_the_client_order_id_of_an_open_order_is_refused_as_invalid_order(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "limit", "buy", 0.01, 29_000.0, {"clientOrderId": "twice"})
    with pytest.raises(ccxt_async.InvalidOrder, match="-4116"):
        await ex.create_order(PERP, "market", "buy", 0.01, None, {"clientOrderId": "twice"})
    with pytest.raises(ccxt_async.OrderNotFound):
        await ex.fetch_order(None, PERP, {"origClientOrderId": "never-sent"})
    with pytest.raises(ccxt_async.InvalidOrder):  # the minimum notional of BTCUSDT is 100 USDT
        await ex.create_order(PERP, "market", "buy", 0.001)
    assert sim.sent_client_order_ids().count("twice") == 2  # both were received; the second was refused


async def test_a_bad_signature_or_key_raises_authentication_error(sim: ExchangeSim, clients: Any) -> None:
    forged = clients(sim, secret="not-the-secret")
    await forged.load_markets()  # public: no signature needed
    with pytest.raises(ccxt_async.AuthenticationError, match="-1022"):
        await forged.fetch_balance()
    stranger = ccxt_async.binanceusdm(ccxt_config(sim.base_url, "unknown-key", "x"))
    try:
        with pytest.raises(ccxt_async.AuthenticationError, match="-2015"):
            await stranger.fapiPrivateV3GetAccount()
    finally:
        await stranger.close()


async def test_a_client_clock_outside_the_receive_window_raises_invalid_nonce(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    ex.options["timeDifference"] = 120_000  # ccxt stamps requests two minutes in the past
    with pytest.raises(ccxt_async.InvalidNonce, match="-1021"):
        await ex.fetch_balance()


async def test_leverage_is_set_and_margin_mode_answers_as_binance_does(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    answer = await ex.set_leverage(3, PERP)
    with pytest.raises(ccxt_async.MarginModeAlreadySet):  # -4046: every symbol starts cross
        await ex.set_margin_mode("cross", PERP)
    await ex.set_margin_mode("isolated", PERP)
    with pytest.raises(ccxt_async.MarginModeAlreadySet):
        await ex.set_margin_mode("isolated", PERP)
    assert answer["leverage"] == 3
    assert sim.exchange.account.leverage == 3.0
    assert (
        sim.exchange.account.margin_mode(Symbol(PERP)),
        sim.exchange.account.margin_mode(Symbol("ETH/USDT:USDT")),
    ) == (
        "isolated",
        "cross",
    )


async def test_an_isolated_position_reports_its_own_margin_and_cannot_switch_back(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim)
    await ex.set_leverage(3, PERP)
    await ex.set_margin_mode("isolated", PERP)
    await ex.create_order(PERP, "market", "buy", 0.01)
    (position,) = [p for p in await ex.fetch_positions([PERP]) if p["contracts"]]
    wallet = float(position["info"]["isolatedWallet"])
    assert position["marginMode"] == "isolated"
    assert position["info"]["marginType"] == "isolated"
    assert wallet == pytest.approx(0.01 * 30_000 / 3, rel=1e-3)  # the initial margin at the fill price
    assert float(position["info"]["isolatedMargin"]) == pytest.approx(wallet + position["unrealizedPnl"], abs=1e-6)
    balance = await ex.fetch_balance()
    assert float(balance["info"]["totalCrossWalletBalance"]) == pytest.approx(
        float(balance["info"]["totalWalletBalance"]) - wallet, abs=1e-6
    )
    with pytest.raises(ccxt_async.OperationRejected, match="-4048"):  # "... if there exists position."
        await ex.set_margin_mode("cross", PERP)


async def test_serve_plays_the_synthetic_market_and_settles_its_funding_on_schedule(clients: Any) -> None:
    from bot.feeds.synthetic import SyntheticMarket, SyntheticSpec

    perps = (Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"))
    spec = SyntheticSpec(("BTC", "ETH"), perps, T0, T0 + 2 * 24 * MS_PER_HOUR, step_ms=15 * 60_000)
    started: asyncio.Future[ExchangeSim] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(serve(SimSettings(), SyntheticMarket(spec).events(), on_start=started.set_result))
    try:
        sim = await asyncio.wait_for(started, 10)
        await asyncio.wait_for(sim.feed_finished.wait(), 30)
        ex = clients(sim)
        history = await ex.fetch_funding_rate_history(PERP, since=T0)
        rate = await ex.fetch_funding_rate(PERP)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    assert [h["timestamp"] - T0 for h in history] == [h * MS_PER_HOUR for h in (8, 16, 24, 32, 40)]
    assert rate["fundingTimestamp"] == T0 + 48 * MS_PER_HOUR
    assert sim.exchange.market.ignored_events == 0


@pytest.mark.data
async def test_replayed_real_funding_history_is_served_back_exactly(
    prices_1h: Path, funding_8h: Path, clients: Any
) -> None:
    from bot.feeds.replay import ReplaySpec, load_replay

    start, end = 1_609_459_200_000, 1_612_137_600_000  # January 2021
    replay = load_replay(ReplaySpec(prices_1h, funding_8h, None, (Symbol("BTC/USDT"),), (Symbol(PERP),), start, end))
    async with ExchangeSim(SimSettings(bases=("BTC",), quarterlies=False), replay.events()) as sim:
        await sim.run_feed()
        served = await clients(sim).fetch_funding_rate_history(PERP, since=start, limit=1000)
    expected = [(e.ts, e.rate) for e in replay.events() if isinstance(e, FundingObserved)]
    assert [(h["timestamp"], h["fundingRate"]) for h in served] == expected
    assert len(expected) == 31 * 3


async def test_raw_http_answers_carry_binance_statuses_and_bodies(sim: ExchangeSim) -> None:
    async with aiohttp.ClientSession(sim.base_url) as http:
        async with http.get("/fapi/v3/account?timestamp=1&signature=x") as no_key:
            assert (no_key.status, await no_key.json()) == (
                401,
                {"code": -2014, "msg": "API-key format invalid."},
            )
        async with http.get("/fapi/v1/nowhere") as unknown_path:
            assert unknown_path.status == 404
        sim.faults.rate_limit()
        async with http.get("/fapi/v1/ping") as limited:
            assert (limited.status, limited.headers["Retry-After"], (await limited.json())["code"]) == (
                429,
                "1",
                -1003,
            )
        sim.faults.unavailable()
        async with http.get("/fapi/v1/ping") as down:
            assert (down.status, down.content_type, await down.text()) == (
                503,
                "text/plain",
                "Service Unavailable",
            )
        async with http.get("/fapi/v1/time") as clock:
            assert (await clock.json())["serverTime"] > T0  # the wall clock: clients sign with theirs


async def test_orders_history_and_the_order_book_are_served(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.create_order(PERP, "market", "buy", 0.01, None, {"clientOrderId": "a"})
    await ex.create_order(PERP, "limit", "buy", 0.01, 29_000, {"clientOrderId": "b"})
    orders = await ex.fetch_orders(PERP)
    book = await ex.fetch_order_book(PERP, limit=5)
    assert [(o["clientOrderId"], o["status"]) for o in orders] == [("a", "closed"), ("b", "open")]
    assert (book["bids"][0][0], book["asks"][0][0], len(book["asks"])) == (29_999.9, 30_000.0, 5)
    assert [a[0] for a in book["asks"]] == [30_000.0, 30_000.1, 30_000.2, 30_000.3, 30_000.4]


@pytest.mark.parametrize("pace", [{"events_per_second": 100_000.0}, {"time_multiplier": 1e9}])
async def test_a_paced_feed_plays_every_event_in_order(tape: Tape, pace: dict[str, Any]) -> None:
    events = [e for minute in range(5) for e in tape(T0 + minute * 60_000, btc=30_000.0 + minute)]
    sim = ExchangeSim(SimSettings(**pace), events)
    assert await sim.run_feed() == len(events) == sim.events_applied
    assert sim.feed_finished.is_set()
    perp = sim.exchange.catalog.by_id("BTCUSDT")
    assert perp is not None
    assert (sim.exchange.now_ms, sim.exchange.market.mark(perp)) == (T0 + 4 * 60_000, 30_004.0)
