"""Binance USDⓈ-M account payloads (balances, account, positions, brackets) in each version's shape. Pure.

The versions differ, and clients read the version they call: v2 `account` lists every symbol with its
`leverage`, `isolated`, `entryPrice` and `maxNotional`; v3 lists only held positions, without those. v2
`positionRisk` carries `leverage`, `maxNotionalValue` and `isAutoAddMargin`; v3 carries the margins instead.
Balance rows (v2 and v3 alike) carry `accountAlias`, `balance` and `marginAvailable`.
"""

from __future__ import annotations

from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.margin import BracketedAccount
from bot.exchange_sim.payloads import Json, money, px, qty

_ACCOUNT_ALIAS = "SgsR"  # Binance's alias is an opaque per-account tag; a fixed one here


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def position_row(account: BracketedAccount, contract: Contract, now_ms: int) -> Json:
    """One /fapi/v3/positionRisk row (one-way mode), with v2's `marginType` (cross | isolated)."""
    c, symbol = contract, contract.symbol
    position = account.position(symbol)
    value = account.position_value(symbol)
    mark = account.mark_price(symbol) or position.entry_price
    liquidation = account.liquidation_price(symbol) or 0.0
    mode = account.margin_mode(symbol)
    isolated = mode == "isolated" and position.qty != 0
    initial = account.position_initial_margin(symbol)
    return {
        "symbol": c.id,
        "positionSide": "BOTH",
        "marginType": mode,
        "positionAmt": qty(c, position.qty),
        "entryPrice": px(c, position.entry_price) if position.qty else "0.0",
        "breakEvenPrice": px(c, position.entry_price) if position.qty else "0.0",
        "markPrice": px(c, mark),
        "unRealizedProfit": money(account.unrealized_pnl(symbol)),
        "liquidationPrice": px(c, liquidation),
        "isolatedMargin": money(account.isolated_margin(symbol)) if isolated else "0",
        "notional": money(value),
        "marginAsset": c.instrument.settle,
        "isolatedWallet": money(account.isolated_wallet(symbol)) if isolated else "0",
        "initialMargin": money(initial),
        "maintMargin": money(account.position_maint_margin(symbol)),
        "positionInitialMargin": money(initial),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": now_ms if position.qty else 0,
    }


def position_row_v2(account: BracketedAccount, contract: Contract, now_ms: int) -> Json:
    """One /fapi/v2/positionRisk row: the v2 field set, with the symbol's leverage and bracket cap."""
    row = position_row(account, contract, now_ms)
    keys = ("entryPrice", "breakEvenPrice", "marginType", "isolatedMargin", "liquidationPrice", "markPrice",
            "positionAmt", "notional", "isolatedWallet", "symbol", "unRealizedProfit", "positionSide",
            "updateTime")  # fmt: skip
    v2 = {k: row[k] for k in keys}
    v2["isAutoAddMargin"] = "false"
    v2["leverage"] = str(account.leverage_of(contract.symbol))
    v2["maxNotionalValue"] = _number(account.max_notional(contract.symbol))
    return v2


def asset_row(account: BracketedAccount, reserved_margin: float, now_ms: int) -> Json:
    """An account asset row (v2 and v3 `account`)."""
    wallet, unrealized = account.wallet_balance, account.unrealized_pnl()
    cross_wallet = account.cross_wallet_balance
    isolated = [symbol for symbol in account.instruments if account.margin_mode(symbol) == "isolated"]
    cross_unrealized = unrealized - sum(account.unrealized_pnl(symbol) for symbol in isolated)
    available = account.available_balance - reserved_margin
    return {
        "asset": account.currency,
        "walletBalance": money(wallet),
        "unrealizedProfit": money(unrealized),
        "marginBalance": money(wallet + unrealized),
        "maintMargin": money(account.maintenance_margin),
        "initialMargin": money(account.initial_margin + reserved_margin),
        "positionInitialMargin": money(account.initial_margin),
        "openOrderInitialMargin": money(reserved_margin),
        "crossWalletBalance": money(cross_wallet),
        "crossUnPnl": money(cross_unrealized),
        "availableBalance": money(available),
        "maxWithdrawAmount": money(max(0.0, min(available, cross_wallet))),
        "marginAvailable": True,
        "updateTime": now_ms,
    }


def balance_row(account: BracketedAccount, reserved_margin: float, now_ms: int) -> Json:
    """A /fapi/v2/balance and /fapi/v3/balance row."""
    asset = asset_row(account, reserved_margin, now_ms)
    return {
        "accountAlias": _ACCOUNT_ALIAS,
        "asset": asset["asset"],
        "balance": asset["walletBalance"],
        "crossWalletBalance": asset["crossWalletBalance"],
        "crossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "marginAvailable": True,
        "updateTime": now_ms,
    }


def _totals(asset: Json) -> Json:
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
    }


def account_v3(account: BracketedAccount, contracts: list[Contract], reserved_margin: float, now_ms: int) -> Json:
    asset = asset_row(account, reserved_margin, now_ms)
    held = [c for c in contracts if account.position(c.symbol).qty]
    positions = []
    for c in held:
        row = position_row(account, c, now_ms)
        row["unrealizedProfit"] = row["unRealizedProfit"]
        keys = ("symbol", "positionSide", "positionAmt", "unrealizedProfit", "isolatedMargin", "notional",
                "isolatedWallet", "initialMargin", "maintMargin", "updateTime")  # fmt: skip
        positions.append({k: row[k] for k in keys})
    return {**_totals(asset), "assets": [asset], "positions": positions}


def account_v2(account: BracketedAccount, contracts: list[Contract], reserved_margin: float, now_ms: int) -> Json:
    """GET /fapi/v2/account: the account flags, and every symbol's position row with its leverage."""
    asset = asset_row(account, reserved_margin, now_ms)
    positions = []
    for c in contracts:
        row = position_row(account, c, now_ms)
        positions.append({
            "symbol": c.id, "initialMargin": row["initialMargin"], "maintMargin": row["maintMargin"],
            "unrealizedProfit": row["unRealizedProfit"], "positionInitialMargin": row["positionInitialMargin"],
            "openOrderInitialMargin": "0", "leverage": str(account.leverage_of(c.symbol)),
            "isolated": account.margin_mode(c.symbol) == "isolated", "entryPrice": row["entryPrice"],
            "breakEvenPrice": row["breakEvenPrice"], "maxNotional": _number(account.max_notional(c.symbol)),
            "bidNotional": "0", "askNotional": "0", "positionSide": "BOTH", "positionAmt": row["positionAmt"],
            "updateTime": row["updateTime"],
        })  # fmt: skip
    flags = {"feeTier": 0, "feeBurn": False, "canTrade": True, "canDeposit": True, "canWithdraw": True,
             "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1}  # fmt: skip
    return {**flags, **_totals(asset), "assets": [asset], "positions": positions}


def account_update(account: BracketedAccount, reason: str, contracts: list[Contract], now_ms: int) -> Json:
    positions = []
    for c in contracts:
        p = account.position(c.symbol)
        positions.append({
            "s": c.id, "pa": qty(c, p.qty), "ep": px(c, p.entry_price), "bep": px(c, p.entry_price),
            "cr": money(p.realized_pnl), "up": money(account.unrealized_pnl(c.symbol)),
            "mt": account.margin_mode(c.symbol), "iw": money(account.isolated_wallet(c.symbol)), "ps": "BOTH",
        })  # fmt: skip
    wallet, cross_wallet = money(account.wallet_balance), money(account.cross_wallet_balance)
    balances = [{"a": account.currency, "wb": wallet, "cw": cross_wallet, "bc": "0"}]
    return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "a": {"m": reason, "B": balances, "P": positions}}


def leverage_bracket(contract: Contract, account: BracketedAccount) -> Json:
    brackets = [
        {
            "bracket": b.number,
            "initialLeverage": b.initial_leverage,
            "notionalCap": int(b.cap),
            "notionalFloor": int(b.floor),
            "maintMarginRatio": b.maint_rate,
            "cum": b.cum,
        }
        for b in account.table(contract.symbol).brackets
    ]
    return {"symbol": contract.id, "brackets": brackets}


def symbol_config(contract: Contract, account: BracketedAccount) -> Json:
    """GET /fapi/v1/symbolConfig row."""
    mode = "ISOLATED" if account.margin_mode(contract.symbol) == "isolated" else "CROSSED"
    return {
        "symbol": contract.id,
        "marginType": mode,
        "isAutoAddMargin": "false",
        "leverage": account.leverage_of(contract.symbol),
        "maxNotionalValue": _number(account.max_notional(contract.symbol)),
    }
