"""An account's user stream, followed: a balance event makes the account's reader read now.

    follower = AccountStream(reader, backoff, rng)
    await follower.run()          # until cancelled; returns when the exchange refuses the stream for good

The stream is ccxt.pro's `watch_balance` on the reader's own client (Binance spot: its WebSocket API's user
data subscription, `userDataStream.subscribe.signature`; the loopback exchange serves it too). Its payload is
not read as the holdings: it carries the spot wallet only and, for a `balanceUpdate`, a delta ccxt adds to a
balance it may never have known. It says *that* something changed; the reader then reads every wallet the
account lists by REST, the one home of what an account holds (bot/feeds/accounts.py). Every message the
client handles wakes the reader, so a change that lands between two watches is not missed.

When the stream is down the schedule and the account's `max_age` carry on as before: a read every
`interval`, stale (trading held `reducing`) past the age limit. On each (re)connection the reader reads once
the subscription is live, so a change made while the stream was down is caught then, not at the next
scheduled read. A stream the exchange refuses (a key without the permission, an exchange without one) is
logged once and left: the schedule alone reads the account.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from bot.execution.venue_errors import Fatal, VenueError
from bot.feeds.accounts import AccountReader
from bot.logs import get_logger
from bot.secrets import redact
from bot.venues.ccxt_client import unless_closed, wake_on_messages
from bot.venues.ccxt_errors import Backoff, StreamStats, run_stream


class AccountStream:
    """Follows one account's user stream for its reader (see the module docstring)."""

    def __init__(self, reader: AccountReader, backoff: Backoff, rng: random.Random) -> None:
        self.reader = reader
        self.backoff = backoff
        self.rng = rng
        self.stats = StreamStats()
        self.woken = 0  # reads asked for by the stream (events, re-syncs)
        self.live = False  # subscribed now: set once synced, cleared by a failure or a refusal
        self.on_reconnect: Callable[[str], None] | None = None  # told the account's name at each failure
        self.log = get_logger(component="account_stream", account=reader.account.name)

    @staticmethod
    def available(reader: AccountReader) -> bool:
        """The account wants its stream followed and its exchange's ccxt client can watch balances."""
        has: dict[str, Any] = getattr(reader.client, "has", {}) or {}
        return reader.account.stream and bool(has.get("watchBalance"))

    async def run(self) -> None:
        client = self.reader.client
        wake = asyncio.Event()
        wake_on_messages(client, wake)
        try:
            await run_stream(
                unless_closed(client, self._watch), self._on_update, self._resync, self.stats, self.backoff,
                self.rng, wake=wake, on_failure=self._on_failure, on_synced=self._on_synced,
            )  # fmt: skip
        except Fatal as exc:
            if getattr(client, "closed_by_user", False):  # the feed closed the client: shutting down, not refused
                return
            self.live, self.stats.last_error = False, str(exc)
            self.log.error("account_stream_refused", error=redact(str(exc))[:300], fallback="scheduled reads")

    async def _watch(self) -> Any:
        try:
            return await self.reader.client.watch_balance()
        except KeyError as exc:  # ccxt 4.5 (binance): an error answer to the subscription deletes its bookkeeping
            # twice and raises KeyError instead of the error; the answer was a refusal (a bad key, a signature)
            raise Fatal(f"the exchange refused the user data subscription ({exc!r})") from None

    def _on_update(self, _balance: Any) -> None:
        self._wake_reader()

    async def _resync(self) -> None:
        self._wake_reader()

    def _wake_reader(self) -> None:
        self.woken += 1
        self.reader.read_now()

    def _on_failure(self, error: VenueError) -> None:
        self.live = False
        if self.on_reconnect is not None:
            self.on_reconnect(self.reader.account.name)
        self.log.warning("account_stream_failed", error=redact(str(error))[:300], reconnects=self.stats.reconnects)

    def _on_synced(self) -> None:
        self.live = True
        self.log.info("account_stream_live")
