"""The REST endpoints of the simulator: route table, authentication level, and the order handlers. Pure handlers.

Each handler takes the request's params and returns the JSON answer (or raises `BinanceError`); the HTTP
plumbing (faults, signing, serialising, publishing) lives in `server.py`, market data in `rest_market.py`,
the account in `rest_account.py`.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.exchange_sim import errors, payloads, spot_rest
from bot.exchange_sim import rest_account as account
from bot.exchange_sim import rest_market as market
from bot.exchange_sim import rest_transfers as transfers
from bot.exchange_sim.conditional_orders import algo_payload
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.orders import contract_of, int_param

Params = Mapping[str, str]
Answer = dict[str, Any] | list[Any]
_MAX_BATCH = 5  # Binance's limit of orders per batchOrders request


class Security(enum.Enum):
    NONE = "none"
    API_KEY = "api_key"  # the key header only (listenKey endpoints)
    SIGNED = "signed"


@dataclass(frozen=True, slots=True)
class Route:
    security: Security
    handler: Callable[[SimExchange, Params], Answer]


def _new_order(ex: SimExchange, params: Params) -> Answer:
    # Binance's default newOrderRespType is ACK: the order as accepted (NEW, nothing executed), even for a
    # MARKET order that filled at once; RESULT answers its state after execution.
    response_type = params.get("newOrderRespType", "ACK")
    if response_type not in ("ACK", "RESULT"):
        raise errors.bad_request(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
    order, acknowledged = ex.place(params)
    return payloads.order(order) if response_type == "RESULT" else acknowledged


def _test_order(ex: SimExchange, params: Params) -> Answer:
    """POST /fapi/v1/order/test: checked as an order would be, placed nowhere."""
    ex.check_order(params)
    return {}


def _force_orders(ex: SimExchange, params: Params) -> Answer:
    """The account's liquidation orders (the exchange's autoclose orders)."""
    contract = contract_of(params, ex.catalog, required=False)
    forced = [o for o in ex.orders(contract) if o.orig_type == "LIQUIDATION"]
    return [payloads.order(o) for o in _window(params, forced, lambda o: o.time_ms, 50, 100)]


def _amend_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.amend_order(params))


def _cancel_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.cancel_order(params))


def _query_order(ex: SimExchange, params: Params) -> Answer:
    return payloads.order(ex.query_order(params))


def _open_order(ex: SimExchange, params: Params) -> Answer:
    order = ex.query_order(params)
    if not order.is_open:
        raise errors.bad_request(-2013, "Order does not exist.")
    return payloads.order(order)


def _cancel_all(ex: SimExchange, params: Params) -> Answer:
    ex.cancel_all(params)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _open_orders(ex: SimExchange, params: Params) -> Answer:
    return [payloads.order(o) for o in ex.orders(contract_of(params, ex.catalog, required=False), open_only=True)]


def json_list(params: Params, name: str) -> list[Any]:
    """A batch parameter: a non-empty JSON list of at most five items (also the COIN-M batch's check)."""
    try:
        value = json.loads(params.get(name, ""))
    except ValueError:
        value = None
    if not isinstance(value, list) or not value:
        raise errors.bad_request(-1130, f"Data sent for parameter '{name}' is not valid.")
    if len(value) > _MAX_BATCH:
        raise errors.bad_request(-1130, f"Data sent for parameter '{name}' is not valid: at most {_MAX_BATCH}.")
    return value


def _each(action: Callable[[], Answer]) -> Answer:
    """One item of a batch: its answer, or its error in place (the batch goes on)."""
    try:
        return action()
    except BinanceError as error:
        return error.body()


def _batch_new(ex: SimExchange, params: Params) -> Answer:
    answers: list[Any] = []
    for item in json_list(params, "batchOrders"):
        if not isinstance(item, dict):
            answers.append(errors.bad_request(-1130, "Data sent for parameter 'batchOrders' is not valid.").body())
            continue
        fields = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in item.items()}
        answers.append(_each(functools.partial(_new_order, ex, fields)))
    return answers


def _batch_cancel(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    # python-binance sends these two names in lower case, and Binance takes them so
    by_id = next((n for n in ("orderIdList", "orderidlist") if params.get(n)), None)
    by_client = next((n for n in ("origClientOrderIdList", "origclientorderidlist") if params.get(n)), None)
    if by_id is not None:
        refs = [{"orderId": str(i)} for i in json_list(params, by_id)]
    else:
        refs = [{"origClientOrderId": str(i)} for i in json_list(params, by_client or "origClientOrderIdList")]
    return [_each(functools.partial(_cancel_order, ex, {"symbol": contract.id, **ref})) for ref in refs]


def _new_algo(ex: SimExchange, params: Params) -> Answer:
    algo = ex.algos.place(params, ex.now_ms, ex.trigger_price)
    ex.report_algo(algo)
    return algo_payload(algo)


def _cancel_algo(ex: SimExchange, params: Params) -> Answer:
    algo = ex.algos.cancel(params, ex.now_ms)
    ex.report_algo(algo)
    return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200", "msg": "success"}


def _query_algo(ex: SimExchange, params: Params) -> Answer:
    return algo_payload(ex.algos.find(params))


def _open_algos(ex: SimExchange, params: Params) -> Answer:
    return [algo_payload(a) for a in ex.algos.open(contract_of(params, ex.catalog, required=False))]


def _all_algos(ex: SimExchange, params: Params) -> Answer:
    algos = ex.algos.all(contract_of(params, ex.catalog))
    return [algo_payload(a) for a in _window(params, algos, lambda a: a.create_ms, 500, 1000)]


def _cancel_all_algos(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    for algo in ex.algos.cancel_symbol(contract, ex.now_ms):
        ex.report_algo(algo)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _window(params: Params, rows: list[Any], ts: Callable[[Any], int], default_limit: int, max_limit: int) -> list[Any]:
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit", default_limit, max_limit) or default_limit
    chosen = [r for r in rows if (start is None or ts(r) >= start) and (end is None or ts(r) <= end)]
    return chosen[:limit] if start is not None else chosen[-limit:]


def _all_orders(ex: SimExchange, params: Params) -> Answer:
    from_id = int_param(params, "orderId")
    orders = [o for o in ex.orders(contract_of(params, ex.catalog)) if from_id is None or o.order_id >= from_id]
    return [payloads.order(o) for o in _window(params, orders, lambda o: o.time_ms, 500, 1000)]


def _user_trades(ex: SimExchange, params: Params) -> Answer:
    from_id = int_param(params, "fromId")
    contract = contract_of(params, ex.catalog, required=False)
    trades = [t for t in ex.trades(contract) if from_id is None or t.trade_id >= from_id]
    return [payloads.trade(t) for t in _window(params, trades, lambda t: t.time_ms, 500, 1000)]


def _empty(ex: SimExchange, params: Params) -> Answer:
    return {}


_PUBLIC, _SIGNED = Security.NONE, Security.SIGNED

ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/fapi/v1/ping"): Route(_PUBLIC, _empty),
    ("GET", "/fapi/v1/ticker/24hr"): Route(_PUBLIC, market.ticker_24h),
    ("GET", "/fapi/v1/ticker/price"): Route(_PUBLIC, market.ticker_price),
    ("GET", "/fapi/v2/ticker/price"): Route(_PUBLIC, market.ticker_price),
    ("GET", "/fapi/v1/ticker/bookTicker"): Route(_PUBLIC, market.book_ticker),
    ("GET", "/fapi/v1/premiumIndex"): Route(_PUBLIC, market.premium_index),
    ("GET", "/fapi/v1/depth"): Route(_PUBLIC, market.depth),
    ("GET", "/fapi/v1/trades"): Route(_PUBLIC, market.trades),
    ("GET", "/fapi/v1/historicalTrades"): Route(Security.API_KEY, market.historical_trades),
    ("GET", "/fapi/v1/aggTrades"): Route(_PUBLIC, market.agg_trades),
    ("GET", "/fapi/v1/klines"): Route(_PUBLIC, market.klines),
    ("GET", "/fapi/v1/continuousKlines"): Route(_PUBLIC, market.continuous_klines),
    ("GET", "/fapi/v1/markPriceKlines"): Route(_PUBLIC, market.price_klines),
    ("GET", "/fapi/v1/indexPriceKlines"): Route(_PUBLIC, market.price_klines),
    ("GET", "/fapi/v1/premiumIndexKlines"): Route(_PUBLIC, market.premium_klines),
    ("GET", "/fapi/v1/fundingRate"): Route(_PUBLIC, market.funding_rate),
    ("GET", "/fapi/v1/fundingInfo"): Route(_PUBLIC, market.funding_info),
    ("GET", "/fapi/v1/openInterest"): Route(_PUBLIC, market.open_interest),
    ("POST", "/fapi/v1/order"): Route(_SIGNED, _new_order),
    ("POST", "/fapi/v1/order/test"): Route(_SIGNED, _test_order),
    ("PUT", "/fapi/v1/order"): Route(_SIGNED, _amend_order),
    ("GET", "/fapi/v1/forceOrders"): Route(_SIGNED, _force_orders),
    ("GET", "/fapi/v1/order"): Route(_SIGNED, _query_order),
    ("DELETE", "/fapi/v1/order"): Route(_SIGNED, _cancel_order),
    ("POST", "/fapi/v1/batchOrders"): Route(_SIGNED, _batch_new),
    ("DELETE", "/fapi/v1/batchOrders"): Route(_SIGNED, _batch_cancel),
    ("GET", "/fapi/v1/openOrder"): Route(_SIGNED, _open_order),
    ("POST", "/fapi/v1/algoOrder"): Route(_SIGNED, _new_algo),
    ("GET", "/fapi/v1/algoOrder"): Route(_SIGNED, _query_algo),
    ("DELETE", "/fapi/v1/algoOrder"): Route(_SIGNED, _cancel_algo),
    ("GET", "/fapi/v1/openAlgoOrders"): Route(_SIGNED, _open_algos),
    ("GET", "/fapi/v1/allAlgoOrders"): Route(_SIGNED, _all_algos),
    ("DELETE", "/fapi/v1/algoOpenOrders"): Route(_SIGNED, _cancel_all_algos),
    ("DELETE", "/fapi/v1/allOpenOrders"): Route(_SIGNED, _cancel_all),
    ("GET", "/fapi/v1/openOrders"): Route(_SIGNED, _open_orders),
    ("GET", "/fapi/v1/allOrders"): Route(_SIGNED, _all_orders),
    ("GET", "/fapi/v1/userTrades"): Route(_SIGNED, _user_trades),
    ("GET", "/fapi/v1/income"): Route(_SIGNED, account.income),
    ("GET", "/fapi/v2/account"): Route(_SIGNED, account.account_v2),
    ("GET", "/fapi/v3/account"): Route(_SIGNED, account.account_v3),
    ("GET", "/fapi/v2/balance"): Route(_SIGNED, account.balance),
    ("GET", "/fapi/v3/balance"): Route(_SIGNED, account.balance),
    ("GET", "/fapi/v2/positionRisk"): Route(_SIGNED, account.position_risk_v2),
    ("GET", "/fapi/v3/positionRisk"): Route(_SIGNED, account.position_risk_v3),
    ("GET", "/fapi/v1/leverageBracket"): Route(_SIGNED, account.leverage_bracket),
    ("GET", "/fapi/v1/symbolConfig"): Route(_SIGNED, account.symbol_config),
    ("GET", "/fapi/v1/accountConfig"): Route(_SIGNED, account.account_config),
    ("POST", "/fapi/v1/leverage"): Route(_SIGNED, account.set_leverage),
    ("POST", "/fapi/v1/marginType"): Route(_SIGNED, account.set_margin_type),
    ("POST", "/fapi/v1/positionMargin"): Route(_SIGNED, account.position_margin),
    ("GET", "/fapi/v1/positionSide/dual"): Route(_SIGNED, account.position_mode),
    ("GET", "/fapi/v1/multiAssetsMargin"): Route(_SIGNED, account.multi_assets_margin),
    ("GET", "/fapi/v1/commissionRate"): Route(_SIGNED, account.commission_rate),
    ("POST", "/sapi/v1/asset/transfer"): Route(_SIGNED, transfers.post_transfer),
    ("GET", "/sapi/v1/asset/transfer"): Route(_SIGNED, transfers.get_transfers),
    ("POST", "/sapi/v1/asset/get-funding-asset"): Route(_SIGNED, spot_rest.funding_assets),  # the funding wallet
    ("GET", "/sapi/v1/simple-earn/flexible/position"): Route(_SIGNED, spot_rest.earn_flexible),  # earn.py
    ("GET", "/sapi/v1/simple-earn/locked/position"): Route(_SIGNED, spot_rest.earn_locked),
}
