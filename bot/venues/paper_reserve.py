"""The paper venue's reserve: the spot or funding wallet a top-up draws on, with its transfer history.

It holds `[risk.reserve] amount` at the start (paper and backtest), and answers as Binance's universal transfer
does: a transfer beyond the balance is refused, each executed one gets an id and is listed. Its state travels
with the paper account's (`PaperVenue.state()`), so a restarted paper run keeps what it moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.execution.transfers import VenueTransfer
from bot.execution.venue_errors import Rejected
from bot.risk.topup import ReserveWallet, TopUp

_FIRST_ID = 1


class PaperReserve:
    def __init__(self, balance: float) -> None:
        self.balance = balance
        self.history: list[VenueTransfer] = []

    def transfer_in(self, top_up: TopUp, now_ms: int) -> VenueTransfer:
        """Take `top_up.amount` out of the reserve (the caller credits the hedge account); Rejected when short."""
        if top_up.amount > self.balance + 1e-9:
            raise Rejected(f"reserve holds {self.balance:,.2f}, cannot move {top_up.amount:,.2f}", code="-5013")
        self.balance -= top_up.amount
        done = VenueTransfer(str(_FIRST_ID + len(self.history)), top_up.amount, now_ms, top_up.wallet)
        self.history.append(done)
        return done

    def transfers_in(self, wallet: ReserveWallet) -> list[VenueTransfer]:
        return [row for row in self.history if row.wallet == wallet]

    def state(self) -> dict[str, Any]:
        rows = [[row.venue_id, row.amount, row.ts, row.wallet] for row in self.history]
        return {"balance": self.balance, "history": rows}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Back to `state()`; a state saved before the reserve existed (None) keeps the configured balance."""
        if state is None:
            return
        self.balance = float(state["balance"])
        self.history = [VenueTransfer(str(i), float(a), int(ts), w) for i, a, ts, w in state["history"]]
