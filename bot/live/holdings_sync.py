"""Holdings as the accounts say: each read of `[[portfolio.accounts]]` reconciled into the engine's holdings.

An asset's holding is its static `[portfolio.holdings]` quantity (cold wallets) plus its balance on every
account that lists it, locked balances included (in orders, staked: locked Simple Earn), whose part the
journaled command names (`locked`). When a read changes that sum, the change goes through the operator's `set-holding`
path (`Daemon.command`, by the actor "account"): journaled in `transfers` at the spot price, kept out of P&L,
effectiveness and the drawdown gauges, and a portfolio-change trigger re-decides the hedge. A change smaller
than `_DUST` of the holding is no change (balances come as decimal strings; a float's last bit is not a
deposit). While an account's last good read is older than its `max_age`, trading is held `reducing`
(source "holdings", alert `stale_feed`); the hold lifts at the next good read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.commands import Actor, CommandError, SetHolding
from bot.config import Config
from bot.domain import parse_duration_ms
from bot.feeds.account_stream import AccountStream
from bot.feeds.accounts import AccountRead, AccountReader
from bot.live.daemon import Daemon
from bot.logs import get_logger
from bot.report.accounts_status import AccountView

SOURCE = "holdings"
_DUST = 1e-9


class HoldingsSync:
    def __init__(self, daemon: Daemon, config: Config, started_ms: int) -> None:
        self.daemon = daemon
        self.static = dict(config.portfolio.holdings)
        self.accounts = {account.name: account for account in config.portfolio.accounts}
        self.max_age_ms = {name: parse_duration_ms(a.max_age) for name, a in self.accounts.items()}
        self.balances: dict[str, dict[str, float]] = {name: {} for name in self.accounts}  # last good read
        self.locked: dict[str, dict[str, float]] = {name: {} for name in self.accounts}  # of it, locked
        self.read_ts: dict[str, int] = dict.fromkeys(self.accounts, started_ms)  # grace from the start
        self.changes = 0
        self.held: frozenset[str] = frozenset()  # the accounts trading is held for now (`ctl status`)
        self.log = get_logger(component="holdings_sync")

    async def on_read(self, read: AccountRead) -> None:
        if read.balances is not None:
            self.balances[read.account] = dict(read.balances)
            self.locked[read.account] = dict(read.locked)
            self.read_ts[read.account] = read.ts
            await self._apply(read.account)
        await self._govern(read.ts, read.error)

    def wanted(self, assets: Iterable[str]) -> dict[str, float]:
        """What each asset's holding should be: static plus every account's last read balance."""
        return {a: self.static.get(a, 0.0) + sum(b.get(a, 0.0) for b in self.balances.values()) for a in assets}

    async def _apply(self, account: str) -> None:
        engine = self.daemon.running_engine()
        for asset, qty in self.wanted(self.accounts[account].assets).items():
            held = engine.holdings.get(asset, 0.0)
            if abs(qty - held) <= _DUST * max(1.0, abs(held)):
                continue
            self.changes += 1
            self.log.info("holding_read", account=account, asset=asset, qty_before=held, qty_after=qty)
            who = Actor(operator="", via="account", reason=f"balance read on {account}")
            args: dict[str, Any] = {"asset": asset, "qty": qty, "account": account}
            locked = sum(held_locked.get(asset, 0.0) for held_locked in self.locked.values())
            if locked:
                args["locked"] = locked
            try:
                await self.daemon.command(SetHolding(asset, qty), args, who)
            except CommandError as exc:  # refused (and journaled so): the next read tries again; the feed goes on
                self.log.error("holding_read_refused", account=account, asset=asset, error=str(exc))

    async def _govern(self, now: int, error: str) -> None:
        stale = [name for name, ts in self.read_ts.items() if now - ts > self.max_age_ms[name]]
        self.held = frozenset(stale)
        if not stale:
            await self.daemon.hold_input(SOURCE, "account balances", None)
            return
        why = f" ({error})" if error else ""
        reason = f"stale: balances of account {', '.join(stale)} not read for longer than its max_age{why}"
        await self.daemon.hold_input(SOURCE, "account balances", reason)

    def views(self, readers: Iterable[AccountReader], streams: Iterable[AccountStream]) -> tuple[AccountView, ...]:
        """Each account as `ctl status` shows it: its reader's last read, its stream, and the age this sync
        judges staleness by (the last good read, or the session's start before the first)."""
        followed: Mapping[str, AccountStream] = {stream.reader.account.name: stream for stream in streams}
        return tuple(self._view(reader, followed.get(reader.account.name)) for reader in readers)

    def _view(self, reader: AccountReader, stream: AccountStream | None) -> AccountView:
        account = reader.account
        return AccountView(
            name=account.name,
            exchange=account.exchange,
            wallets=tuple(account.wallets),
            max_age_ms=self.max_age_ms[account.name],
            held=account.name in self.held,
            since_ms=self.read_ts[account.name],
            read_ms=reader.read_ms,
            read_error=reader.error,
            streamed=stream is not None,
            live=stream is not None and stream.live,
            reconnects=0 if stream is None else stream.stats.reconnects,
            stream_error="" if stream is None else stream.stats.last_error,
        )
