"""Balances of exchange accounts, read on a schedule: what `[[portfolio.accounts]]` says the user holds.

    reader = AccountReader(account, client, clock, backoff)
    reader.on_read = handler          # async (AccountRead) -> None: told every read, good or failed
    await reader.run()                # reads at once, then every `interval` (sooner when woken), until cancelled

A read is the free plus locked balance of each listed asset, summed over the account's wallets (spot, funding,
earn: bot/feeds/earn_balances.py; an asset the account does not hold reads 0), with the locked part apart;
the account's user stream wakes the reader on a balance change (bot/feeds/account_stream.py). A failed read
says why and is retried at the next interval
(ccxt's errors mapped as every venue call's: bot/venues/ccxt_errors.py). Keys are read like the hedge
venue's (environment, else 0600 files) and never logged. The reader judges nothing: the process
(bot/live/holdings_sync.py) turns reads into holdings and a stale account into a hold.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.domain import parse_duration_ms
from bot.execution.venue_errors import Fatal, VenueError
from bot.feeds.earn_balances import earn_balance
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
    locked: Mapping[str, float] = field(default_factory=dict)  # of balances: in orders, staked (locked earn)


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


def balances_of(answer: Mapping[str, Any], assets: tuple[str, ...], column: str = "total") -> dict[str, float]:
    """Free plus locked (`column` "used": locked alone) of each asset in a ccxt balance answer (0 when absent);
    ValueError when malformed."""
    totals = answer.get(column) or {}
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
        self.backoff = backoff
        self.on_read: Callable[[AccountRead], Awaitable[None]] | None = None
        self.interval_s = parse_duration_ms(account.interval) / 1000
        self.reads = 0  # reads done and handled (`on_read` returned)
        self.read_ms: int | None = None  # the last good read's time (`ctl status`: its age)
        self.error = ""  # the last read's error; "" once a read succeeds
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
            self._wake.clear()  # before the read: a wake while it runs (a balance event) asks for one more
            await self.read_once()
            await self._next_turn()

    async def _next_turn(self) -> None:
        """The schedule: an interval later, or sooner when woken. Not `asyncio.wait_for`: on Python 3.11 it
        swallows a cancellation that lands as the wake is set, and the reader would then outlive its feed."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=self.interval_s)
        finally:
            woken.cancel()

    async def read_once(self) -> AccountRead:
        read = await self._read()
        self.error = read.error
        if read.balances is not None:
            self.read_ms = read.ts
        if self.on_read is not None:
            await self.on_read(read)
        self.reads += 1  # counted once handled: whoever waits for a read sees what it changed
        return read

    async def _read(self) -> AccountRead:
        name = self.account.name
        try:
            assets = self.account.assets
            read, locked = dict.fromkeys(assets, 0.0), dict.fromkeys(assets, 0.0)
            for wallet in self.account.wallets:
                answer = await self._wallet(wallet)
                for asset, qty in balances_of(answer, assets).items():
                    read[asset] += qty
                for asset, qty in balances_of(answer, assets, "used").items():
                    locked[asset] += qty
            return AccountRead(name, self.clock.now_ms(), read, locked={a: q for a, q in locked.items() if q})
        except (VenueError, ValueError) as exc:
            self.log.warning("account_read_failed", error=str(exc))
            return AccountRead(name, self.clock.now_ms(), None, str(exc))

    async def _wallet(self, wallet: str) -> Mapping[str, Any]:
        if wallet == "earn":  # no fetch_balance type for it: Simple Earn positions, by ccxt's implicit API
            return await earn_balance(self._rest.read, self.client)
        answer: Mapping[str, Any] = await self._rest.read(self.client.fetch_balance, {"type": wallet})  # "funding"
        return answer

    async def close(self) -> None:
        await self.client.close()
