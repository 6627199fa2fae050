"""Order-book update ids and diffs: the REST depth snapshot and the `@depth` diff stream agree. Pure.

Binance's depth stream sends diffs stamped with update ids (`U` first, `u` last, `pu` the previous event's
`u`), and the REST snapshot's `lastUpdateId` tells a client which diffs it already contains. Here each
contract's book is compared, level by level, with the one last stamped whenever it is looked at (a REST
snapshot, or a market move while someone listens to its diffs): a change takes the next update ids and is
queued as a diff for the stream, so a snapshot and the diffs after it always rebuild the same book.
Quantities "0" remove a level, as on Binance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Levels = dict[str, str]  # price -> quantity, both as Binance formats them
_FIRST_UPDATE_ID = 1_000_000


@dataclass(slots=True)
class _Book:
    update_id: int
    bids: Levels = field(default_factory=dict)
    asks: Levels = field(default_factory=dict)
    diffs: list[dict[str, Any]] = field(default_factory=list)  # stamped, not yet published


def _changes(old: Levels, new: Levels) -> list[list[str]]:
    changed = [[p, q] for p, q in new.items() if old.get(p) != q]
    removed = [[p, "0"] for p in old if p not in new]
    return sorted(changed + removed, key=lambda level: float(level[0]))


class DepthTracker:
    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}

    def stamp(self, symbol_id: str, bids: Levels, asks: Levels, now_ms: int) -> int:
        """Compare the book now with the last stamped one; a change is queued as a diff. The current id."""
        book = self._books.get(symbol_id)
        if book is None:
            book = self._books[symbol_id] = _Book(_FIRST_UPDATE_ID)
        bid_changes, ask_changes = _changes(book.bids, bids), _changes(book.asks, asks)
        if not bid_changes and not ask_changes:
            return book.update_id
        previous = book.update_id
        # Binance's ids advance by the number of book changes in the event, not by one per event
        book.update_id = previous + len(bid_changes) + len(ask_changes)
        book.bids, book.asks = dict(bids), dict(asks)
        book.diffs.append({
            "e": "depthUpdate", "E": now_ms, "T": now_ms, "s": symbol_id, "U": previous + 1, "u": book.update_id,
            "pu": previous, "b": list(reversed(bid_changes)), "a": ask_changes,
        })  # fmt: skip
        return book.update_id

    def drain_diffs(self, symbol_id: str) -> list[dict[str, Any]]:
        book = self._books.get(symbol_id)
        if book is None:
            return []
        diffs, book.diffs = book.diffs, []
        return diffs

    def update_id(self, symbol_id: str) -> int:
        book = self._books.get(symbol_id)
        return book.update_id if book is not None else _FIRST_UPDATE_ID
