"""`[[portfolio.accounts]]`: exchange accounts whose balances are the holdings, read on a schedule and on the
account's user stream. Pure.

The holdings of an asset are its `[portfolio.holdings]` quantity (cold wallets, what no API can read) plus
its free and locked balance on every account listing it in `assets`, summed over the account's `wallets`
(spot, funding, and on Binance earn: Simple Earn's flexible positions as free, its locked ones as locked).
Each account is read every `interval` (bot/feeds/accounts.py) and, with `stream` (the default), at once
when its user stream tells a balance change (bot/feeds/account_stream.py); a change the bot did not make is
a holdings change, journaled as a transfer (never P&L) by the path `ctl set-holding` takes. While an
account's last good read is older than `max_age`, trading holds at `reducing`, as for a stale price. The
quote asset is never read as a holding: the only balances the bot itself moves are stablecoins between its
wallets (top-ups), so every change of a listed asset is the user's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bot.domain import parse_duration_ms
from bot.settings.sources import SpotExchange
from bot.settings.values import Asset, PositiveDuration, Section


class SpotAccount(Section):
    """One exchange account whose spot balances are read as holdings."""

    exchange: SpotExchange
    assets: tuple[Asset, ...] = Field(min_length=1)  # the balances read as holdings; others are ignored
    wallets: tuple[Literal["spot", "funding", "earn"], ...] = ("spot",)  # the wallets whose balances add up
    stream: bool = True  # also read at once when the user stream tells a balance change (where ccxt watches one)
    endpoint: str | None = None  # REST at another host (the loopback exchange: "http://127.0.0.1:8765/spot")
    api_key_env: str = "HEDGEBOT_SPOT_API_KEY"  # a read-only key is enough
    api_secret_env: str = "HEDGEBOT_SPOT_API_SECRET"  # noqa: S105 -- the name of a variable, not a secret
    api_key_file: Path | None = None  # 0600 file, used when the environment variable is unset
    api_secret_file: Path | None = None
    interval: PositiveDuration = "1m"  # read this often
    max_age: PositiveDuration = "10m"  # a last good read older than this holds trading at reducing

    @model_validator(mode="after")
    def _age_outlives_a_read(self) -> SpotAccount:
        if parse_duration_ms(self.max_age) < 2 * parse_duration_ms(self.interval):
            raise ValueError(
                f"max_age = {self.max_age!r} must be at least twice interval = {self.interval!r}: one failed read"
                " must not hold trading"
            )
        if len(set(self.assets)) != len(self.assets):
            raise ValueError("assets: an asset is listed twice")
        if not self.wallets or len(set(self.wallets)) != len(self.wallets):
            raise ValueError("wallets: list each of 'spot', 'funding', 'earn' at most once, and at least one")
        if "earn" in self.wallets and self.exchange != "binance":
            raise ValueError(f"wallets: 'earn' (Simple Earn positions) is read on binance only, not {self.exchange}")
        return self

    @property
    def name(self) -> str:
        """How journal rows and logs name the account: its exchange, and the host when it is not the exchange's."""
        return f"{self.exchange}@{self.endpoint}" if self.endpoint else self.exchange
