"""Fixtures for the exchange simulator tests: a started simulator, real ccxt clients pointed at it, and Binance's
documented payloads (`documented`) the conformance suites compare answers with."""

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


# ---- Binance's documented payloads, for the conformance suites ------------------------------------------
# Field -> JSON type as Binance's USDⓈ-M API documentation shows it ("s" string, "i" integer, "n" number,
# "b" boolean, "l" list, "d" object). Every documented field must be there with that type; extra fields pass.

_ORDER = dict.fromkeys(
    ("clientOrderId", "cumQty", "cumQuote", "executedQty", "avgPrice", "origQty", "price", "side",
     "positionSide", "status", "stopPrice", "symbol", "timeInForce", "type", "origType", "workingType",
     "priceMatch", "selfTradePreventionMode"), "s",
) | {"orderId": "i", "reduceOnly": "b", "closePosition": "b", "priceProtect": "b", "updateTime": "i",
     "goodTillDate": "i"}  # fmt: skip
_ASSET = dict.fromkeys(
    ("asset", "walletBalance", "unrealizedProfit", "marginBalance", "maintMargin", "initialMargin",
     "positionInitialMargin", "openOrderInitialMargin", "crossWalletBalance", "crossUnPnl", "availableBalance",
     "maxWithdrawAmount"), "s",
) | {"updateTime": "i"}  # fmt: skip
_TOTALS = dict.fromkeys(
    ("totalInitialMargin", "totalMaintMargin", "totalWalletBalance", "totalUnrealizedProfit", "totalMarginBalance",
     "totalPositionInitialMargin", "totalOpenOrderInitialMargin", "totalCrossWalletBalance", "totalCrossUnPnl",
     "availableBalance", "maxWithdrawAmount"), "s",
) | {"assets": "l", "positions": "l"}  # fmt: skip

DOCUMENTED: dict[str, dict[str, str]] = {
    "ping": {},
    "time": {"serverTime": "i"},
    "exchangeInfo": {"timezone": "s", "serverTime": "i", "futuresType": "s", "rateLimits": "l",
                     "exchangeFilters": "l", "assets": "l", "symbols": "l"},
    "symbol": dict.fromkeys(("symbol", "pair", "contractType", "status", "maintMarginPercent", "requiredMarginPercent",
                             "baseAsset", "quoteAsset", "marginAsset", "underlyingType", "triggerProtect",
                             "liquidationFee", "marketTakeBound"), "s")
              | {"deliveryDate": "i", "onboardDate": "i", "pricePrecision": "i", "quantityPrecision": "i",
                 "baseAssetPrecision": "i", "quotePrecision": "i", "underlyingSubType": "l", "settlePlan": "i",
                 "filters": "l", "orderTypes": "l", "timeInForce": "l"},
    "depth": {"lastUpdateId": "i", "E": "i", "T": "i", "bids": "l", "asks": "l"},
    "trade": {"id": "i", "price": "s", "qty": "s", "quoteQty": "s", "time": "i", "isBuyerMaker": "b"},
    "aggTrade": {"a": "i", "p": "s", "q": "s", "f": "i", "l": "i", "T": "i", "m": "b"},
    "premiumIndex": dict.fromkeys(("symbol", "markPrice", "indexPrice", "estimatedSettlePrice", "lastFundingRate",
                                   "interestRate"), "s") | {"nextFundingTime": "i", "time": "i"},
    "fundingRate": {"symbol": "s", "fundingRate": "s", "fundingTime": "i", "markPrice": "s"},
    "fundingInfo": {"symbol": "s", "adjustedFundingRateCap": "s", "adjustedFundingRateFloor": "s",
                    "fundingIntervalHours": "i"},
    "ticker24hr": dict.fromkeys(("symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "lastPrice",
                                 "lastQty", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume"), "s")
                  | {"openTime": "i", "closeTime": "i", "firstId": "i", "lastId": "i", "count": "i"},
    "tickerPrice": {"symbol": "s", "price": "s", "time": "i"},
    "bookTicker": {"symbol": "s", "bidPrice": "s", "bidQty": "s", "askPrice": "s", "askQty": "s", "time": "i"},
    "openInterest": {"openInterest": "s", "symbol": "s", "time": "i"},
    "order": _ORDER,
    "queriedOrder": _ORDER | {"time": "i"},
    "userTrade": dict.fromkeys(("commission", "commissionAsset", "price", "qty", "quoteQty", "realizedPnl", "side",
                                "positionSide", "symbol"), "s")
                 | {"buyer": "b", "maker": "b", "id": "i", "orderId": "i", "time": "i"},
    "income": {"symbol": "s", "incomeType": "s", "income": "s", "asset": "s", "info": "s", "time": "i",
               "tranId": "i", "tradeId": "s"},
    "balance": dict.fromkeys(("accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl",
                              "availableBalance", "maxWithdrawAmount"), "s")
               | {"marginAvailable": "b", "updateTime": "i"},
    "accountV2": _TOTALS | {"feeTier": "i", "canTrade": "b", "canDeposit": "b", "canWithdraw": "b", "updateTime": "i",
                            "multiAssetsMargin": "b", "tradeGroupId": "i"},
    "accountV2Position": dict.fromkeys(("symbol", "initialMargin", "maintMargin", "unrealizedProfit",
                                        "positionInitialMargin", "openOrderInitialMargin", "leverage", "entryPrice",
                                        "maxNotional", "bidNotional", "askNotional", "positionSide",
                                        "positionAmt"), "s") | {"isolated": "b", "updateTime": "i"},
    "accountV3": _TOTALS,
    "accountAsset": _ASSET | {"marginAvailable": "b"},
    "accountV3Position": dict.fromkeys(("symbol", "positionSide", "positionAmt", "unrealizedProfit",
                                        "isolatedMargin", "notional", "isolatedWallet", "initialMargin",
                                        "maintMargin"), "s") | {"updateTime": "i"},
    "positionRiskV2": dict.fromkeys(("entryPrice", "breakEvenPrice", "marginType", "isAutoAddMargin",
                                     "isolatedMargin", "leverage", "liquidationPrice", "markPrice",
                                     "maxNotionalValue", "positionAmt", "notional", "isolatedWallet", "symbol",
                                     "unRealizedProfit", "positionSide"), "s") | {"updateTime": "i"},
    "positionRiskV3": dict.fromkeys(("symbol", "positionSide", "positionAmt", "entryPrice", "breakEvenPrice",
                                     "markPrice", "unRealizedProfit", "liquidationPrice", "isolatedMargin",
                                     "notional", "marginAsset", "isolatedWallet", "initialMargin", "maintMargin",
                                     "positionInitialMargin", "openOrderInitialMargin", "bidNotional",
                                     "askNotional"), "s") | {"adl": "i", "updateTime": "i"},
    "leverageBracket": {"symbol": "s", "brackets": "l"},
    "bracket": {"bracket": "i", "initialLeverage": "i", "notionalCap": "i", "notionalFloor": "i",
                "maintMarginRatio": "n", "cum": "n"},
    "leverage": {"leverage": "i", "maxNotionalValue": "s", "symbol": "s"},
    "codeMsg": {"code": "i", "msg": "s"},
    "positionMargin": {"amount": "n", "code": "i", "msg": "s", "type": "i"},
    "commissionRate": {"symbol": "s", "makerCommissionRate": "s", "takerCommissionRate": "s"},
    "positionMode": {"dualSidePosition": "b"},
    "multiAssetsMargin": {"multiAssetsMargin": "b"},
    "listenKey": {"listenKey": "s"},
    "countdown": {"symbol": "s", "countdownTime": "s"},
    "symbolConfig": {"symbol": "s", "marginType": "s", "isAutoAddMargin": "s", "leverage": "i",
                     "maxNotionalValue": "s"},
    "algoOrder": dict.fromkeys(("clientAlgoId", "algoType", "orderType", "symbol", "side", "positionSide",
                                "timeInForce", "quantity", "algoStatus", "triggerPrice", "price",
                                "selfTradePreventionMode", "workingType", "priceMatch"), "s")
                 | {"algoId": "i", "closePosition": "b", "priceProtect": "b", "reduceOnly": "b", "createTime": "i",
                    "updateTime": "i", "triggerTime": "i", "goodTillDate": "i"},
    "algoCancel": {"algoId": "i", "clientAlgoId": "s", "code": "s", "msg": "s"},
    # websocket events
    "aggTradeEvent": {"e": "s", "E": "i", "s": "s", "a": "i", "p": "s", "q": "s", "f": "i", "l": "i", "T": "i",
                      "m": "b"},
    "tradeEvent": {"e": "s", "E": "i", "T": "i", "s": "s", "t": "i", "p": "s", "q": "s", "X": "s", "m": "b"},
    "klineEvent": {"e": "s", "E": "i", "s": "s", "k": "d"},
    "kline": {"t": "i", "T": "i", "s": "s", "i": "s", "f": "i", "L": "i", "o": "s", "c": "s", "h": "s", "l": "s",
              "v": "s", "n": "i", "x": "b", "q": "s", "V": "s", "Q": "s", "B": "s"},
    "depthUpdate": {"e": "s", "E": "i", "T": "i", "s": "s", "U": "i", "u": "i", "pu": "i", "b": "l", "a": "l"},
    "markPriceUpdate": {"e": "s", "E": "i", "s": "s", "p": "s", "i": "s", "P": "s", "r": "s", "T": "i"},
    "bookTickerEvent": {"e": "s", "u": "i", "E": "i", "T": "i", "s": "s", "b": "s", "B": "s", "a": "s", "A": "s"},
    "24hrMiniTicker": {"e": "s", "E": "i", "s": "s", "c": "s", "o": "s", "h": "s", "l": "s", "v": "s", "q": "s"},
    "24hrTicker": {"e": "s", "E": "i", "s": "s", "p": "s", "P": "s", "w": "s", "c": "s", "Q": "s", "o": "s",
                   "h": "s", "l": "s", "v": "s", "q": "s", "O": "i", "C": "i", "F": "i", "L": "i", "n": "i"},
    "ORDER_TRADE_UPDATE": {"e": "s", "E": "i", "T": "i", "o": "d"},
    "orderTradeUpdate": {"s": "s", "c": "s", "S": "s", "o": "s", "f": "s", "q": "s", "p": "s", "ap": "s", "sp": "s",
                         "x": "s", "X": "s", "i": "i", "l": "s", "z": "s", "L": "s", "T": "i", "t": "i", "b": "s",
                         "a": "s", "m": "b", "R": "b", "wt": "s", "ot": "s", "ps": "s", "cp": "b", "rp": "s",
                         "pP": "b", "si": "i", "ss": "i", "V": "s", "pm": "s", "gtd": "i"},
    "ACCOUNT_UPDATE": {"e": "s", "E": "i", "T": "i", "a": "d"},
}  # fmt: skip
_TYPES: dict[str, tuple[type, ...]] = {"s": (str,), "i": (int,), "n": (int, float), "b": (bool,), "l": (list,),
                                       "d": (dict,)}  # fmt: skip


def shape_problems(kind: str, answer: Any) -> list[str]:
    """What in `answer` differs from Binance's documented `kind` payload (empty: it conforms)."""
    if not isinstance(answer, dict):
        return [f"{kind}: expected an object, got {type(answer).__name__}"]
    problems = []
    for name, code in DOCUMENTED[kind].items():
        if name not in answer:
            problems.append(f"{kind}.{name} missing")
        elif (isinstance(answer[name], bool) and code in ("i", "n")) or not isinstance(answer[name], _TYPES[code]):
            problems.append(f"{kind}.{name}: {answer[name]!r} is not of type {code}")
    return problems


def kline_problems(row: Any, *, prices_only: bool = False) -> list[str]:
    """A kline row: [open time, o, h, l, c, volume, close time, quote volume, trades, taker base, taker quote, 0]."""
    if not isinstance(row, list) or len(row) != 12:
        return [f"kline: expected a list of 12, got {row!r}"]
    types = [int, str, str, str, str, str, int, str, int, str, str, str]
    problems = [f"kline[{n}]: {v!r}" for n, (v, t) in enumerate(zip(row, types, strict=True)) if type(v) is not t]
    if prices_only and row[5] != "0":
        problems.append("a price kline has no volume")
    return problems


class Documented:
    """The documented payloads, handed to the conformance suites as a fixture (tests cannot import conftest)."""

    problems = staticmethod(shape_problems)
    kline_problems = staticmethod(kline_problems)

    def each(self, kind: str, answers: Any) -> list[str]:
        """Problems of every object of a list answer (a non-empty list is expected)."""
        if not isinstance(answers, list) or not answers:
            return [f"{kind}: expected a non-empty list, got {answers!r}"]
        return [p for answer in answers for p in shape_problems(kind, answer)]


@pytest.fixture
def documented() -> Documented:
    return Documented()
