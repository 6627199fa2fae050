"""Binance Simple Earn positions read as a wallet: what an account lending its coins still holds of them.

ccxt 4.5 has no `fetch_balance` type for Simple Earn (its 'savings' type calls the retired lending endpoint),
so the positions are read through its implicit API: `sapi_get_simple_earn_flexible_position` (GET
/sapi/v1/simple-earn/flexible/position) and `sapi_get_simple_earn_locked_position` (.../locked/position),
each paged (`current` from 1, `size` up to 100) until its `total` rows are in. A flexible position's
`totalAmount` is redeemable at any time: free. A locked position's `amount` is the coin staked for a term:
locked, and held all the same (its price moves the book as any holding's). The answer is shaped as a ccxt
balance (`free`, `used`, `total` by asset), so the reader sums it with the other wallets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_PAGE = 100  # Binance's largest page of positions
_MAX_PAGES = 50  # 5,000 positions: beyond any account; a server that never ends a listing is refused
Read = Callable[[Callable[..., Awaitable[Any]], Mapping[str, Any]], Awaitable[Any]]


async def earn_balance(read: Read, client: Any) -> dict[str, dict[str, float]]:
    """Flexible positions as free, locked ones as used, summed by asset; ValueError on a malformed answer."""
    free = await _summed(read, client.sapi_get_simple_earn_flexible_position, "totalAmount")
    used = await _summed(read, client.sapi_get_simple_earn_locked_position, "amount")
    assets = sorted({*free, *used})
    zero = Decimal(0)
    return {
        "free": {a: float(free.get(a, zero)) for a in assets},
        "used": {a: float(used.get(a, zero)) for a in assets},
        "total": {a: float(free.get(a, zero) + used.get(a, zero)) for a in assets},
    }


async def _summed(read: Read, endpoint: Callable[..., Awaitable[Any]], field: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    seen = 0
    for page in range(1, _MAX_PAGES + 1):
        answer = await read(endpoint, {"current": page, "size": _PAGE})
        rows, total = _page(answer)
        for row in rows:
            asset, amount = _position(row, field)
            sums[asset] = sums.get(asset, Decimal(0)) + amount
        seen += len(rows)
        if seen >= total or not rows:
            return sums
    raise ValueError(f"earn positions: more than {_MAX_PAGES} pages listed")


def _page(answer: Any) -> tuple[list[Any], int]:
    if not isinstance(answer, Mapping) or not isinstance(answer.get("rows", []), list):
        raise ValueError(f"earn positions: expected {{'rows': [...], 'total': n}}, got {str(answer)[:120]}")
    rows = answer.get("rows") or []
    try:
        return rows, int(answer.get("total", len(rows)))
    except (TypeError, ValueError):
        raise ValueError(f"earn positions: total is {answer.get('total')!r}") from None


def _position(row: Any, field: str) -> tuple[str, Decimal]:
    if not isinstance(row, Mapping) or not isinstance(row.get("asset"), str):
        raise ValueError(f"earn position without an asset: {str(row)[:120]}")
    try:
        amount = Decimal(str(row.get(field)))
    except InvalidOperation:
        raise ValueError(f"earn position of {row['asset']}: {field} is {row.get(field)!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"earn position of {row['asset']}: {field} is {row.get(field)!r}")
    return row["asset"].upper(), amount
