"""Top-up transfers as the shell carries them out: the venue port, and resolving an unknown outcome. Pure.

A venue that holds a reserve (`TransferVenue`: the paper venue, the ccxt venue) moves quote from its spot or
funding wallet into the hedge account and lists what it moved. Binance's universal transfer takes no id of
ours, so a transfer whose answer was lost (a timeout, a crash between sending and journaling) is found in the
history instead. The shell reads the history before it sends and journals the ids already there with the
intent; afterwards, the transfer is the oldest one in from that wallet of exactly the amount asked (whole
units, see `bot.risk.topup`) that was not there before and that no other journaled top-up has claimed. Only a
manual transfer of the very same amount, made while one of ours is unresolved, could be taken for it
(runbooks/margin-call.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.risk.topup import ReserveWallet, TopUp

_AMOUNT_TOLERANCE = 1e-6  # the history reports the amount as sent, to 8 decimals


@dataclass(frozen=True, slots=True)
class VenueTransfer:
    """One transfer into the hedge account, as the venue lists it."""

    venue_id: str
    amount: float
    ts: int
    wallet: ReserveWallet


@runtime_checkable
class TransferVenue(Protocol):
    async def transfer_in(self, top_up: TopUp) -> VenueTransfer:
        """Move `top_up.amount` of the quote currency from its wallet into the hedge account. Raises Rejected
        when refused (the wallet short), UnknownOutcome when the answer was lost, Retryable when nothing left."""
        ...

    async def transfers_in(self, wallet: ReserveWallet) -> list[VenueTransfer]:
        """The recent transfers from `wallet` into the hedge account (newest first or not: any order)."""
        ...


def find_in_history(top_up: TopUp, history: Iterable[VenueTransfer], claimed: frozenset[str]) -> VenueTransfer | None:
    """The history's record of `top_up`, or None when the venue never executed it."""
    candidates = [
        row
        for row in history
        if row.wallet == top_up.wallet
        and row.venue_id not in claimed
        and abs(row.amount - top_up.amount) <= _AMOUNT_TOLERANCE
    ]
    return min(candidates, key=lambda row: (row.ts, row.venue_id), default=None)
