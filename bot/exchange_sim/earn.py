"""The simulated account's Binance Simple Earn positions, and their two position endpoints. Pure.

    earn = EarnPositions()
    earn.subscribe(wallets, "flexible", "SOL", Decimal("20"))   # from the spot wallet, as Binance's subscribe
    earn.credit("locked", "SOL", Decimal("5"))                  # a position a test (or a reward) adds
    earn.redeem(wallets, "flexible", "SOL", Decimal("20"))      # back to the spot wallet

GET /sapi/v1/simple-earn/flexible/position and .../locked/position (signed; `asset`, `current` from 1, `size`
up to 100) list them as Binance does: `{"rows": [...], "total": n}`, a flexible row's balance in
`totalAmount`, a locked row's in `amount`. One position per asset and kind (Binance adds a subscription to
the asset's flexible product; several locked terms would be several rows: one is enough for a client).
Subscribing and redeeming move the coin from and to the spot wallet, so the spot user stream tells them.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from bot.exchange_sim import errors
from bot.exchange_sim.orders import int_param
from bot.exchange_sim.wallets import Wallets

Kind = Literal["flexible", "locked"]
_PLACES = Decimal("0.00000001")
_MAX_PAGE = 100


class EarnPositions:
    """Simple Earn balances by kind and asset (see the module docstring)."""

    def __init__(self) -> None:
        self._held: dict[Kind, dict[str, Decimal]] = {"flexible": {}, "locked": {}}

    def held(self, kind: Kind) -> dict[str, Decimal]:
        return {asset: qty for asset, qty in self._held[kind].items() if qty}

    def credit(self, kind: Kind, asset: str, qty: Decimal | float | str) -> None:
        amount = _positive(qty)
        key = asset.upper()
        self._held[kind][key] = self._held[kind].get(key, Decimal(0)) + amount

    def debit(self, kind: Kind, asset: str, qty: Decimal | float | str) -> None:
        amount, key = _positive(qty), asset.upper()
        held = self._held[kind].get(key, Decimal(0))
        if amount > held:
            raise ValueError(f"{kind} earn holds {held} {key}, cannot redeem {amount}")
        self._held[kind][key] = held - amount

    def subscribe(self, wallets: Wallets, kind: Kind, asset: str, qty: Decimal | float | str) -> None:
        """Move `qty` from the spot wallet into a position (wallets.InsufficientBalance, nothing moved, when
        short)."""
        wallets.debit("MAIN", asset, qty)
        self.credit(kind, asset, qty)

    def redeem(self, wallets: Wallets, kind: Kind, asset: str, qty: Decimal | float | str) -> None:
        self.debit(kind, asset, qty)
        wallets.credit("MAIN", asset, qty)


def _positive(qty: Decimal | float | str) -> Decimal:
    amount = Decimal(str(qty)).quantize(_PLACES)
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {qty!r}: expected a positive finite number")
    return amount


def _amount(value: Decimal) -> str:
    return f"{value:.8f}"


def _listing(held: dict[str, Decimal], params: Mapping[str, str], row: Any) -> dict[str, Any]:
    wanted = params.get("asset", "").upper()
    current = int_param(params, "current", 1) or 1
    size = int_param(params, "size", 10) or 10
    if current < 1 or not 1 <= size <= _MAX_PAGE:
        raise errors.bad_parameter("current" if current < 1 else "size")
    rows = [row(asset, qty) for asset, qty in sorted(held.items()) if not wanted or asset == wanted]
    return {"rows": rows[(current - 1) * size : current * size], "total": len(rows)}


def flexible_rows(earn: EarnPositions, params: Mapping[str, str]) -> dict[str, Any]:
    def row(asset: str, qty: Decimal) -> dict[str, Any]:
        return {"totalAmount": _amount(qty), "tierAnnualPercentageRate": {}, "latestAnnualPercentageRate": "0.01",
                "asset": asset, "canRedeem": True, "collateralAmount": "0", "productId": f"{asset}001",
                "yesterdayRealTimeRewards": "0", "cumulativeBonusRewards": "0", "cumulativeRealTimeRewards": "0",
                "cumulativeTotalRewards": "0", "autoSubscribe": False}  # fmt: skip

    return _listing(earn.held("flexible"), params, row)


def locked_rows(earn: EarnPositions, params: Mapping[str, str]) -> dict[str, Any]:
    def row(asset: str, qty: Decimal) -> dict[str, Any]:
        return {"positionId": zlib.crc32(asset.encode()), "projectId": f"{asset}*90", "asset": asset,
                "amount": _amount(qty), "purchaseTime": "0", "duration": "90", "accrualDays": "0",
                "rewardAsset": asset, "APY": "0.05", "isRenewable": False, "isAutoRenew": False,
                "redeemDate": "0", "status": "HOLDING", "canRedeemEarly": False, "type": "NORMAL"}  # fmt: skip

    return _listing(earn.held("locked"), params, row)
