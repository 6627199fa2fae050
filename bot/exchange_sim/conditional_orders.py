"""Conditional orders, as Binance serves them since December 2025: its Algo Order API. Pure.

`POST /fapi/v1/algoOrder` (algoType CONDITIONAL) places a STOP_MARKET or TAKE_PROFIT_MARKET order that waits,
outside the order book, for its trigger: the mark price (`workingType=MARK_PRICE`) or the contract's last
trade price (`CONTRACT_PRICE`, the default) reaching `triggerPrice` — upwards for a BUY stop or a SELL
take-profit, downwards for a SELL stop or a BUY take-profit. Then it sends a MARKET order to the matching
engine (reduce-only with `closePosition=true`, for the whole position at that moment). Binance now refuses
these types on `/fapi/v1/order` (-4120). The limit variants (STOP, TAKE_PROFIT) and TRAILING_STOP_MARKET are
not implemented and refused as an invalid order type.

Algo statuses: NEW (waiting), CANCELED, TRIGGERED → FINISHED (the market order placed and done), REJECTED (the
matching engine refused it, e.g. margin), EXPIRED (closePosition with nothing left to close).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import Side
from bot.exchange_sim import errors
from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.orders import contract_of, flag_param, number_param, on_step
from bot.exchange_sim.payloads import Json, px, qty
from bot.exchange_sim.records import SimOrder

CONDITIONAL_TYPES = frozenset({"STOP_MARKET", "TAKE_PROFIT_MARKET"})
_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_FIRST_ALGO_ID = 3_000_001


@dataclass(slots=True)
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    contract: Contract
    side: Side
    order_type: str  # STOP_MARKET | TAKE_PROFIT_MARKET
    qty: float  # 0 with closePosition
    trigger_price: float
    working_type: str  # MARK_PRICE | CONTRACT_PRICE
    close_position: bool
    reduce_only: bool
    price_protect: bool
    create_ms: int
    update_ms: int
    status: str = "NEW"
    trigger_ms: int = 0
    actual_order_id: int | None = None
    executed_qty: float = 0.0
    avg_price: float = 0.0

    @property
    def rising(self) -> bool:
        """Whether it triggers on a rise (a BUY stop, a SELL take-profit) rather than a fall."""
        return (self.order_type == "STOP_MARKET") == (self.side is Side.BUY)

    def triggered_at(self, price: float) -> bool:
        return price >= self.trigger_price if self.rising else price <= self.trigger_price


def _positive(params: Mapping[str, str], name: str) -> float:
    value = number_param(params, name)
    if not value > 0:
        raise errors.bad_parameter(name)
    return value


class ConditionalOrders:
    def __init__(self, catalog: Catalog, first_id: int = _FIRST_ALGO_ID) -> None:
        self.catalog = catalog
        self._orders: dict[int, AlgoOrder] = {}
        self._next_id = first_id  # COIN-M's engines each number from their own (coinm.py): ids stay unique

    # ---- requests ---------------------------------------------------------------------------------

    def place(
        self, params: Mapping[str, str], now_ms: int, price_now: Callable[[Contract, str], float | None]
    ) -> AlgoOrder:
        if params.get("algoType", "") != "CONDITIONAL":
            raise (errors.missing_parameter("algoType") if not params.get("algoType")
                   else errors.bad_request(-1130, "Data sent for parameter 'algoType' is not valid."))  # fmt: skip
        contract = contract_of(params, self.catalog)
        assert contract is not None
        side_text, order_type = params.get("side", ""), params.get("type", "")
        if side_text not in ("BUY", "SELL"):
            raise errors.missing_parameter("side") if not side_text else errors.bad_request(-1117, "Invalid side.")
        if order_type not in CONDITIONAL_TYPES:
            raise (
                errors.missing_parameter("type") if not order_type else errors.bad_request(-1116, "Invalid orderType.")
            )
        if params.get("positionSide", "BOTH") != "BOTH":
            raise errors.bad_request(-4061, "Order's position side does not match user's setting.")
        working_type = params.get("workingType", "CONTRACT_PRICE")
        if working_type not in ("MARK_PRICE", "CONTRACT_PRICE"):
            raise errors.bad_request(-1130, "Data sent for parameter 'workingType' is not valid.")
        close_position, reduce_only = flag_param(params, "closePosition"), flag_param(params, "reduceOnly")
        if close_position and params.get("quantity"):
            raise errors.bad_request(-1106, "Parameter 'quantity' sent when not required.")
        if close_position and reduce_only:
            raise errors.bad_request(-1106, "Parameter 'reduceOnly' sent when not required.")
        size = 0.0 if close_position else _positive(params, "quantity")
        if size and not on_step(size, contract.instrument.lot_step):
            raise errors.precision_over_maximum()
        trigger = _positive(params, "triggerPrice")
        if not on_step(trigger, contract.instrument.tick_size):
            raise errors.price_filter_failure()
        client_id = params.get("clientAlgoId") or f"sim-algo-{self._next_id}"
        if not _CLIENT_ID.match(client_id):
            raise errors.bad_parameter("clientAlgoId")
        if any(o.client_algo_id == client_id and o.status == "NEW" for o in self._orders.values()):
            raise errors.duplicate_client_order_id()
        side = Side.BUY if side_text == "BUY" else Side.SELL
        order = AlgoOrder(self._next_id, client_id, contract, side, order_type, size, trigger, working_type,
                          close_position, reduce_only, flag_param(params, "priceProtect"), now_ms, now_ms)  # fmt: skip
        current = price_now(contract, working_type)
        if current is None:
            raise errors.no_price_yet()
        if order.triggered_at(current):
            raise errors.would_trigger_immediately()
        self._next_id += 1
        self._orders[order.algo_id] = order
        return order

    def find(self, params: Mapping[str, str]) -> AlgoOrder:
        algo_id, client_id = params.get("algoId", ""), params.get("clientAlgoId") or None
        if not algo_id and client_id is None:
            raise errors.bad_request(-1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty!")
        if algo_id and not algo_id.isdigit():
            raise errors.bad_parameter("algoId")
        if algo_id:
            found = self._orders.get(int(algo_id))
        else:
            found = next((o for o in reversed(self._orders.values()) if o.client_algo_id == client_id), None)
        if found is None:
            raise errors.bad_request(-2013, "Order does not exist.")
        return found

    def cancel(self, params: Mapping[str, str], now_ms: int) -> AlgoOrder:
        try:
            order = self.find(params)
        except BinanceError:
            raise errors.unknown_order_on_cancel() from None
        if order.status != "NEW":
            raise errors.unknown_order_on_cancel()
        order.status, order.update_ms = "CANCELED", now_ms
        return order

    def cancel_symbol(self, contract: Contract, now_ms: int) -> list[AlgoOrder]:
        gone = self.open(contract)
        for order in gone:
            order.status, order.update_ms = "CANCELED", now_ms
        return gone

    def open(self, contract: Contract | None = None) -> list[AlgoOrder]:
        return [o for o in self._orders.values() if o.status == "NEW" and (contract is None or o.contract is contract)]

    def all(self, contract: Contract | None = None) -> list[AlgoOrder]:
        return [o for o in self._orders.values() if contract is None or o.contract is contract]

    # ---- triggering -------------------------------------------------------------------------------

    def due(
        self, contract: Contract, price_now: Callable[[Contract, str], float | None], now_ms: int
    ) -> list[AlgoOrder]:
        """The open orders of `contract` whose trigger the prices now reach, marked TRIGGERED."""
        fired = []
        for order in self.open(contract):
            price = price_now(contract, order.working_type)
            if price is not None and order.triggered_at(price):
                order.status, order.trigger_ms, order.update_ms = "TRIGGERED", now_ms, now_ms
                fired.append(order)
        return fired

    def fire(
        self,
        contract: Contract,
        now_ms: int,
        price_now: Callable[[Contract, str], float | None],
        position_qty: float,
        place: Callable[[dict[str, str]], SimOrder],
    ) -> list[Json]:
        """Send the market order of each order the prices now trigger; the ALGO_UPDATE events it caused."""
        events = []
        for algo in self.due(contract, price_now, now_ms):
            events.append(algo_update(algo, now_ms))
            size = abs(position_qty) if algo.close_position else algo.qty
            if algo.close_position and (position_qty == 0 or (position_qty > 0) == (algo.side is Side.BUY)):
                algo.status = "EXPIRED"  # nothing left on the side it was to close
            else:
                params = {"symbol": contract.id, "side": algo.side.value.upper(), "type": "MARKET",
                          "quantity": qty(contract, size), "newClientOrderId": algo.client_algo_id}  # fmt: skip
                if algo.close_position or algo.reduce_only:
                    params["reduceOnly"] = "true"
                try:
                    order = place(params)
                except BinanceError:
                    algo.status = "REJECTED"
                else:
                    algo.status, algo.actual_order_id = "FINISHED", order.order_id
                    algo.executed_qty, algo.avg_price = order.executed_qty, order.avg_price
            events.append(algo_update(algo, now_ms))
        return events


# ---- payloads ---------------------------------------------------------------------------------------


def algo_payload(o: AlgoOrder) -> Json:
    c = o.contract
    return {
        "algoId": o.algo_id, "clientAlgoId": o.client_algo_id, "algoType": "CONDITIONAL", "orderType": o.order_type,
        "symbol": c.id, "side": o.side.value.upper(), "positionSide": "BOTH", "timeInForce": "GTC",
        "quantity": qty(c, o.qty), "algoStatus": o.status, "triggerPrice": px(c, o.trigger_price),
        "price": px(c, 0.0), "icebergQuantity": None, "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": o.working_type, "priceMatch": "NONE", "closePosition": o.close_position,
        "priceProtect": o.price_protect, "reduceOnly": o.reduce_only, "createTime": o.create_ms,
        "updateTime": o.update_ms, "triggerTime": o.trigger_ms, "goodTillDate": 0,
        "actualOrderId": str(o.actual_order_id) if o.actual_order_id is not None else "",
        "executedQty": qty(c, o.executed_qty), "actualPrice": px(c, o.avg_price),
    }  # fmt: skip


def algo_update(o: AlgoOrder, now_ms: int) -> Json:
    """The user stream's ALGO_UPDATE event."""
    c = o.contract
    body: dict[str, Any] = {
        "caid": o.client_algo_id, "aid": o.algo_id, "at": "CONDITIONAL", "o": o.order_type, "s": c.id,
        "S": o.side.value.upper(), "ps": "BOTH", "f": "GTC", "q": qty(c, o.qty), "X": o.status,
        "ai": str(o.actual_order_id) if o.actual_order_id is not None else "", "ap": px(c, o.avg_price),
        "aq": qty(c, o.executed_qty), "act": "0", "tp": px(c, o.trigger_price), "p": px(c, 0.0), "V": "EXPIRE_MAKER",
        "wt": o.working_type, "pm": "NONE", "cp": o.close_position, "pP": o.price_protect, "R": o.reduce_only,
        "tt": o.trigger_ms, "gtd": 0,
    }  # fmt: skip
    return {"e": "ALGO_UPDATE", "T": now_ms, "E": now_ms, "o": body}
