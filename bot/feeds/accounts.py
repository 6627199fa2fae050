"""Spot balances of exchange accounts, read on a schedule: what `[[portfolio.accounts]]` says the user holds.

    reader = AccountReader(account, client, clock, backoff)
    reader.on_read = handler          # async (AccountRead) -> None: told every read, good or failed
    await reader.run()                # reads at once, then every `interval`, until cancelled

A read is the free plus locked balance of each listed asset, summed over the account's wallets (spot, funding;
an asset the account does not hold reads 0); a failed read says why and is retried at the next interval
(ccxt's errors mapped as every venue call's: bot/venues/ccxt_errors.py). Keys are read like the hedge
venue's (environment, else 0600 files) and never logged. The reader judges nothing: the process
(bot/live/holdings_sync.py) turns reads into holdings and a stale account into a hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.domain import parse_duration_ms
from bot.execution.venue_errors import Fatal, VenueError
from bot.logs import get_logger
from bot.secrets import SecretError, read_secret
from bot.settings.accounts import SpotAccount
from bot.venues.ccxt_client import CcxtRest, make_spot_client
from bot.venues.ccxt_errors import Backoff


@dataclass(frozen=True, slots=True)
class AccountRead:
    """One read of one account: balances by asset, or (balances None) the error that stopped it."""

    account: str
    ts: int
    balances: Mapping[str, float] | None
    error: str = ""


def account_keys(account: SpotAccount) -> tuple[str, str]:
    """The account's API key and secret; Fatal naming the variables when either is missing."""
    try:
        key = read_secret(account.api_key_env, account.api_key_file)
        secret = read_secret(account.api_secret_env, account.api_secret_file)
    except SecretError as exc:
        raise Fatal(str(exc)) from None
    if not key or not secret:
        raise Fatal(
            f"portfolio.accounts {account.name}: set {account.api_key_env} and {account.api_secret_env} (or"
            " api_key_file / api_secret_file): its balances are read with a (read-only) API key"
        )
    return key, secret


def balances_of(answer: Mapping[str, Any], assets: tuple[str, ...]) -> dict[str, float]:
    """Free plus locked of each asset in a ccxt balance answer (0 when absent); ValueError when malformed."""
    totals = answer.get("total") or {}
    read = {}
    for asset in assets:
        value = totals.get(asset, 0.0) or 0.0
        if not isinstance(value, int | float) or value != value or value < 0 or value == float("inf"):
            raise ValueError(f"balance of {asset} is {value!r}")
        read[asset] = float(value)
    return read


class AccountReader:
    """Reads one account's spot balances every `interval` (see the module docstring)."""

    def __init__(self, account: SpotAccount, client: Any, clock: Clock, backoff: Backoff) -> None:
        self.account = account
        self.client = client
        self.clock = clock
        self.on_read: Callable[[AccountRead], Awaitable[None]] | None = None
        self.interval_s = parse_duration_ms(account.interval) / 1000
        self.reads = 0
        self.log = get_logger(component="account_reader", account=account.name)
        self._rest = CcxtRest(client, backoff, 2, random.Random())  # noqa: S311 -- jitter, not cryptography
        self._wake = asyncio.Event()

    @classmethod
    def open(cls, account: SpotAccount, clock: Clock, backoff: Backoff, overrides: Mapping[str, Any]) -> AccountReader:
        key, secret = account_keys(account)
        client = make_spot_client(account.exchange, account.endpoint, api_key=key, secret=secret, overrides=overrides)
        return cls(account, client, clock, backoff)

    def read_now(self) -> None:
        """Read at once rather than at the next interval (a balance event on a user stream, an operator)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self.read_once()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):  # the schedule: an interval later, or sooner when woken
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def read_once(self) -> AccountRead:
        read = await self._read()
        self.reads += 1
        if self.on_read is not None:
            await self.on_read(read)
        return read

    async def _read(self) -> AccountRead:
        name = self.account.name
        try:
            read: dict[str, float] = dict.fromkeys(self.account.assets, 0.0)
            for wallet in self.account.wallets:  # ccxt: {"type": "funding"} reads the funding wallet
                answer = await self._rest.read(self.client.fetch_balance, {"type": wallet})
                for asset, qty in balances_of(answer, self.account.assets).items():
                    read[asset] += qty
            return AccountRead(name, self.clock.now_ms(), read)
        except (VenueError, ValueError) as exc:
            self.log.warning("account_read_failed", error=str(exc))
            return AccountRead(name, self.clock.now_ms(), None, str(exc))

    async def close(self) -> None:
        await self.client.close()
