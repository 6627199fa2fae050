"""Deterministic identifiers: a replayed decision produces the same decision id and client order ids.

Client order ids fit Binance's rule (1–36 characters of [.A-Z:/a-z0-9_-]) and most other venues'.
"""

from __future__ import annotations

import re

from bot.domain import ClientOrderId, DecisionId, utc_time

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_DECISION = re.compile(r"^([0-9a-f]{11})-(\d+)$")  # event time in hex (from 2004 to 2527), then the sequence


def decision_id(ts_ms: int, seq: int) -> DecisionId:
    """The `seq`-th decision made at event time `ts_ms`."""
    return DecisionId(f"{ts_ms:x}-{seq}")


def decision_label(decision: str) -> str:
    """'1a255f43f00-6' → 'decision #6 of 2026-12-08 14:00:00 UTC': the id as an operator reads it (the id itself
    stays as it is: it is a journal key and part of every client order id). Anything else is shown unchanged."""
    match = _DECISION.match(decision)
    if match is None:  # not one of ours: show it as it is
        return decision
    return f"decision #{int(match.group(2))} of {utc_time(int(match.group(1), 16))}"


def client_order_id(decision: DecisionId, leg: int, clip_no: int) -> ClientOrderId:
    """The `clip_no`-th clip of the `leg`-th instrument a decision trades."""
    cid = f"hb-{decision}-{leg}-{clip_no}"
    if not _CLIENT_ID.match(cid):
        raise ValueError(f"client order id {cid!r} breaks the venue's 36-character rule")
    return ClientOrderId(cid)


def decision_of(client_id: str) -> DecisionId | None:
    """The decision a client order id of ours belongs to ('hb-<decision>-<leg>-<clip>'); None for another's."""
    if not client_id.startswith("hb-"):
        return None
    parts = client_id[3:].rsplit("-", 2)
    return DecisionId(parts[0]) if len(parts) == 3 and parts[0] else None
