"""The loopback exchange's Bybit v5 REST (bot/exchange_sim/bybit), driven by the real ccxt `bybit` client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt
import pytest
import pytest_asyncio

from bot.domain import FundingObserved, PriceObserved, Symbol
from bot.exchange_sim.bybit import BybitSim
from bot.testing.bybit import bybit_client, running_bybit_sim
from bot.testing.loopback import T0

pytestmark = pytest.mark.asyncio
BTC = Symbol("BTC/USDT:USDT")


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with running_bybit_sim() as simulator:
        yield simulator


@pytest_asyncio.fixture
async def client(sim: BybitSim) -> AsyncIterator[Any]:
    exchange = bybit_client(sim)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def test_markets_list_the_linear_perpetuals_and_quarterlies_with_the_simulators_steps(client: Any) -> None:
    btc = client.markets[BTC]
    dated = [m for m in client.markets.values() if m["type"] == "future" and m["base"] == "BTC"]
    assert (btc["id"], btc["type"], btc["linear"], btc["settle"]) == ("BTCUSDT", "swap", True, "USDT")
    assert (btc["precision"]["amount"], btc["precision"]["price"], btc["contractSize"]) == (0.001, 0.1, 1.0)
    assert len(dated) == 2
    assert all(m["id"].startswith("BTCUSDT-") and m["expiry"] for m in dated)


async def test_a_ticker_carries_the_mark_the_index_the_best_prices_and_the_funding_rate(client: Any) -> None:
    ticker = await client.fetch_ticker(BTC)
    rates = await client.fetch_funding_rates([BTC])
    assert ticker["markPrice"] == ticker["indexPrice"] == 30_000.0
    assert ticker["bid"] < ticker["ask"]
    assert rates[BTC]["fundingRate"] is not None
    assert rates[BTC]["fundingTimestamp"] > T0


async def test_an_order_is_fetched_and_cancelled_by_its_client_order_id(client: Any) -> None:
    await client.create_order(BTC, "limit", "buy", 0.01, 29_000.0, {"clientOrderId": "hb-1"})
    resting = await client.fetch_order(None, BTC, {"orderLinkId": "hb-1", "acknowledged": True})
    listed = await client.fetch_open_orders(BTC)
    await client.cancel_order(None, BTC, {"orderLinkId": "hb-1"})
    after = await client.fetch_order(None, BTC, {"orderLinkId": "hb-1", "acknowledged": True})
    assert (resting["clientOrderId"], resting["status"], resting["amount"]) == ("hb-1", "open", 0.01)
    assert [o["clientOrderId"] for o in listed] == ["hb-1"]
    assert after["status"] == "canceled"
    assert await client.fetch_open_orders(BTC) == []


async def test_a_market_order_fills_into_a_position_an_execution_and_a_fee_off_the_wallet(
    sim: BybitSim, client: Any
) -> None:
    await client.create_order(BTC, "market", "sell", 0.5, None, {"clientOrderId": "hb-2"})
    trades = await client.fetch_my_trades(BTC, T0, 100)
    positions = await client.fetch_positions()
    balance = await client.fetch_balance()
    fee = sim.exchange.trades()[0].commission
    assert [(t["info"]["orderLinkId"], t["amount"]) for t in trades] == [("hb-2", 0.5)]
    assert trades[0]["fee"]["cost"] == pytest.approx(fee)
    assert [(p["symbol"], p["side"], p["contracts"]) for p in positions] == [(BTC, "short", 0.5)]
    assert balance["USDT"]["total"] == pytest.approx(100_000.0 - fee)


async def test_an_order_link_id_is_never_reused_even_after_its_order_filled(sim: BybitSim, client: Any) -> None:
    await client.create_order(BTC, "market", "sell", 0.01, None, {"clientOrderId": "hb-3"})
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        await client.create_order(BTC, "market", "sell", 0.01, None, {"clientOrderId": "hb-3"})
    assert len(sim.exchange.trades()) == 1
    assert sim.sent_client_order_ids() == ["hb-3", "hb-3"]


async def test_refusals_raise_the_exceptions_ccxt_raises_against_bybit(sim: BybitSim, client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order(BTC, "market", "buy", 900.0, None, {"clientOrderId": "too-big"})
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(None, BTC, {"orderLinkId": "never-sent"})
    with pytest.raises(ccxt.InvalidOrder):
        await client.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "x", "reduceOnly": True})
    wrong = bybit_client(sim, secret="not-the-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await wrong.fetch_balance()
    finally:
        await wrong.close()


async def test_leverage_and_margin_mode_are_set_and_setting_them_again_is_not_modified(
    sim: BybitSim, client: Any
) -> None:
    await client.set_leverage(5, BTC)
    with pytest.raises(ccxt.BadRequest, match="110043"):
        await client.set_leverage(5, BTC)
    await client.set_margin_mode("isolated", BTC)
    positions = await client.fetch_positions([BTC])
    assert sim.exchange.account.leverage_of(BTC) == 5
    assert all(sim.exchange.account.margin_mode(c.symbol) == "isolated" for c in sim.exchange.catalog.all())
    assert positions[0]["leverage"] == 5.0  # ccxt reads no margin mode from Bybit's positions


async def test_funding_paid_is_listed_with_the_rate_it_settled_at(sim: BybitSim, client: Any) -> None:
    await client.create_order(BTC, "market", "sell", 1.0, None, {"clientOrderId": "hb-4"})
    now = sim.exchange.now_ms
    sim.push(FundingObserved(now, BTC, 0.001, now, 8.0))  # settles now: the short receives
    paid = await client.fetch_funding_history(BTC, T0)
    rates = await client.fetch_funding_rate_history(BTC, T0)
    # Bybit lists funding as an execution whose execFee is what was paid; ccxt passes it on as the amount, so a
    # payment received reads negative (hedgebot's dialect turns it round: bot.venues.ccxt_dialect.funding_paid)
    assert [-p["amount"] for p in paid] == [pytest.approx(sim.exchange.account.funding_total)]
    assert sim.exchange.account.funding_total > 0
    assert [r["fundingRate"] for r in rates] == [0.001]


async def test_candles_of_the_last_and_the_mark_price_follow_the_market(sim: BybitSim, client: Any) -> None:
    sim.push(PriceObserved(T0 + 60_000, BTC, 30_300.0))
    candles = await client.fetch_ohlcv(BTC, "1m", T0, 10)
    marks = await client.fetch_ohlcv(BTC, "1m", T0, 10, {"price": "mark"})
    assert [c[0] for c in candles] == [T0, T0 + 60_000]
    assert marks[-1][4] == 30_300.0
