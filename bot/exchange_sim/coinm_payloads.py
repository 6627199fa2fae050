"""Binance COIN-M JSON payloads, where they differ from USDⓈ-M's (account_payloads.py, payloads.py). Pure.

Differences a client reads: exchangeInfo rows carry `contractSize` (the face value in USD), `contractStatus` and
`marginAsset` = the coin; money (balances, margins, P&L, `notionalValue`, `cumBase`) is in the coin; brackets
are `qtyCap`/`qtyFloor` in the coin; positionRisk rows carry `leverage`, `maxQty` and `notionalValue`.
"""

from __future__ import annotations

from bot.exchange_sim import account_payloads, payloads
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.coinm import CoinmExchange
from bot.exchange_sim.payloads import Json, money


def symbol_info(engine: CoinmExchange, contract: Contract) -> Json:
    row = payloads.symbol_info(engine.catalog, contract, engine.now_ms)
    row["contractStatus"] = row.pop("status")
    row["contractSize"] = int(contract.instrument.contract_size)
    row["equalQtyPrecision"] = 4
    row["underlyingType"] = "COIN"
    row["filters"] = [f for f in row["filters"] if f["filterType"] != "MIN_NOTIONAL"]  # COIN-M has none
    return row


def exchange_info(engines: list[CoinmExchange], server_time_ms: int) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(e, c) for e in engines for c in e.catalog.all()],
    }


def position_row(engine: CoinmExchange, contract: Contract) -> Json:
    """One /dapi/v1/positionRisk row (one-way mode)."""
    account = engine.account
    row = account_payloads.position_row(account, contract, engine.now_ms)
    keep = (
        "symbol", "positionAmt", "entryPrice", "breakEvenPrice", "markPrice", "unRealizedProfit", "liquidationPrice",
        "marginType", "isolatedMargin", "positionSide", "isolatedWallet", "updateTime",
    )  # fmt: skip
    coinm = {k: row[k] for k in keep}
    coinm["isAutoAddMargin"] = "false"
    coinm["leverage"] = str(account.leverage_of(contract.symbol))
    coinm["maxQty"] = money(account.max_notional(contract.symbol))
    coinm["notionalValue"] = money(account.position_value(contract.symbol))
    coinm["marginAsset"] = contract.instrument.settle
    return coinm


def account(engines: list[CoinmExchange]) -> Json:
    """GET /dapi/v1/account: one asset row per coin wallet, and every symbol's position row."""
    assets, positions = [], []
    for engine in engines:
        assets.append(account_payloads.asset_row(engine.account, engine.reserved_margin(), engine.now_ms))
        v2 = account_payloads.account_v2(engine.account, engine.catalog.all(), engine.reserved_margin(), engine.now_ms)
        positions.extend(v2["positions"])
    flags = {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "updateTime": 0}
    return {**flags, "assets": assets, "positions": positions}


def balance(engines: list[CoinmExchange]) -> list[Json]:
    return [account_payloads.balance_row(e.account, e.reserved_margin(), e.now_ms) for e in engines]


def leverage_brackets(engine: CoinmExchange, contract: Contract, *, by_pair: bool = False) -> Json:
    """A /dapi/v2/leverageBracket row (by symbol), or a v1 one (`by_pair`: the pair's default table): the coin's
    brackets, caps in the coin."""
    brackets = [
        {
            "bracket": b.number,
            "initialLeverage": b.initial_leverage,
            "qtyCap": b.cap,
            "qtyFloor": b.floor,
            "maintMarginRatio": b.maint_rate,
            "cum": b.cum,
        }
        for b in engine.account.table(contract.symbol).brackets
    ]
    return {"pair": contract.pair, "brackets": brackets} if by_pair else {"symbol": contract.id, "brackets": brackets}


def coinm_order(row: Json, face: float) -> Json:
    """A USDⓈ-M order row as COIN-M answers it: `cumBase` (the coin: contracts × face / average price) in place
    of `cumQuote`, and the pair."""
    fixed = dict(row)
    fixed.pop("cumQuote", None)
    executed, average = float(row.get("executedQty", 0) or 0), float(row.get("avgPrice", 0) or 0)
    fixed["cumBase"] = money(executed * face / average if average > 0 else 0.0)
    fixed["pair"] = _pair(str(row.get("symbol", "")))
    return fixed


def coinm_trade(row: Json, face: float) -> Json:
    """A USDⓈ-M trade row as COIN-M answers it: `baseQty` (the coin) in place of `quoteQty`, and the pair."""
    fixed = dict(row)
    fixed.pop("quoteQty", None)
    qty, price = float(row.get("qty", 0) or 0), float(row.get("price", 0) or 0)
    fixed["baseQty"] = money(qty * face / price if price > 0 else 0.0)
    fixed["pair"] = _pair(str(row.get("symbol", "")))
    fixed["marginAsset"] = row.get("commissionAsset", "")
    return fixed


def _pair(symbol_id: str) -> str:
    """BTCUSD_PERP and BTCUSD_260327 → BTCUSD."""
    return symbol_id.partition("_")[0]
