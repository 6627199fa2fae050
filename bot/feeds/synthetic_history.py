"""The synthetic market's deeper past: history before the market's own start, walked backwards from it.

The market begins a fixed lead before a run's start (`bot.live.assembly.SYNTHETIC_LEAD_MS`), so a date's price
depends on the seed and the start, never on how much history the run reads first (`hedge.window`). A window
reaching further back than that is served by this history: a second seeded market of its own, run forward from
the market's starting prices at one step per `hedge.sample` (the estimators read nothing finer) and laid out
backwards in time: its k-th step is the price k samples before the market's start. So that price too is the
same whatever the window, and the history joins the market at its starting prices. Its funding rates come
along, each settling at the next 00:00/08:00/16:00 UTC of its (mirrored) time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterator

from bot.domain import FundingObserved, MarketEvent, PriceObserved
from bot.feeds.synthetic import _CHUNK_STEPS, FUNDING_INTERVAL_HOURS, SyntheticMarket, SyntheticSpec

_FUNDING_INTERVAL_MS = FUNDING_INTERVAL_HOURS * 3_600_000


def history_seed(seed: int) -> int:
    """The history's own seed, derived from the run's: its paths are not the traded market's paths reversed."""
    return int.from_bytes(hashlib.blake2b(f"history:{seed}".encode(), digest_size=8).digest(), "big")


def synthetic_history(spec: SyntheticSpec, span_ms: int, sample_ms: int) -> tuple[MarketEvent, ...]:
    """Prices (spot and perpetual marks) and funding for the `span_ms` before `spec.start_ms`, one step per
    `sample_ms`, in time order; empty when the span holds no whole sample."""
    if span_ms < sample_ms:
        return ()
    steps = span_ms // sample_ms  # whole samples, none before the span (the run's clock starts there)
    # Whole chunks only: a chunk's random draws interleave (funding, premium, books), so only a full chunk
    # draws the same numbers whatever the length asked for; what lies beyond the span is left out.
    chunks = -(-(steps + 1) // _CHUNK_STEPS)
    past = dataclasses.replace(
        spec,
        end_ms=spec.start_ms + chunks * _CHUNK_STEPS * sample_ms,
        step_ms=sample_ms,
        seed=history_seed(spec.seed),
    )
    earliest = spec.start_ms - steps * sample_ms
    mirrored = _mirrored(SyntheticMarket(past).events(), spec.start_ms)  # going back in time
    return tuple(reversed(list(itertools.takewhile(lambda event: event.ts >= earliest, mirrored))))


def _mirrored(events: Iterator[MarketEvent], start_ms: int) -> Iterator[MarketEvent]:
    """Each price and funding at start + d moved to start − d (books are left out: nothing trades before the
    start); the start itself (d = 0) belongs to the traded market."""
    for event in events:
        ts = 2 * start_ms - event.ts
        if ts >= start_ms:
            continue
        if isinstance(event, PriceObserved):
            yield PriceObserved(ts, event.symbol, event.price)
        elif isinstance(event, FundingObserved):
            settles = (ts // _FUNDING_INTERVAL_MS + 1) * _FUNDING_INTERVAL_MS
            yield FundingObserved(ts, event.symbol, event.rate, settles, event.interval_hours)
