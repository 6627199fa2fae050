"""One-minute candles of each contract's mark price, aggregated on demand for klines and 24h stats. Pure."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.domain import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE

INTERVALS_MS = {
    "1m": MS_PER_MINUTE,
    "3m": 3 * MS_PER_MINUTE,
    "5m": 5 * MS_PER_MINUTE,
    "15m": 15 * MS_PER_MINUTE,
    "30m": 30 * MS_PER_MINUTE,
    "1h": MS_PER_HOUR,
    "2h": 2 * MS_PER_HOUR,
    "4h": 4 * MS_PER_HOUR,
    "6h": 6 * MS_PER_HOUR,
    "8h": 8 * MS_PER_HOUR,
    "12h": 12 * MS_PER_HOUR,
    "1d": MS_PER_DAY,
    "3d": 3 * MS_PER_DAY,
    "1w": 7 * MS_PER_DAY,
}
_MAX_MINUTES = 200_000  # per contract: ~139 days of one-minute candles; older ones are forgotten


@dataclass(slots=True)
class Candle:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0  # contracts traded by the simulator's own fills
    quote_volume: float = 0.0
    trades: int = 0


class CandleSeries:
    def __init__(self) -> None:
        self._minutes: OrderedDict[int, Candle] = OrderedDict()

    def observe(self, ts: int, price: float) -> None:
        candle = self._candle_at(ts, price)
        candle.high = max(candle.high, price)
        candle.low = min(candle.low, price)
        candle.close = price

    def traded(self, ts: int, price: float, qty: float, quote_qty: float) -> None:
        candle = self._candle_at(ts, price)
        candle.volume += qty
        candle.quote_volume += quote_qty
        candle.trades += 1

    def _candle_at(self, ts: int, price: float) -> Candle:
        minute = ts - ts % MS_PER_MINUTE
        candle = self._minutes.get(minute)
        if candle is None:
            candle = Candle(minute, price, price, price, price)
            self._minutes[minute] = candle
            if len(self._minutes) > _MAX_MINUTES:
                self._minutes.popitem(last=False)
        return candle

    def klines(self, interval_ms: int, start_ms: int | None, end_ms: int | None, limit: int) -> list[Candle]:
        """Candles of `interval_ms` (aligned to the epoch) whose open is in [start, end], oldest first."""
        buckets: OrderedDict[int, Candle] = OrderedDict()
        for minute, c in self._minutes.items():
            if (start_ms is not None and minute < start_ms - start_ms % interval_ms) or (
                end_ms is not None and minute > end_ms
            ):
                continue
            key = minute - minute % interval_ms
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = Candle(key, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades)
            else:
                bucket.high, bucket.low, bucket.close = (
                    max(bucket.high, c.high),
                    min(bucket.low, c.low),
                    c.close,
                )
                bucket.volume += c.volume
                bucket.quote_volume += c.quote_volume
                bucket.trades += c.trades
        candles = list(buckets.values())
        return candles[:limit] if start_ms is not None else candles[-limit:]

    def window(self, start_ms: int, end_ms: int) -> Candle | None:
        """One candle summarising [start, end] (the rolling 24h ticker), None when nothing was observed."""
        inside: list[Candle] = []
        for minute, candle in reversed(self._minutes.items()):
            if minute < start_ms:
                break
            if minute <= end_ms:
                inside.append(candle)
        if not inside:
            return None
        inside.reverse()
        return Candle(
            inside[0].open_ms,
            inside[0].open,
            max(c.high for c in inside),
            min(c.low for c in inside),
            inside[-1].close,
            sum(c.volume for c in inside),
            sum(c.quote_volume for c in inside),
            sum(c.trades for c in inside),
        )
