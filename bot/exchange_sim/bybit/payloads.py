"""Bybit v5 JSON payloads built from the simulator's state (the same core as the Binance dialect). Pure.

Numbers are strings, as Bybit sends them; field names are the ones ccxt's `bybit` reads (instrument, ticker,
order, execution, position, wallet balance).
"""

from __future__ import annotations

from typing import Any

from bot.exchange_sim.bybit.ids import SIDE_NAME, STATUS, TIME_IN_FORCE, bybit_id, contract_type
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.margin import BracketedAccount
from bot.exchange_sim.payloads import MAX_QTY_STEPS, avg_px, money, px, qty
from bot.exchange_sim.records import SimOrder, SimTrade

Json = dict[str, Any]
LINEAR = "linear"


def _step(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


def instrument(ex: SimExchange, contract: Contract) -> Json:
    ins = contract.instrument
    state = ex.market.funding(contract)
    return {
        "symbol": bybit_id(contract),
        "contractType": contract_type(contract),
        "status": "Trading" if contract.delivery_ms > ex.now_ms else "Settling",
        "baseCoin": ins.base,
        "quoteCoin": ins.quote,
        "settleCoin": ins.settle,
        "launchTime": str(contract.onboard_ms),
        "deliveryTime": "0" if contract.is_perpetual else str(contract.delivery_ms),
        "deliveryFeeRate": "",
        "priceScale": str(contract.price_decimals),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": str(ex.account.table(contract.symbol).max_leverage),
            "leverageStep": "0.01",
        },
        "priceFilter": {"minPrice": _step(ins.tick_size), "maxPrice": "1999999.8", "tickSize": _step(ins.tick_size)},
        "lotSizeFilter": {
            "maxOrderQty": _step(ins.lot_step * MAX_QTY_STEPS),
            "maxMktOrderQty": _step(ins.lot_step * MAX_QTY_STEPS),
            "minOrderQty": _step(max(ins.min_qty, ins.lot_step)),
            "qtyStep": _step(ins.lot_step),
            "minNotionalValue": _step(ins.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": state.interval_ms // 60_000 if state is not None else 0,
        "copyTrading": "none",
        "isPreListing": False,
    }


def ticker(ex: SimExchange, contract: Contract) -> Json:
    market = ex.market
    mark = market.mark(contract) or 0.0
    top = market.top(contract)
    last = ex.public.tape(contract).last
    day = ex.public.tape(contract).window(ex.now_ms - 86_400_000, ex.now_ms)
    state = market.funding(contract)
    c = contract
    return {
        "symbol": bybit_id(c),
        "lastPrice": px(c, last.price if last else mark),
        "indexPrice": px(c, market.index(c) or mark),
        "markPrice": px(c, mark),
        "prevPrice24h": px(c, day[0].price if day else mark),
        "price24hPcnt": "0",
        "highPrice24h": px(c, max((t.price for t in day), default=mark)),
        "lowPrice24h": px(c, min((t.price for t in day), default=mark)),
        "prevPrice1h": px(c, mark),
        "openInterest": "0",
        "openInterestValue": "0",
        "turnover24h": money(sum(t.quote_qty for t in day)),
        "volume24h": qty(c, sum(t.qty for t in day)),
        "fundingRate": f"{state.rate:.8f}" if state is not None else "",
        "nextFundingTime": str(state.next_ts) if state is not None else "0",
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0" if c.is_perpetual else str(c.delivery_ms),
        "ask1Size": qty(c, top.ask_size) if top else "0",
        "bid1Price": px(c, top.bid) if top else "",
        "ask1Price": px(c, top.ask) if top else "",
        "bid1Size": qty(c, top.bid_size) if top else "0",
        "basis": "",
    }


def order(o: SimOrder, *, status: str | None = None, filled: float | None = None, avg: float | None = None) -> Json:
    """An order row (REST realtime/history, the `order` topic); `status`, `filled` and `avg` as of an event."""
    c = o.contract
    executed = o.executed_qty if filled is None else filled
    average = o.avg_price if avg is None else avg
    core_status = o.status if status is None else status
    bybit_status = STATUS.get(core_status, "New")
    if core_status in ("CANCELED", "EXPIRED") and executed > 0:
        bybit_status = "PartiallyFilledCanceled"
    leaves = 0.0 if core_status in ("FILLED", "CANCELED", "EXPIRED") else max(0.0, o.qty - executed)
    value = executed * average * c.instrument.contract_size
    return {
        "category": LINEAR,
        "orderId": str(o.order_id),
        "orderLinkId": o.client_id,
        "blockTradeId": "",
        "symbol": bybit_id(c),
        "price": px(c, o.price) if o.price else "0",
        "qty": qty(c, o.qty),
        "side": SIDE_NAME[o.side],
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": bybit_status,
        "cancelType": "UNKNOWN" if bybit_status not in ("Cancelled", "PartiallyFilledCanceled") else "CancelByUser",
        "rejectReason": "EC_NoError",
        "avgPrice": avg_px(c, average) if executed else "",
        "leavesQty": qty(c, leaves),
        "leavesValue": money(leaves * (o.price or average)),
        "cumExecQty": qty(c, executed),
        "cumExecValue": money(value),
        "cumExecFee": "0",
        "timeInForce": TIME_IN_FORCE.get(o.time_in_force, "GTC") if o.order_type == "LIMIT" else "IOC",
        "orderType": "Limit" if o.order_type == "LIMIT" else "Market",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": str(o.time_ms),
        "updatedTime": str(o.update_ms or o.time_ms),
    }


def execution(t: SimTrade, o: SimOrder | None) -> Json:
    """An execution row (GET /v5/execution/list, the `execution` topic), execType Trade."""
    c = t.contract
    return {
        "category": LINEAR,
        "symbol": bybit_id(c),
        "isLeverage": "",
        "orderId": str(t.order_id),
        "orderLinkId": t.client_id,
        "side": SIDE_NAME[t.side],
        "orderPrice": px(c, o.price) if o is not None and o.price else "0",
        "orderQty": qty(c, o.qty) if o is not None else qty(c, t.qty),
        "leavesQty": qty(c, o.remaining) if o is not None else "0",
        "createType": "CreateByUser",
        "orderType": ("Limit" if o.order_type == "LIMIT" else "Market") if o is not None else "Market",
        "stopOrderType": "",
        "execFee": money(t.commission),
        "execId": str(t.trade_id),
        "execPrice": px(c, t.price),
        "execQty": qty(c, t.qty),
        "execType": "Trade",
        "execValue": money(t.quote_qty),
        "execTime": str(t.time_ms),
        "feeCurrency": c.instrument.settle,
        "isMaker": t.maker,
        "feeRate": _step(t.commission / t.quote_qty) if t.quote_qty else "0",
        "tradeIv": "",
        "markIv": "",
        "markPrice": px(c, t.price),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "0",
        "seq": t.trade_id,
        "marketUnit": "",
    }


def funding_execution(contract: Contract, ts: int, amount: float, rate: float, mark: float, seq: int) -> Json:
    """A funding settlement as Bybit lists it among executions (execType Funding; execFee > 0 is paid), with the
    position's size and the mark it settled at (execQty, execPrice)."""
    c = contract
    per_contract = rate * mark * c.instrument.contract_size
    held = -amount / per_contract if per_contract else 0.0  # amount = −qty × size × mark × rate
    return {
        "category": LINEAR,
        "symbol": bybit_id(c),
        "orderId": f"funding-{seq}",
        "orderLinkId": "",
        "side": "Sell" if amount > 0 else "Buy",
        "execFee": money(-amount),
        "execId": f"funding-{seq}",
        "execPrice": px(c, mark),
        "execQty": qty(c, abs(held)),
        "execType": "Funding",
        "execValue": money(abs(held) * mark * c.instrument.contract_size),
        "execTime": str(ts),
        "feeRate": f"{rate:.8f}",
        "feeCurrency": c.instrument.settle,
        "isMaker": False,
        "markPrice": px(c, mark),
        "seq": seq,
    }


def position(account: BracketedAccount, contract: Contract, now_ms: int) -> Json:
    c, symbol = contract, contract.symbol
    held = account.position(symbol)
    mark = account.mark_price(symbol) or held.entry_price
    side = "Buy" if held.qty > 0 else "Sell" if held.qty < 0 else ""
    isolated = account.margin_mode(symbol) == "isolated"
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": money(account.max_notional(symbol)),
        "symbol": bybit_id(c),
        "side": side,
        "size": qty(c, abs(held.qty)),
        "avgPrice": px(c, held.entry_price) if held.qty else "0",
        "positionValue": money(abs(account.position_value(symbol))),
        "tradeMode": 1 if isolated else 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2 if held.qty else 0,
        "leverage": str(account.leverage_of(symbol)),
        "positionBalance": money(account.isolated_margin(symbol) if isolated else 0.0),
        "markPrice": px(c, mark),
        "liqPrice": px(c, account.liquidation_price(symbol) or 0.0) if held.qty else "",
        "bustPrice": "",
        "positionMM": money(account.position_maint_margin(symbol)),
        "positionIM": money(account.position_initial_margin(symbol)),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": money(account.unrealized_pnl(symbol)),
        "curRealisedPnl": "0",
        "cumRealisedPnl": "0",
        "seq": now_ms,
        "isReduceOnly": False,
        "createdTime": str(now_ms),
        "updatedTime": str(now_ms),
    }


def wallet(ex: SimExchange) -> Json:
    """The UNIFIED account's wallet: one coin, the settlement currency (USDT)."""
    account = ex.account
    reserved = ex.reserved_margin()
    wallet_balance, unrealized = account.wallet_balance, account.unrealized_pnl()
    equity = wallet_balance + unrealized
    initial = account.initial_margin + reserved
    maintenance = account.maintenance_margin
    available = max(0.0, account.available_balance - reserved)
    coin = {
        "coin": account.currency,
        "equity": money(equity),
        "usdValue": money(equity),
        "walletBalance": money(wallet_balance),
        "free": "",
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToWithdraw": money(available),
        "accruedInterest": "0",
        "totalOrderIM": money(reserved),
        "totalPositionIM": money(account.initial_margin),
        "totalPositionMM": money(maintenance),
        "unrealisedPnl": money(unrealized),
        "cumRealisedPnl": money(account.realized_pnl),
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
    }
    return {
        "accountType": "UNIFIED",
        "accountIMRate": f"{initial / equity:.4f}" if equity > 0 else "0",
        "accountMMRate": f"{maintenance / equity:.4f}" if equity > 0 else "0",
        "totalEquity": money(equity),
        "totalWalletBalance": money(wallet_balance),
        "totalMarginBalance": money(equity),
        "totalAvailableBalance": money(available),
        "totalPerpUPL": money(unrealized),
        "totalInitialMargin": money(initial),
        "totalMaintenanceMargin": money(maintenance),
        "accountLTV": "0",
        "coin": [coin],
    }
