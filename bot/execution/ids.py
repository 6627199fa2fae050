"""Deterministic identifiers: a replayed decision produces the same decision id and client order ids.

Client order ids fit Binance's rule (1–36 characters of [.A-Z:/a-z0-9_-]) and most other venues'.
"""

from __future__ import annotations

import re

from bot.domain import ClientOrderId, DecisionId

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def decision_id(ts_ms: int, seq: int) -> DecisionId:
    """The `seq`-th decision made at event time `ts_ms`."""
    return DecisionId(f"{ts_ms:x}-{seq}")


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
