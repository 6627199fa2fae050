"""Kline history from the replay files: what `/fapi/v1/klines` answers when `hedgebot exchange-sim` replays
../shared/data (`--prices`, `--perp`), from before the replay's start up to the simulator's current time.

Each perpetual's candles are the file's own (open, high, low, close, volume), as the replay prices it: the
`--perp` file where it has the symbol, else the spot `--prices` file (whose closes then stand for the mark).
Intervals that are whole multiples of the file's (1h, 2h, 4h, ..., 1d, 1w; epoch-aligned like the live
candles) are aggregated from it; shorter ones keep coming from what the simulator observed while playing. A
candle is served once it has closed at market time (open + the file's interval <= now): a replay never shows a
price before it happened. The files carry no quote volume or trade count: those are 0.

    history = load_kline_history(spec)            # the same ReplaySpec as the replay's events
    history.klines("ETHUSDT", MS_PER_HOUR, start_ms, end_ms, 500, now_ms)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain import Symbol
from bot.exchange_sim.candles import Candle
from bot.feeds.csvformat import (
    CANDLES,
    FloatArray,
    Int64Array,
    coerce_floats,
    detect_interval_ms,
    parse_timestamps,
    read_columns,
)
from bot.feeds.replay import ReplaySpec

__all__ = ["KlineHistory", "load_kline_history"]

_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class _Rows:
    """One contract's candles, by open time (sorted, distinct)."""

    open_ms: Int64Array
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


class KlineHistory:
    """Candles of `interval_ms` by contract id (see the module docstring)."""

    def __init__(self, interval_ms: int, rows: Mapping[str, _Rows]) -> None:
        self.interval_ms = interval_ms
        self._rows = dict(rows)

    def contracts(self) -> list[str]:
        return sorted(self._rows)

    def covers(self, contract_id: str, interval_ms: int) -> bool:
        return contract_id in self._rows and interval_ms % self.interval_ms == 0

    def klines(
        self, contract_id: str, interval_ms: int, start_ms: int | None, end_ms: int | None, limit: int, now_ms: int
    ) -> list[Candle]:
        """As `CandleSeries.klines`: candles whose open is in [the start's interval, end], oldest first, the first
        `limit` from a start, else the last `limit`; only what had closed by `now_ms`."""
        rows, per_candle = self._rows[contract_id], interval_ms // self.interval_ms
        lo, hi = 0, int(np.searchsorted(rows.open_ms, now_ms - self.interval_ms, side="right"))
        if start_ms is not None:
            lo = int(np.searchsorted(rows.open_ms, start_ms - start_ms % interval_ms, side="left"))
        if end_ms is not None:
            hi = min(hi, int(np.searchsorted(rows.open_ms, end_ms, side="right")))
        # a candle holds at most `per_candle` rows, so limit × per_candle rows hold the `limit` candles wanted
        if start_ms is not None:
            hi = min(hi, lo + limit * per_candle)
        else:
            lo = max(lo, hi - limit * per_candle)
        candles = _aggregated(rows, lo, hi, interval_ms) if hi > lo else []
        return candles[:limit] if start_ms is not None else candles[-limit:]


def _aggregated(rows: _Rows, lo: int, hi: int, interval_ms: int) -> list[Candle]:
    opens = rows.open_ms[lo:hi]
    keys = opens - opens % interval_ms
    firsts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lasts = np.r_[firsts[1:], keys.size] - 1
    high = np.maximum.reduceat(rows.high[lo:hi], firsts)
    low = np.minimum.reduceat(rows.low[lo:hi], firsts)
    volume = np.add.reduceat(rows.volume[lo:hi], firsts)
    first_open, last_close = rows.open[lo:hi][firsts], rows.close[lo:hi][lasts]
    return [
        Candle(int(key), float(o), float(h), float(lo_), float(c), float(v))
        for key, o, h, lo_, c, v in zip(keys[firsts], first_open, high, low, last_close, volume, strict=True)
    ]


def load_kline_history(spec: ReplaySpec) -> KlineHistory:
    """The candles of `spec.perpetuals` (ids "ETHUSDT", ...) from its files, up to `spec.end_ms` and from before
    `spec.start_ms` too; the files were checked by `load_replay` first (their errors are its ReplayErrors)."""
    wanted = {_pair(perp, spec.quote): perp for perp in spec.perpetuals}
    found: dict[str, _Rows] = {}
    interval = 0
    for path in (p for p in (spec.perp, spec.prices) if p is not None):
        missing = [pair for pair in wanted if pair not in found]
        if not missing:
            break
        frame = read_columns(path, CANDLES, ("timestamp", "symbol", *_PRICES, "volume"))
        chosen = frame[frame["symbol"].isin(missing)]
        if chosen.empty:
            continue
        open_ms = parse_timestamps(path, chosen["timestamp"])
        step = detect_interval_ms(path, open_ms)
        if interval and step != interval:
            continue  # one interval for every contract: a file of another candle length adds no history
        interval = step
        found.update(_by_pair(chosen, open_ms, interval, spec.end_ms))
    return KlineHistory(interval or 1, found)


def _pair(perp: Symbol, quote: str) -> str:
    """'ETH/USDT:USDT' -> 'ETHUSDT', the files' symbol and the contract's id."""
    return perp.split("/")[0] + quote


def _by_pair(chosen: pd.DataFrame, open_ms: Int64Array, interval: int, end_ms: int | None) -> dict[str, _Rows]:
    columns = {name: coerce_floats(chosen[name]) for name in (*_PRICES, "volume")}
    good = np.ones(open_ms.shape, dtype=bool)
    for name in _PRICES:
        good &= np.isfinite(columns[name]) & (columns[name] > 0)
    good &= np.isfinite(columns["volume"]) & (columns["volume"] >= 0)
    if end_ms is not None:
        good &= open_ms + interval <= end_ms
    symbols = chosen["symbol"].astype(str).to_numpy()
    out: dict[str, _Rows] = {}
    for pair in sorted(set(symbols[good].tolist())):
        mine = good & (symbols == pair)
        order = np.argsort(open_ms[mine], kind="stable")
        ts = open_ms[mine][order]
        distinct = np.r_[True, ts[1:] != ts[:-1]]  # the replay refuses duplicates; keep the first regardless
        cols = {name: values[mine][order][distinct] for name, values in columns.items()}
        out[pair] = _Rows(ts[distinct], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"])
    return out
