"""History before trading starts, taken from the market's own events: what a realtime paper run warms up on.

The live warm-up reads candles at the sample interval (`bot.live.exchange_plan.warmup_history`); a synthetic or
replayed market has every step, so its history is cut the same way: one price per instrument per sample
interval (the interval's last, like a candle's close), and each instrument's latest funding (so the run does
not start with funding "never seen"). The estimators are then ready on the first step after start, and the run
does not wait `min_samples` sample intervals before its first hedge.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from bot.domain import MarketEvent, PriceObserved, Symbol


def split_history(
    events: Iterable[MarketEvent], until_ms: int, sample_ms: int
) -> tuple[tuple[MarketEvent, ...], Iterator[MarketEvent]]:
    """The history stamped before `until_ms` (one price per instrument per sample interval, the latest of each
    other kind of event per instrument), in time order, and the events from `until_ms` on (still lazy)."""
    stream = iter(events)
    kept: dict[tuple[str, int, Symbol], MarketEvent] = {}
    for event in stream:
        if event.ts >= until_ms:
            return _in_time_order(kept), itertools.chain((event,), stream)
        bucket = event.ts // sample_ms if isinstance(event, PriceObserved) else 0
        kept[(type(event).__name__, bucket, event.symbol)] = event
    return _in_time_order(kept), iter(())


def _in_time_order(kept: dict[tuple[str, int, Symbol], MarketEvent]) -> tuple[MarketEvent, ...]:
    return tuple(sorted(kept.values(), key=lambda event: event.ts))
