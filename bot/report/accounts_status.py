"""The exchange accounts read as holdings (`[[portfolio.accounts]]`), as `ctl status` shows them. Pure.

One row per account: where it is read (exchange, wallets), how old its last good read is, whether its user
stream is followed and live (with its reconnects), the last error of a read or of the stream (redacted: an
exchange's message may quote a key), whether it is stale now: its last good read (or the session's start,
the grace before the first one) older than `max_age`, and whether trading is held (`reducing`) for it, which
bot/live/holdings_sync.py judges at each read, so a stale account is held from its next (failed) read on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.secrets import redact

HELD_STATE = "reducing"  # what a stale account holds trading at (bot/live/holdings_sync.py)
_ERROR_CHARS = 300  # enough to name the failure; an exchange's whole answer is the log's


@dataclass(frozen=True, slots=True)
class AccountView:
    """What the reader, its stream and the holdings sync know of one account at one moment."""

    name: str
    exchange: str
    wallets: tuple[str, ...]
    max_age_ms: int
    since_ms: int  # the last good read, or the session's start while there has been none (the grace)
    held: bool  # trading is held for it (judged at each read: a stale account is held at its next one)
    read_ms: int | None  # the last good read; None before the first
    read_error: str  # the last read's error; "" when it succeeded
    streamed: bool  # its user stream is followed
    live: bool  # that stream is subscribed now
    reconnects: int
    stream_error: str  # the stream's last failure or refusal


def accounts_status(views: tuple[AccountView, ...], now: int) -> list[dict[str, Any]]:
    return [account_row(view, now) for view in views]


def account_row(view: AccountView, now: int) -> dict[str, Any]:
    stale = now - view.since_ms > view.max_age_ms
    return {
        "name": view.name,
        "exchange": view.exchange,
        "wallets": list(view.wallets),
        "read_age_s": None if view.read_ms is None else round((now - view.read_ms) / 1000, 1),
        "max_age_s": round(view.max_age_ms / 1000, 1),
        "stale": stale,
        "held": HELD_STATE if view.held else None,
        "stream": {"followed": view.streamed, "live": view.streamed and view.live, "reconnects": view.reconnects},
        "last_error": _last_error(view),
    }


def _last_error(view: AccountView) -> str | None:
    """The read's error first (it is what holds trading), else the stream's; None when neither failed."""
    error = view.read_error or view.stream_error
    return redact(error)[:_ERROR_CHARS] if error else None
