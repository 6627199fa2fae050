"""Binance COIN-M on the loopback exchange (bot/exchange_sim/coinm*.py), driven by the real ccxt `binancecoinm`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import ccxt
import ccxt.pro as ccxt_pro
import pytest
import pytest_asyncio

from bot.domain import MS_PER_HOUR, FundingObserved, Instrument, PriceObserved, Symbol
from bot.exchange_sim import ExchangeSim, SimSettings
from bot.exchange_sim.catalog import Contract
from bot.execution.market_rules import default_instrument
from bot.risk import inverse
from bot.testing.live import ManualClock
from bot.testing.loopback import T0, priced, running_sim
from bot.venues.ccxt_client import point_at

pytestmark = pytest.mark.asyncio

BTC_INV, ETH_INV = Symbol("BTC/USD:BTC"), Symbol("ETH/USD:ETH")
COINM = SimSettings(coinm_bases=("BTC", "ETH"), coinm_collateral=2.0)
T = TypeVar("T")


def _listed(sim: ExchangeSim, symbol: Symbol) -> Contract:
    """The COIN-M contract listed as `symbol` (each coin also lists its quarterlies)."""
    contract = next((c for c in sim.coinm.desk.contracts() if c.symbol == symbol), None)
    assert contract is not None, symbol
    return contract


async def guarded(waiting: Awaitable[T]) -> T:
    return await asyncio.wait_for(waiting, 10)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    async with running_sim(COINM) as simulator:
        yield simulator


@asynccontextmanager
async def coinm_client(sim: ExchangeSim) -> AsyncIterator[Any]:
    """A ccxt.pro `binancecoinm` client pointed at the simulator's COIN-M host (`/coinm`)."""
    config = {"apiKey": sim.settings.api_key, "secret": sim.settings.api_secret, "enableRateLimit": False,
              "options": {"fetchCurrencies": False, "warnOnFetchOpenOrdersWithoutSymbol": False}}  # fmt: skip
    exchange = ccxt_pro.binancecoinm(config)
    point_at(exchange, sim.base_url + "/coinm")
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()


@pytest_asyncio.fixture
async def coinm(sim: ExchangeSim) -> AsyncIterator[Any]:
    async with coinm_client(sim) as exchange:
        yield exchange


def wallet(balance: dict[str, Any], coin: str) -> float:
    """The coin wallet's balance as the exchange states it (ccxt's `total` adds the unrealised P&L)."""
    return float(next(a for a in balance["info"]["assets"] if a["asset"] == coin)["walletBalance"])


def btc() -> Instrument:
    return default_instrument(BTC_INV)


async def test_markets_are_inverse_perpetuals_with_a_usd_face_value_margined_in_their_coin(coinm: Any) -> None:
    btc_market, eth_market = coinm.market(BTC_INV), coinm.market(ETH_INV)
    assert (btc_market["id"], eth_market["id"]) == ("BTCUSD_PERP", "ETHUSD_PERP")
    assert btc_market["inverse"]
    assert btc_market["swap"]
    assert not btc_market["linear"]
    assert (btc_market["contractSize"], eth_market["contractSize"]) == (100.0, 10.0)
    assert (btc_market["settle"], eth_market["settle"]) == ("BTC", "ETH")


async def test_a_market_sell_fills_and_the_fee_position_and_wallet_are_in_the_coin(coinm: Any) -> None:
    order = await coinm.create_order(BTC_INV, "market", "sell", 30, None, {"clientOrderId": "hedge-1"})
    trades = await coinm.fetch_my_trades(BTC_INV)
    positions = {p["symbol"]: p for p in await coinm.fetch_positions()}
    balance = await coinm.fetch_balance()

    price = order["average"]
    coins = 30 * 100 / price
    assert order["status"] == "closed"
    assert order["filled"] == 30
    assert float(order["info"]["cumBase"]) == pytest.approx(coins, rel=1e-6)
    assert trades[0]["fee"] == {"currency": "BTC", "cost": pytest.approx(coins * 4 / 1e4, abs=1e-8)}  # 8 decimals
    assert positions[BTC_INV]["contracts"] == 30
    assert positions[BTC_INV]["side"] == "short"
    assert abs(float(positions[BTC_INV]["info"]["notionalValue"])) == pytest.approx(30 * 100 / 30_000.0, rel=1e-3)
    assert wallet(balance, "BTC") == pytest.approx(2.0 - coins * 4 / 1e4, abs=1e-8)
    assert wallet(balance, "ETH") == pytest.approx(2.0)  # each coin is its own wallet


async def test_funding_settles_in_the_coin_and_shows_in_the_income_history(sim: ExchangeSim, coinm: Any) -> None:
    await coinm.create_order(BTC_INV, "market", "sell", 30, None)
    rate, settle_ts = 0.0003, T0 + 8 * MS_PER_HOUR
    sim.push(FundingObserved(T0 + 1, BTC_INV, rate, settle_ts, 8.0))
    sim.push(PriceObserved(settle_ts + 1, Symbol("BTC/USDT"), 30_000.0))

    history = await coinm.fetch_funding_history(BTC_INV)
    balance = await coinm.fetch_balance()

    received = 30 * 100 / 30_000.0 * rate  # a short receives a positive rate, in BTC
    assert [(h["code"], h["timestamp"]) for h in history] == [("BTC", settle_ts)]
    assert history[0]["amount"] == pytest.approx(received, rel=1e-6)
    fee = float((await coinm.fetch_my_trades(BTC_INV))[0]["fee"]["cost"])
    assert wallet(balance, "BTC") == pytest.approx(2.0 - fee + received, abs=1e-8)


async def test_the_user_stream_sends_fills_and_the_coin_wallet_after_an_order(sim: ExchangeSim, coinm: Any) -> None:
    orders = asyncio.create_task(coinm.watch_orders(ETH_INV))
    await guarded(sim.coinm.hub.wait_user_connections(1))
    balances = asyncio.create_task(coinm.watch_balance())
    await guarded(sim.coinm.hub.wait_user_connections(1))

    await coinm.create_order(ETH_INV, "market", "sell", 10, None, {"clientOrderId": "eth-1"})
    seen, balance = await guarded(orders), await guarded(balances)

    assert seen[-1]["clientOrderId"] == "eth-1"
    assert seen[-1]["filled"] == 10
    assert seen[-1]["info"]["N"] == "ETH"  # the commission asset
    assert balance["ETH"]["total"] == pytest.approx(2.0 - 10 * 10 / seen[-1]["average"] * 4 / 1e4, abs=1e-8)


async def test_a_resting_limit_order_is_listed_queried_and_cancelled_by_its_client_id(coinm: Any) -> None:
    await coinm.create_order(BTC_INV, "limit", "buy", 2, 25_000, {"clientOrderId": "rest-1"})
    await coinm.create_order(ETH_INV, "limit", "buy", 3, 1_500, {"clientOrderId": "rest-2"})
    listed = {o["clientOrderId"] for o in await coinm.fetch_open_orders()}
    queried = await coinm.fetch_order(None, BTC_INV, {"origClientOrderId": "rest-1"})
    cancelled = await coinm.cancel_order(None, BTC_INV, {"origClientOrderId": "rest-1"})
    remaining = {o["clientOrderId"] for o in await coinm.fetch_open_orders()}

    assert listed == {"rest-1", "rest-2"}
    assert (queried["status"], queried["price"], queried["amount"]) == ("open", 25_000, 2)
    assert cancelled["status"] == "canceled"
    assert remaining == {"rest-2"}


async def test_the_liquidation_price_of_a_leveraged_long_is_binances_coin_m_formula(coinm: Any) -> None:
    await coinm.set_leverage(20, BTC_INV)
    order = await coinm.create_order(BTC_INV, "market", "buy", 5_000, None)  # 5,000 × 100 USD ≈ 16.7 BTC
    position = (await coinm.fetch_positions([BTC_INV]))[0]
    coins = wallet(await coinm.fetch_balance(), "BTC")

    expected = inverse.liquidation_price(btc(), 5_000, order["average"], coins)
    assert expected is not None
    assert position["liquidationPrice"] == pytest.approx(expected, rel=1e-4)
    assert position["leverage"] == 20


async def test_an_order_beyond_the_coin_wallet_is_refused_as_insufficient_margin(coinm: Any) -> None:
    await coinm.set_leverage(1, ETH_INV)
    with pytest.raises(ccxt.InsufficientFunds):  # 1,000 × 10 USD at 2,000 = 5 ETH on a 2 ETH wallet at 1x
        await coinm.create_order(ETH_INV, "market", "sell", 1_000, None)


async def test_an_unlisted_symbol_and_an_unserved_endpoint_are_refused(sim: ExchangeSim, coinm: Any) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.base_url}/dapi/v1/premiumIndex?symbol=XRPUSD_PERP") as unlisted:
            assert unlisted.status == 400
            assert (await unlisted.json())["code"] == -1121
        async with http.post(f"{sim.base_url}/dapi/v1/order/test") as unserved:
            assert unserved.status == 404


async def test_a_simulator_without_coin_m_coins_serves_no_dapi() -> None:
    async with running_sim() as plain, aiohttp.ClientSession() as http:
        answer = await http.get(f"{plain.base_url}/dapi/v1/exchangeInfo")
        answer.release()
    assert answer.status == 404


async def test_the_mark_price_stream_of_an_inverse_perpetual_follows_its_coins_index(
    sim: ExchangeSim, coinm: Any
) -> None:
    first = await guarded(coinm.watch_mark_price(BTC_INV))
    sim.push(PriceObserved(T0 + 60_000, Symbol("BTC/USDT"), 31_000.0))
    moved = await guarded(coinm.watch_mark_price(BTC_INV))

    assert (first["markPrice"], moved["markPrice"]) == (30_000.0, 31_000.0)
    assert moved["info"]["s"] == "BTCUSD_PERP"
    assert float(moved["info"]["r"]) == pytest.approx(0.0001)  # the funding rate rides on the mark stream


async def test_the_entry_price_of_an_inverse_position_is_the_contract_weighted_harmonic_mean_of_its_fills(
    sim: ExchangeSim, coinm: Any
) -> None:
    first = await coinm.create_order(BTC_INV, "market", "buy", 30, None)
    sim.push(PriceObserved(T0 + 60_000, Symbol("BTC/USDT"), 40_000.0))
    second = await coinm.create_order(BTC_INV, "market", "buy", 10, None)
    position = (await coinm.fetch_positions([BTC_INV]))[0]

    prices = (first["average"], second["average"])
    harmonic = 40 / (30 / prices[0] + 10 / prices[1])  # Binance: contracts / Σ(contracts_i / price_i)
    assert prices[1] > prices[0] * 1.3  # far enough apart for the arithmetic mean to be another figure
    assert position["entryPrice"] == pytest.approx(harmonic, abs=0.1)  # BTCUSD_PERP's tick
    assert position["entryPrice"] != pytest.approx((30 * prices[0] + 10 * prices[1]) / 40, abs=1.0)


async def test_ccxt_reads_each_coins_own_coin_m_brackets_from_the_leverage_bracket_endpoint(coinm: Any) -> None:
    tiers = await coinm.fetch_leverage_tiers([BTC_INV, ETH_INV])

    eth = [(t["minNotional"], t["maxNotional"], t["maxLeverage"], t["maintenanceMarginRate"]) for t in tiers[ETH_INV]]
    assert eth[:2] == [(0, 100, 100, 0.005), (100, 500, 75, 0.0065)]  # ETHUSD's table, in ETH
    assert [t["maxLeverage"] for t in tiers[BTC_INV]][:2] == [125, 100]
    assert len(eth) == len(inverse.coinm_table("ETH").brackets)
    by_pair = await coinm.dapiPrivateGetLeverageBracket({"pair": "ETHUSD"})  # v1: the pair's table
    assert [(row["pair"], row["brackets"][0]["qtyCap"]) for row in by_pair] == [("ETHUSD", 100)]


async def test_a_batch_of_orders_for_two_coins_rests_in_each_coins_book_and_a_batch_cancel_takes_them_back(
    sim: ExchangeSim, coinm: Any
) -> None:
    placed = await coinm.create_orders(
        [
            {"symbol": BTC_INV, "type": "limit", "side": "buy", "amount": 2, "price": 25_000},
            {"symbol": ETH_INV, "type": "limit", "side": "buy", "amount": 3, "price": 1_500},
            {"symbol": BTC_INV, "type": "limit", "side": "buy", "amount": 1, "price": 24_000},
        ]
    )
    btc_ids = [o["id"] for o in placed if o["symbol"] == BTC_INV]
    cancelled = await coinm.cancel_orders(btc_ids, BTC_INV)
    remaining = await coinm.fetch_open_orders()

    assert [(o["symbol"], o["amount"], o["price"]) for o in placed] == [
        (BTC_INV, 2, 25_000), (ETH_INV, 3, 1_500), (BTC_INV, 1, 24_000)
    ]  # fmt: skip
    assert [o["status"] for o in cancelled] == ["canceled", "canceled"]
    assert [(o["symbol"], o["amount"]) for o in remaining] == [(ETH_INV, 3)]
    assert sim.coinm.desk.engines["ETH"].orders(open_only=True)[0].qty == 3


async def test_a_batch_item_for_an_unlisted_symbol_is_refused_in_place_and_the_others_are_placed(coinm: Any) -> None:
    buy = {"side": "BUY", "type": "LIMIT", "quantity": "1", "timeInForce": "GTC"}
    items = [{**buy, "symbol": "XRPUSD_PERP", "price": "0.5"}, {**buy, "symbol": "ETHUSD_PERP", "price": "1500"}]
    answer = await coinm.dapiPrivatePostBatchOrders({"batchOrders": items})  # ccxt encodes the list itself
    assert answer[0]["code"] == -1121
    assert answer[1]["symbol"] == "ETHUSD_PERP"
    assert answer[1]["status"] == "NEW"


async def test_a_closing_stop_on_an_inverse_short_fires_on_its_coins_mark_and_closes_the_whole_position(
    sim: ExchangeSim, coinm: Any
) -> None:
    await coinm.create_order(BTC_INV, "market", "sell", 30, None)
    stop = await coinm.create_order(
        BTC_INV, "STOP_MARKET", "buy", None, None,
        {"triggerPrice": 33_000, "closePosition": True, "workingType": "MARK_PRICE"},
    )  # fmt: skip
    guard = await coinm.create_order(ETH_INV, "TAKE_PROFIT_MARKET", "sell", 5, None, {"triggerPrice": 2_500})
    sim.push(PriceObserved(T0 + 60_000, Symbol("BTC/USDT"), 32_000.0))
    before = (await coinm.fetch_positions([BTC_INV]))[0]["contracts"]
    sim.push(PriceObserved(T0 + 120_000, Symbol("BTC/USDT"), 33_500.0))
    fired = await coinm.fetch_order(stop["id"], BTC_INV, {"trigger": True})
    after = await coinm.fetch_positions([BTC_INV])

    assert (stop["status"], stop["info"]["orderType"], stop["info"]["symbol"]) == ("open", "STOP_MARKET", "BTCUSD_PERP")
    assert guard["id"] != stop["id"]  # each coin's engine numbers its algo orders in its own range
    assert before == 30
    assert fired["info"]["algoStatus"] == "FINISHED"
    assert not after or after[0]["contracts"] == 0
    assert sim.coinm.desk.engines["ETH"].algos.open(_listed(sim, ETH_INV))  # ETH's waits on


async def test_countdown_cancel_all_cancels_one_coins_resting_orders_when_its_countdown_runs_out() -> None:
    clock = ManualClock(5_000_000)
    tape = list(priced(T0))
    async with ExchangeSim(COINM, tape, countdown_clock=clock) as sim, coinm_client(sim) as coinm:
        await sim.advance(len(tape))
        armed = await coinm.dapiPrivatePostCountdownCancelAll({"symbol": "BTCUSD_PERP", "countdownTime": 60_000})
        await coinm.create_order(BTC_INV, "limit", "buy", 2, 25_000, {"clientOrderId": "btc-rest"})
        await coinm.create_order(ETH_INV, "limit", "buy", 3, 1_500, {"clientOrderId": "eth-rest"})
        clock.now += 59_999
        early = sim.expire_countdowns()
        clock.now += 1
        expired = sim.expire_countdowns()
        remaining = [o["clientOrderId"] for o in await coinm.fetch_open_orders()]

    assert armed == {"symbol": "BTCUSD_PERP", "countdownTime": "60000"}
    assert early == []
    assert expired == ["BTCUSD_PERP"]
    assert remaining == ["eth-rest"]


async def test_a_universal_transfer_moves_coin_between_the_spot_wallet_and_that_coins_coin_m_wallet(
    sim: ExchangeSim, coinm: Any
) -> None:
    sim.exchange.wallets.credit("MAIN", "ETH", 5)
    sent = await coinm.transfer("ETH", 1.5, "spot", "inverse")  # MAIN_CMFUTURE
    await coinm.transfer("ETH", 0.5, "inverse", "spot")  # CMFUTURE_MAIN
    listed = await coinm.fetch_transfers("ETH", None, 10, {"fromAccount": "spot", "toAccount": "inverse"})
    balance = await coinm.fetch_balance()

    assert wallet(balance, "ETH") == pytest.approx(2.0 + 1.5 - 0.5)
    assert wallet(balance, "BTC") == pytest.approx(2.0)  # another coin's wallet is untouched
    assert float(sim.exchange.wallets.free("MAIN", "ETH")) == pytest.approx(4.0)
    assert [(t["id"], t["amount"], t["currency"]) for t in listed] == [(sent["id"], 1.5, "ETH")]
    with pytest.raises(ccxt.ExchangeError, match="-5013"):  # no COIN-M wallet of that coin
        await coinm.sapiPostAssetTransfer({"type": "MAIN_CMFUTURE", "asset": "SOL", "amount": "1"})


async def test_an_order_walking_the_book_averages_its_fills_harmonically_in_its_price_and_the_positions_entry() -> None:
    wide = dataclasses.replace(COINM, level_spacing_ticks=10_000, level_notional=100_000.0)  # levels 1,000 USD apart
    async with running_sim(wide) as sim, coinm_client(sim) as coinm:
        await coinm.set_leverage(20, BTC_INV)
        order = await coinm.create_order(BTC_INV, "market", "buy", 2_500, None)
        fills = [(t["amount"], t["price"]) for t in await coinm.fetch_my_trades(BTC_INV)]
        position = (await coinm.fetch_positions([BTC_INV]))[0]

    coins = sum(q * 100 / p for q, p in fills)  # what the fills cost in BTC
    harmonic, arithmetic = 2_500 * 100 / coins, sum(q * p for q, p in fills) / 2_500
    assert harmonic < arithmetic - 10  # far enough apart to tell
    assert order["average"] == pytest.approx(harmonic, abs=0.1)  # Binance: contracts / Σ(contracts_i / price_i)
    assert float(order["info"]["cumBase"]) == pytest.approx(coins, rel=1e-8)
    assert position["entryPrice"] == pytest.approx(harmonic, abs=0.1)


async def test_each_coin_lists_its_current_and_next_quarterly_priced_at_the_perpetual_plus_a_basis(
    sim: ExchangeSim, coinm: Any
) -> None:
    march, june = Symbol("BTC/USD:BTC-260327"), Symbol("BTC/USD:BTC-260626")  # T0 is 2026-01-01
    infos = {m["id"]: m["info"] for m in coinm.markets.values() if m["settle"] == "BTC"}
    perp, front = await coinm.fetch_mark_price(BTC_INV), await coinm.fetch_mark_price(march)

    assert (coinm.market(march)["id"], coinm.market(june)["id"]) == ("BTCUSD_260327", "BTCUSD_260626")
    assert coinm.market(Symbol("ETH/USD:ETH-260327"))["contractSize"] == 10.0
    assert coinm.market(march)["inverse"]
    assert coinm.market(march)["future"]
    assert coinm.market(march)["contractSize"] == 100.0
    assert [infos[i]["contractType"] for i in ("BTCUSD_260327", "BTCUSD_260626")] == ["CURRENT_QUARTER", "NEXT_QUARTER"]
    assert {infos[i]["pair"] for i in infos} == {"BTCUSD"}
    assert infos["BTCUSD_260327"]["deliveryDate"] == coinm.market(march)["expiry"]
    years = (coinm.market(march)["expiry"] - T0) / (365 * 24 * MS_PER_HOUR)
    assert front["markPrice"] == pytest.approx(perp["markPrice"] * (1 + 0.05 * years), rel=1e-4)


async def test_a_quarterly_sell_fills_into_a_position_in_its_coin_and_its_mark_streams(
    sim: ExchangeSim, coinm: Any
) -> None:
    march = Symbol("ETH/USD:ETH-260327")
    order = await coinm.create_order(march, "market", "sell", 20, None, {"clientOrderId": "q-1"})
    positions = {p["symbol"]: p for p in await coinm.fetch_positions()}
    first = await guarded(coinm.watch_mark_price(march))
    sim.push(PriceObserved(T0 + 60_000, Symbol("ETH/USDT"), 2_100.0))
    moved = await guarded(coinm.watch_mark_price(march))

    assert (order["status"], order["filled"], order["info"]["pair"]) == ("closed", 20, "ETHUSD")
    assert positions[march]["contracts"] == 20
    assert positions[march]["side"] == "short"
    assert ETH_INV not in positions or positions[ETH_INV]["contracts"] == 0
    assert moved["info"]["s"] == "ETHUSD_260327"
    assert moved["markPrice"] > first["markPrice"]
    assert moved["markPrice"] > 2_100.0  # the basis over the perpetual


async def test_a_quarterly_position_is_settled_at_its_delivery_and_the_next_quarter_is_listed(
    sim: ExchangeSim, coinm: Any
) -> None:
    march = Symbol("BTC/USD:BTC-260327")
    await coinm.create_order(march, "market", "sell", 30, None)
    assert sim.coinm.desk.engines["BTC"].account.position(march).qty == -30
    expiry = coinm.market(march)["expiry"]
    sim.push(PriceObserved(expiry + 60_000, Symbol("BTC/USDT"), 30_000.0))
    held = sim.coinm.desk.engines["BTC"].account.position(march).qty
    listed = await coinm.fetch_markets()

    assert held == 0  # delivered: the position is closed at the index
    assert "BTC/USD:BTC-260925" in {m["symbol"] for m in listed}  # September: next quarter after June's
