"""A replay with one symbol's feed stopped from some instant on: a delisting or a dead stream, on real history."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import Symbol
from bot.feeds.replay import Replay


def feed_stopped(replay: Replay, symbol: Symbol, from_ms: int) -> Replay:
    """`replay` without any event of `symbol` (price or funding) at or after `from_ms`."""
    index = replay._symbols.index(symbol)  # the replay's own arrays: a test kit may read them
    keep = ~((replay._symbol == index) & (replay._ts >= from_ms))
    return replace(
        replay,
        event_count=int(keep.sum()),
        _ts=replay._ts[keep],
        _kind=replay._kind[keep],
        _symbol=replay._symbol[keep],
        _value=replay._value[keep],
        _hours=replay._hours[keep],
    )
