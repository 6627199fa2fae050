"""Binance's universal transfer between the spot/funding wallets and the futures wallets. Pure.

    POST /sapi/v1/asset/transfer  type=MAIN_UMFUTURE&asset=USDT&amount=5000  -> {"tranId": 100000001}
    GET  /sapi/v1/asset/transfer  type=MAIN_UMFUTURE[&startTime&endTime&current&size]
                                  -> {"total": n, "rows": [{asset, amount, type, status, tranId, timestamp}]}

What ccxt `binance.transfer(code, amount, 'spot', 'swap')` and `fetch_transfers(code, since, limit,
{'fromAccount': 'spot', 'toAccount': 'swap'})` send. Binance's universal transfer has no client-chosen id: a
client that does not know whether its request was executed (a timeout, a crash) finds out from the history,
listed newest first as Binance does. Types served: MAIN_UMFUTURE, UMFUTURE_MAIN, FUNDING_UMFUTURE,
UMFUTURE_FUNDING (stablecoins, the USDⓈ-M wallet) and the COIN-M ones, MAIN_CMFUTURE, CMFUTURE_MAIN,
FUNDING_CMFUTURE, CMFUTURE_FUNDING (a coin, the COIN-M wallet of that coin: `TransferDesk.coin_engines`, what
ccxt `binancecoinm.transfer(code, amount, 'spot', 'inverse')` sends). A transfer out of a futures wallet may take
no more than its available balance. The handlers are in `rest_transfers.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from bot.exchange_sim import errors
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.orders import int_param
from bot.exchange_sim.wallets import InsufficientBalance, Wallet, Wallets

Params = Mapping[str, str]
Answer = dict[str, Any]

FUTURES: Final = "UMFUTURE"
COIN_FUTURES: Final = "CMFUTURE"
_FIRST_TRAN_ID: Final = 100_000_001
_PAGE_DEFAULT, _PAGE_MAX = 10, 100  # Binance's `size`


@dataclass(frozen=True, slots=True)
class TransferRecord:
    tran_id: int
    type: str  # FROM_TO, like MAIN_UMFUTURE
    asset: str
    amount: Decimal
    ts: int  # market time

    def row(self) -> Answer:
        return {"asset": self.asset, "amount": _text(self.amount), "type": self.type, "status": "CONFIRMED",
                "tranId": self.tran_id, "timestamp": self.ts}  # fmt: skip


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def insufficient_balance() -> BinanceError:
    return errors.bad_request(-5013, "Asset transfer failed: insufficient balance")


class FuturesWallet:
    """What a transfer needs of the futures account: its currency, what may leave it, and moving the balance."""

    def __init__(self, account: Any) -> None:  # a SimulatedAccount (bot/venues/simulation), typed loosely: duck
        self._account = account

    @property
    def currency(self) -> str:
        return str(self._account.currency)

    def credit(self, amount: Decimal) -> None:
        # the deposited collateral is the base of the wallet balance (wallet = collateral + realized − fees + ...)
        self._account.collateral += float(amount)

    def debit(self, amount: Decimal) -> None:
        if float(amount) > self._account.available_balance:
            raise insufficient_balance()
        self._account.collateral -= float(amount)


class TransferDesk:
    """The account's wallets (spot, funding) and its transfer history with the futures wallet."""

    def __init__(self, wallets: Wallets) -> None:
        self.wallets = wallets
        self.history: list[TransferRecord] = []
        self._next_id = _FIRST_TRAN_ID
        # coin -> that coin's COIN-M engine (a CoinmExchange, typed loosely: its `account` is the wallet moved)
        self.coin_engines: Mapping[str, Any] = {}

    def futures_engine(self, kind: str, asset: str, usdm: Any) -> Any:
        """The engine whose futures wallet a transfer of `kind` moves: `usdm`'s, or `asset`'s COIN-M one."""
        if COIN_FUTURES not in _sides(kind):
            return usdm
        engine = self.coin_engines.get(asset.upper())
        if engine is None:
            raise errors.bad_request(-5013, f"Asset transfer failed: no COIN-M wallet holds {asset}")
        return engine

    def transfer(self, futures: FuturesWallet, kind: str, asset: str, amount: Decimal, ts: int) -> TransferRecord:
        source, target = _sides(kind)
        if asset.upper() != futures.currency:
            raise errors.bad_request(-5013, f"Asset transfer failed: {asset} is not the futures wallet's asset")
        if source in (FUTURES, COIN_FUTURES):
            futures.debit(amount)
            self.wallets.credit(_wallet(target), asset, amount)
        else:
            try:
                self.wallets.debit(_wallet(source), asset, amount)
            except InsufficientBalance:
                raise insufficient_balance() from None
            futures.credit(amount)
        record = TransferRecord(self._next_id, kind, asset.upper(), amount, ts)
        self._next_id += 1
        self.history.append(record)
        return record

    def listed(self, params: Params) -> Answer:
        kind = params.get("type", "")
        if not kind:
            raise errors.missing_parameter("type")
        _sides(kind)
        start, end = int_param(params, "startTime"), int_param(params, "endTime")
        page = int_param(params, "current", 1) or 1
        size = int_param(params, "size", _PAGE_DEFAULT, _PAGE_MAX) or _PAGE_DEFAULT
        rows = [
            r
            for r in reversed(self.history)  # newest first
            if r.type == kind and (start is None or r.ts >= start) and (end is None or r.ts <= end)
        ]
        chosen = rows[(page - 1) * size : page * size]
        return {"total": len(rows), "rows": [r.row() for r in chosen]} if rows else {"total": 0}


_TYPES: Final = frozenset({"MAIN_UMFUTURE", "UMFUTURE_MAIN", "FUNDING_UMFUTURE", "UMFUTURE_FUNDING",
                           "MAIN_CMFUTURE", "CMFUTURE_MAIN", "FUNDING_CMFUTURE", "CMFUTURE_FUNDING"})  # fmt: skip


def _sides(kind: str) -> tuple[str, str]:
    if kind not in _TYPES:
        raise errors.bad_parameter("type")
    source, target = kind.split("_")
    return source, target


def _wallet(name: str) -> Wallet:
    return "MAIN" if name == "MAIN" else "FUNDING"


def parse_amount(params: Params) -> Decimal:
    text = params.get("amount", "")
    if not text:
        raise errors.missing_parameter("amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise errors.bad_parameter("amount") from None
    if not (amount.is_finite() and amount > 0):
        raise errors.bad_parameter("amount")
    return amount


def required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise errors.missing_parameter(name)
    return value
