"""Binance's countdownCancelAll: per symbol, a deadline after which the exchange cancels its open orders. Pure.

A client arms it (`countdownTime` ms from now) and renews it with each heartbeat; 0 disarms it. When the
client dies and stops renewing, the deadline passes and the exchange cancels the symbol's open orders itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.exchange_sim import errors
from bot.exchange_sim.orders import int_param


class Countdowns:
    def __init__(self) -> None:
        self._deadlines: dict[str, int] = {}  # symbol id -> time (ms) when its open orders are cancelled

    def arm(self, symbol_id: str, countdown_ms: int, now_ms: int) -> None:
        if countdown_ms == 0:
            self._deadlines.pop(symbol_id, None)
        else:
            self._deadlines[symbol_id] = now_ms + countdown_ms

    def due(self, now_ms: int) -> list[str]:
        """The symbols whose deadline has passed, disarmed (a countdown fires once)."""
        expired = sorted(s for s, deadline in self._deadlines.items() if deadline <= now_ms)
        for symbol_id in expired:
            del self._deadlines[symbol_id]
        return expired

    def armed(self) -> dict[str, int]:
        return dict(self._deadlines)


def arm_request(countdowns: Countdowns, symbol_id: str, params: Mapping[str, str], now_ms: int) -> dict[str, str]:
    """POST countdownCancelAll (USDⓈ-M's /fapi and COIN-M's /dapi alike): check `countdownTime`, arm, answer."""
    countdown = int_param(params, "countdownTime")
    if countdown is None:
        raise errors.missing_parameter("countdownTime")
    if countdown < 0:
        raise errors.bad_parameter("countdownTime")
    countdowns.arm(symbol_id, countdown, now_ms)
    return {"symbol": symbol_id, "countdownTime": str(countdown)}
