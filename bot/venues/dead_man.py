"""Binance's dead-man's switch (POST /fapi/v1/countdownCancelAll), kept armed while our orders rest.

A countdown per contract: `countdownTime` ms after the last renewal the exchange cancels every open order of that
symbol by itself, so the resting clips of a daemon that died (kill -9, a lost host) do not outlive it. It is

- armed before each create when the last arming is `renew` old or older, so a new order always has at least
  `countdown - renew` left before the next renewal;
- renewed every `renew` (not more often) while orders of ours rest on the contract (the venue's memory of
  working orders); nothing resting: no renewal, and a countdown running out cancels nothing;
- disarmed (countdownTime 0) only by `disarm()`, which a clean stop that leaves its orders (`[execution]
  on_shutdown = "leave"`) calls: the operator wants them to stay. A stop that cancels them keeps it armed, so
  an order whose cancel failed is still cancelled by the exchange; a crash cannot disarm anything.

Binance USDⓈ-M (`/fapi/v1/countdownCancelAll`) and COIN-M (`/dapi/v1/countdownCancelAll`) have the endpoint, per
symbol; on another exchange the switch stays off and says so once.
A failed arming is logged and tried again at the next beat: hedging never waits on the switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import Symbol
from bot.logs import get_logger

__all__ = ["DeadManSettings", "DeadManSwitch"]

_BEAT_S = 1.0  # how often resting orders are looked at; a renewal is sent only when `renew` has passed
# ccxt's method for the endpoint, by exchange id
_COUNTDOWN_METHODS = {
    "binanceusdm": "fapiPrivatePostCountdownCancelAll",
    "binancecoinm": "dapiPrivatePostCountdownCancelAll",
}


@dataclass(frozen=True, slots=True)
class DeadManSettings:
    countdown_ms: int = 0  # 0: off (the venue's default; the live wiring passes `[venue] dead_man_countdown`)
    renew_ms: int = 15_000


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class DeadManSwitch:
    """The countdowns of one ccxt client (see the module docstring)."""

    def __init__(self, client: Any, settings: DeadManSettings, *, now_ms: Callable[[], int] = _monotonic_ms) -> None:
        self.client = client
        self.settings = settings
        self.armed: dict[Symbol, int] = {}  # symbol -> when it was last armed (`now_ms`)
        self.failures = 0
        self._now_ms = now_ms
        self._disarmed = False  # by a clean stop that leaves its orders: nothing arms again
        self._task: asyncio.Task[None] | None = None
        self.log = get_logger(component="dead_man", exchange=str(client.id))

    @property
    def on(self) -> bool:
        return self.settings.countdown_ms > 0 and not self._disarmed and self._supported()

    def _supported(self) -> bool:
        method = _COUNTDOWN_METHODS.get(str(self.client.id))
        return method is not None and hasattr(self.client, method)

    def start(self, resting: Callable[[], Iterable[Symbol]]) -> None:
        """Renew the countdowns of the symbols `resting()` names, every beat, until `stop()`."""
        if self.settings.countdown_ms > 0 and not self._supported():
            self.log.warning("dead_man_unsupported", reason="countdownCancelAll is Binance USDⓈ-M and COIN-M only")
        if self.on and self._task is None:
            self._task = asyncio.create_task(self._beating(resting), name="dead-man")

    async def stop(self) -> None:
        """Stop renewing; armed countdowns keep running at the exchange (a close is not a disarm)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def before_create(self, symbol: Symbol) -> None:
        """Arm `symbol` unless it was armed less than `renew` ago."""
        if self.on and self._due(symbol):
            await self._arm(symbol, self.settings.countdown_ms)

    async def beat(self, resting: Iterable[Symbol]) -> None:
        """Renew the countdown of each symbol with orders resting, when due."""
        for symbol in sorted(set(resting)):
            if self.on and self._due(symbol):
                await self._arm(symbol, self.settings.countdown_ms)

    async def disarm(self) -> None:
        """Stop renewing and cancel every countdown (countdownTime 0); nothing arms again afterwards."""
        await self.stop()
        self._disarmed = True
        for symbol in sorted(self.armed):
            if await self._send(symbol, 0):
                del self.armed[symbol]
        self.log.info("dead_man_disarmed", still_armed=sorted(self.armed))

    def _due(self, symbol: Symbol) -> bool:
        last = self.armed.get(symbol)
        return last is None or self._now_ms() - last >= self.settings.renew_ms

    async def _arm(self, symbol: Symbol, countdown_ms: int) -> None:
        if await self._send(symbol, countdown_ms):
            self.armed[symbol] = self._now_ms()

    async def _send(self, symbol: Symbol, countdown_ms: int) -> bool:
        try:
            market_id = self.client.market(symbol)["id"]
            send = getattr(self.client, _COUNTDOWN_METHODS[str(self.client.id)])
            await send({"symbol": market_id, "countdownTime": countdown_ms})
        except Exception as exc:  # any failure is retried at the next beat; trading goes on
            self.failures += 1
            self.log.warning("dead_man_request_failed", symbol=symbol, countdown_ms=countdown_ms, error=str(exc))
            return False
        return True

    async def _beating(self, resting: Callable[[], Iterable[Symbol]]) -> None:
        while True:  # a timer of the venue, like a listen-key keepalive: it renews while nothing else happens
            await self.beat(resting())
            await asyncio.sleep(_BEAT_S)
