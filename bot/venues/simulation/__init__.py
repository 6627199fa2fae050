"""The pure simulation core shared by the paper venue and the loopback exchange simulator.

- `markets`: `default_instrument(symbol)`, `check_order(...)`, `check_reduce_only(...)`, `FundingSchedule`:
  Binance-like markets, the checks an exchange runs on an order, and when funding settles.
- `account`: `SimulatedAccount`: positions, fees, funding, margin, liquidation, expiry in one currency.
- `bracket_margin`: `BracketMargin`: that account with maintenance margin and liquidation by Binance's brackets
  (the paper venue's; the loopback exchange's adds per-symbol leverage).
- `book`: `BookModel.walk` and `taker_fills` (taker fills across depth or by the slippage model),
  `RestingOrders` (maker fills), `crosses` / `takes_liquidity`.

No I/O, no clock reads, no asyncio anywhere in this package: callers pass the time and the prices.
Each module's docstring lists its public API.
"""

from bot.execution.market_rules import (
    FundingSchedule,
    OrderProblem,
    Problem,
    check_order,
    check_reduce_only,
    default_instrument,
    expiry_ms_of,
    is_multiple,
    reducible_qty,
)
from bot.venues.simulation.account import (
    LedgerEntry,
    LedgerKind,
    SimulatedAccount,
    apply_to_position,
)
from bot.venues.simulation.book import (
    BookModel,
    MakerFill,
    PostOnlyWouldCross,
    RestingOrder,
    RestingOrders,
    WhenDepthRunsOut,
    crosses,
    slipped_price,
    taker_fills,
    takes_liquidity,
)

__all__ = [
    "BookModel",
    "FundingSchedule",
    "LedgerEntry",
    "LedgerKind",
    "MakerFill",
    "OrderProblem",
    "PostOnlyWouldCross",
    "Problem",
    "RestingOrder",
    "RestingOrders",
    "SimulatedAccount",
    "WhenDepthRunsOut",
    "apply_to_position",
    "check_order",
    "check_reduce_only",
    "crosses",
    "default_instrument",
    "expiry_ms_of",
    "is_multiple",
    "reducible_qty",
    "slipped_price",
    "taker_fills",
    "takes_liquidity",
]
