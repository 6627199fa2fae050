"""Reading and checking Binance order requests: params in, a checked `OrderSpec` or a Binance error. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import Side
from bot.exchange_sim import errors
from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.payloads import MAX_QTY_STEPS
from bot.execution.market_rules import Problem, check_order

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")  # Binance's rule for newClientOrderId
_TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK", "GTX"})
_MOVED_TO_ALGO = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})


@dataclass(frozen=True, slots=True)
class OrderSpec:
    contract: Contract
    side: Side
    order_type: str  # LIMIT | MARKET
    time_in_force: str  # GTC for market orders (as Binance reports them)
    qty: float
    price: float  # 0.0 for market orders
    reduce_only: bool
    client_id: str | None  # None: the exchange names it

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty

    @property
    def post_only(self) -> bool:
        return self.time_in_force == "GTX"


def contract_of(params: Mapping[str, str], catalog: Catalog, *, required: bool = True) -> Contract | None:
    symbol_id = params.get("symbol", "")
    if not symbol_id:
        if required:
            raise errors.missing_parameter("symbol")
        return None
    contract = catalog.by_id(symbol_id)
    if contract is None:
        raise errors.invalid_symbol()
    return contract


def number_param(params: Mapping[str, str], name: str) -> float:
    """A required finite number, as Binance reads it: missing is -1102, not a number -1100 naming it."""
    text = params.get(name, "")
    if not text:
        raise errors.missing_parameter(name)
    try:
        value = float(text)
    except ValueError:
        raise errors.bad_parameter(name) from None
    if not math.isfinite(value):
        raise errors.bad_parameter(name)
    return value


def flag_param(params: Mapping[str, str], name: str) -> bool:
    """A boolean parameter as Binance reads it: 'true' or 'false' (any case), else -1130."""
    text = params.get(name, "false").lower()
    if text not in ("true", "false"):
        raise errors.bad_request(-1130, f"Data sent for parameter '{name}' is not valid.")
    return text == "true"


def parse_new_order(params: Mapping[str, str], catalog: Catalog) -> OrderSpec:
    """The order a POST /fapi/v1/order asks for; raises the error Binance gives for a malformed one."""
    contract = contract_of(params, catalog)
    assert contract is not None  # required=True raised otherwise
    side_text = params.get("side", "")
    if side_text not in ("BUY", "SELL"):
        raise (errors.missing_parameter("side") if not side_text else errors.bad_request(-1117, "Invalid side."))
    order_type = params.get("type", "")
    if order_type in _MOVED_TO_ALGO:  # Binance's Algo Order API takes these since December 2025
        raise errors.bad_request(-4120, "Order type not supported for this endpoint. Please use the Algo Order API "
                                        "endpoints instead.")  # fmt: skip
    if order_type not in ("LIMIT", "MARKET"):
        raise (errors.missing_parameter("type") if not order_type else errors.bad_request(-1116, "Invalid orderType."))
    if params.get("positionSide", "BOTH") != "BOTH":
        raise errors.bad_request(-4061, "Order's position side does not match user's setting.")
    client_id = params.get("newClientOrderId") or None
    if client_id is not None and not _CLIENT_ID.match(client_id):
        raise errors.bad_parameter("newClientOrderId")
    qty = number_param(params, "quantity")
    if not on_step(qty, contract.instrument.lot_step):
        raise errors.precision_over_maximum()  # Binance's -1111, before any filter is looked at
    price, tif = 0.0, "GTC"
    if order_type == "LIMIT":
        price = number_param(params, "price")
        tif = params.get("timeInForce", "")
        if not tif:
            raise errors.missing_parameter("timeInForce")
        if tif not in _TIME_IN_FORCE:
            raise errors.bad_request(-1115, "Invalid timeInForce.")
    side = Side.BUY if side_text == "BUY" else Side.SELL
    return OrderSpec(contract, side, order_type, tif, qty, price, flag_param(params, "reduceOnly"), client_id)


def on_step(value: float, step: float) -> bool:
    """Whether `value` is a whole number of `step`s (to float noise)."""
    steps = value / step
    return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))


def check_filters(spec: OrderSpec, reference_price: float) -> None:
    """LOT_SIZE, PRICE_FILTER and MIN_NOTIONAL as Binance checks them (the messages name the filter)."""
    if spec.qty > spec.contract.instrument.lot_step * MAX_QTY_STEPS:
        raise errors.lot_size_failure()
    is_limit = spec.order_type == "LIMIT"
    price = spec.price if is_limit else reference_price
    problem = check_order(spec.contract.instrument, spec.qty, price, spec.reduce_only, limit=is_limit)
    if problem is None:
        return
    if problem.problem is Problem.QUANTITY:
        raise errors.bad_request(-4003, "Quantity less than or equal to zero.")
    if problem.problem in (Problem.LOT_SIZE, Problem.MIN_QTY):
        raise errors.lot_size_failure()
    if problem.problem in (Problem.PRICE, Problem.TICK_SIZE):
        raise errors.price_filter_failure()
    raise errors.min_notional_failure(spec.contract.instrument.min_notional)


def check_reduce_only(spec: OrderSpec, position_qty: float) -> None:
    """A reduce-only order must be against the position and no larger than it."""
    if not spec.reduce_only:
        return
    if position_qty == 0 or position_qty * spec.signed_qty > 0 or spec.qty > abs(position_qty) + 1e-12:
        raise errors.reduce_only_rejected()


def order_ref(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) of a query/cancel; -1102 when neither was sent."""
    order_id_text = params.get("orderId", "")
    client_id = params.get("origClientOrderId") or None
    if not order_id_text and client_id is None:
        raise errors.bad_request(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty!")
    if order_id_text and not order_id_text.isdigit():
        raise errors.bad_parameter("orderId")
    return (int(order_id_text) if order_id_text else None), client_id


def int_param(
    params: Mapping[str, str], name: str, default: int | None = None, maximum: int | None = None
) -> int | None:
    text = params.get(name, "")
    if not text:
        return default
    if not text.lstrip("-").isdigit():
        raise errors.bad_parameter(name)
    value = int(text)
    return min(value, maximum) if maximum is not None else value
