"""Simple Earn positions read as a wallet (bot/feeds/earn_balances.py): paged until all rows are in,
flexible as free, locked as used, a malformed answer refused in one line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from bot.feeds.earn_balances import earn_balance

pytestmark = pytest.mark.asyncio


async def direct(endpoint: Callable[..., Awaitable[Any]], params: Mapping[str, Any]) -> Any:
    return await endpoint(params)


class Earn:
    """Binance's two position endpoints over fixed rows, paged as Binance pages them."""

    def __init__(self, flexible: list[Any], locked: list[Any]) -> None:
        self.flexible, self.locked = flexible, locked
        self.pages: list[int] = []

    @staticmethod
    def _page(rows: list[Any], params: Mapping[str, Any]) -> dict[str, Any]:
        current, size = int(params["current"]), int(params["size"])
        return {"rows": rows[(current - 1) * size : current * size], "total": len(rows)}

    async def sapi_get_simple_earn_flexible_position(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.pages.append(int(params["current"]))
        return self._page(self.flexible, params)

    async def sapi_get_simple_earn_locked_position(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._page(self.locked, params)


async def test_flexible_positions_are_free_and_locked_ones_used_summed_by_asset() -> None:
    earn = Earn(
        [{"asset": "SOL", "totalAmount": "20.5"}], [{"asset": "SOL", "amount": "5"}, {"asset": "ETH", "amount": "1"}]
    )
    balance = await earn_balance(direct, earn)
    assert balance == {
        "free": {"ETH": 0.0, "SOL": 20.5}, "used": {"ETH": 1.0, "SOL": 5.0}, "total": {"ETH": 1.0, "SOL": 25.5}
    }  # fmt: skip


async def test_every_page_is_read_until_the_total_is_in() -> None:
    earn = Earn([{"asset": "SOL", "totalAmount": "1"}] * 250, [])
    balance = await earn_balance(direct, earn)
    assert (balance["total"]["SOL"], earn.pages) == (250.0, [1, 2, 3])


@pytest.mark.parametrize(
    "row", [{"totalAmount": "1"}, {"asset": "SOL", "totalAmount": "-1"}, {"asset": "SOL", "totalAmount": "NaN"},
            {"asset": "SOL", "totalAmount": "abc"}, "SOL"],
)  # fmt: skip
async def test_a_malformed_position_is_refused_in_one_line(row: Any) -> None:
    with pytest.raises(ValueError, match="earn position"):
        await earn_balance(direct, Earn([row], []))


async def test_an_answer_that_is_not_a_listing_is_refused() -> None:
    class Broken(Earn):
        async def sapi_get_simple_earn_flexible_position(self, params: Mapping[str, Any]) -> dict[str, Any]:
            return {"rows": "nope"}

    with pytest.raises(ValueError, match="expected"):
        await earn_balance(direct, Broken([], []))
