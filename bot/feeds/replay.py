"""Replay of recorded market data (the ../shared/data CSV formats) as the engine's typed market events.

Everything is read and validated up front by `load_replay`, so a bad file fails before the engine starts.
A candle becomes a `PriceObserved` at its *close* time (open time + the candle interval), so a backtest never
sees a close before it happened. Gaps in the files stay gaps: nothing is fabricated or forward-filled.
Within one timestamp the order is: spot prices, then perpetual prices, then funding, each by symbol.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from bot.domain import FundingObserved, MarketEvent, PriceObserved, Symbol
from bot.feeds.csvformat import (
    CANDLES,
    FUNDING,
    FloatArray,
    Int64Array,
    ReplayError,
    coerce_floats,
    detect_interval_ms,
    iso,
    line_of,
    parse_timestamps,
    read_columns,
)

__all__ = ["Replay", "ReplayError", "ReplaySpec", "load_replay"]

_SPOT, _PERP, _FUNDING = 0, 1, 2  # event kinds, in the order they are emitted within one timestamp
_MAX_FUNDING_RATE = 0.05  # the same plausibility bound FundingObserved enforces; beyond it a row is bad data
_DAY_MS = 86_400_000
_CHUNK = 65_536  # events materialised per batch: bounded memory on long 1-minute files


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    prices: Path  # spot candles (required)
    funding: Path | None = None
    perp: Path | None = None
    spot_symbols: tuple[Symbol, ...] = ()  # "ETH/USDT", ...; () replays every symbol in the prices file
    perpetuals: tuple[Symbol, ...] = ()  # "BTC/USDT:USDT", ...
    start_ms: int | None = None  # inclusive, on event time
    end_ms: int | None = None  # exclusive
    quote: str = "USDT"


@dataclass(frozen=True, slots=True)
class _Series:
    """Usable rows of one file for the requested symbols: event times, values, and what was dropped."""

    ts: dict[str, Int64Array]  # by file symbol ("ETHUSDT")
    values: dict[str, FloatArray]
    rows: int
    dropped: int
    interval_ms: int = 0  # candle files only
    hours: dict[str, FloatArray] = field(default_factory=dict)  # funding files: settlement interval
    volumes: dict[str, FloatArray] = field(default_factory=dict)  # candle files: quote volume of the 24 h to each close


@dataclass(frozen=True, slots=True, eq=False)
class Replay:
    """Validated, time-ordered market data, ready to be turned into events (as often as asked)."""

    first_ts: int
    last_ts: int
    rows: int  # file rows behind the events (after symbol and range selection, bad rows excluded)
    dropped: int  # rows in the selection with an unusable number (a zero or negative price): skipped, counted
    candle_interval_ms: int
    event_count: int
    _ts: Int64Array
    _kind: npt.NDArray[np.int8]
    _symbol: npt.NDArray[np.int32]
    _value: FloatArray
    _hours: FloatArray
    _symbols: tuple[Symbol, ...]

    def events(self) -> Iterator[MarketEvent]:
        symbols = self._symbols
        for begin in range(0, self.event_count, _CHUNK):
            window = slice(begin, begin + _CHUNK)
            batch = zip(
                self._ts[window].tolist(),
                self._kind[window].tolist(),
                self._symbol[window].tolist(),
                self._value[window].tolist(),
                self._hours[window].tolist(),
                strict=True,
            )
            for ts, kind, symbol, value, hours in batch:
                if kind == _FUNDING:  # a settlement row: "this settles now, at this rate"
                    yield FundingObserved(ts, symbols[symbol], value, ts, hours)
                else:  # a price row's extra column is its 24 h quote volume (NaN: none)
                    yield PriceObserved(ts, symbols[symbol], value, None if hours != hours else hours)


def load_replay(spec: ReplaySpec) -> Replay:
    """Read and validate every file in `spec`; ReplayError (one line, naming the file) on any problem."""
    perp_pairs = {perp: _file_symbol(perp, spec.quote, "perpetuals") for perp in spec.perpetuals}
    perp_series, from_perp_file = _load_perp_prices(spec, perp_pairs)
    spot_series = _load_spot_prices(spec, perp_pairs, from_perp_file)
    spot_pairs = _spot_pairs(spec, spot_series)
    funding_series = _load_funding(spec, perp_pairs)

    builder = _EventBuilder()
    for symbol, pair in spot_pairs.items():
        builder.add(
            _SPOT, symbol, spot_series.ts.get(pair), spot_series.values.get(pair), spot_series.volumes.get(pair)
        )
    for perp, pair in perp_pairs.items():
        source = perp_series if perp in from_perp_file else spot_series
        if source is not None:  # typing: from_perp_file is only non-empty when perp_series exists
            builder.add(_PERP, perp, source.ts.get(pair), source.values.get(pair), source.volumes.get(pair))
        if funding_series is not None:
            hours = funding_series.hours.get(pair)
            builder.add(_FUNDING, perp, funding_series.ts.get(pair), funding_series.values.get(pair), hours)
    parts = [s for s in (spot_series, perp_series, funding_series) if s is not None]
    return builder.build(
        rows=sum(s.rows for s in parts),
        dropped=sum(s.dropped for s in parts),
        candle_interval_ms=spot_series.interval_ms,
    )


# ---- symbols -------------------------------------------------------------------------------------


def _file_symbol(symbol: str, quote: str, field_name: str) -> str:
    """'ETH/USDT' or 'ETH/USDT:USDT' → 'ETHUSDT' (the files' Binance naming), checking the ccxt shape.

    An inverse perpetual 'ETH/USD:ETH' reads the quote's perpetual 'ETHUSDT': the files hold USDⓈ-M prices and
    funding only, a stand-in for COIN-M's own (close, not equal)."""
    perpetual = field_name == "perpetuals"
    base, _, rest = symbol.partition("/")
    pair_quote, colon, settle = rest.partition(":")
    if perpetual and settle == base and pair_quote == "USD":  # inverse: priced and funded as the USD(T) one
        return base + quote
    well_formed = bool(base and pair_quote) and (bool(colon and settle and "-" not in settle) == perpetual)
    if not well_formed:
        kind, example = ("perpetual", f"BTC/{quote}:{quote}") if perpetual else ("spot", f"ETH/{quote}")
        raise ReplayError(f"{field_name}: {symbol!r} is not a ccxt {kind} symbol like {example!r}")
    if pair_quote != quote or (perpetual and settle != quote):
        raise ReplayError(f"{field_name}: {symbol!r} is not quoted in {quote} (quote = {quote!r})")
    return base + pair_quote


def _spot_pairs(spec: ReplaySpec, spot: _Series) -> dict[Symbol, str]:
    if spec.spot_symbols:
        return {s: _file_symbol(s, spec.quote, "spot_symbols") for s in spec.spot_symbols}
    # Nothing named: every pair in the file that is quoted in `quote`.
    return {
        Symbol(f"{pair.removesuffix(spec.quote)}/{spec.quote}"): pair
        for pair in spot.ts
        if pair.endswith(spec.quote) and pair != spec.quote
    }


def _require_symbols(path: Path, frame: pd.DataFrame, wanted: dict[str, str]) -> None:
    """ReplayError naming the first requested symbol absent from the file, and what the file has."""
    present = set(frame["symbol"].cat.categories)
    for pair, purpose in wanted.items():
        if pair not in present:
            has = ", ".join(sorted(present)) or "no symbols"
            raise ReplayError(f"{path}: symbol {pair} ({purpose}) is not in the file; it has {has}")


# ---- files ---------------------------------------------------------------------------------------


def _load_perp_prices(spec: ReplaySpec, perp_pairs: dict[Symbol, str]) -> tuple[_Series | None, set[Symbol]]:
    """Perpetual candles for the perps the perp file has; the others fall back to their base's spot."""
    if spec.perp is None or not perp_pairs:
        return None, set()
    frame = _read_candles(spec.perp)
    present = set(frame["symbol"].cat.categories)
    covered = {perp for perp, pair in perp_pairs.items() if pair in present}
    if not covered:
        return None, set()
    wanted = {perp_pairs[perp]: f"for {perp}" for perp in covered}
    return _candle_series(spec.perp, frame, wanted, spec), covered


def _load_spot_prices(
    spec: ReplaySpec,
    perp_pairs: dict[Symbol, str],
    from_perp_file: set[Symbol],
) -> _Series:
    frame = _read_candles(spec.prices)
    if spec.spot_symbols:
        wanted = {_file_symbol(s, spec.quote, "spot_symbols"): f"for {s}" for s in spec.spot_symbols}
    else:
        pairs = [str(pair) for pair in frame["symbol"].cat.categories]
        wanted = {pair: "in the file" for pair in pairs if pair.endswith(spec.quote) and pair != spec.quote}
    lacking = ", which the perp file lacks" if spec.perp is not None else ""
    for perp, pair in perp_pairs.items():
        if perp not in from_perp_file:
            wanted.setdefault(pair, f"spot price standing in for {perp}{lacking}")
    if not wanted:
        has = ", ".join(sorted(map(str, frame["symbol"].cat.categories))) or "no symbols"
        raise ReplayError(f"{spec.prices}: no pair quoted in {spec.quote} to replay; the file has {has}")
    return _candle_series(spec.prices, frame, wanted, spec)


def _read_candles(path: Path) -> pd.DataFrame:
    return read_columns(path, CANDLES, ("timestamp", "symbol", "close", "volume"))


def _candle_series(path: Path, frame: pd.DataFrame, wanted: dict[str, str], spec: ReplaySpec) -> _Series:
    _require_symbols(path, frame, wanted)
    chosen = frame[frame["symbol"].isin(list(wanted))]
    open_ms = parse_timestamps(path, chosen["timestamp"])
    interval = detect_interval_ms(path, open_ms)
    event_ms = open_ms + interval  # a candle's close is known when the candle ends, not when it opens
    in_range = _in_range(event_ms, spec)
    selected = chosen[in_range]
    _refuse_empty(path, event_ms, in_range, spec, sorted(wanted))
    _refuse_duplicates(path, selected)
    close = coerce_floats(selected["close"])
    good = np.isfinite(close) & (close > 0)
    series = _split(selected["symbol"], event_ms[in_range], close, good)
    base_volume = coerce_floats(selected["volume"])
    with np.errstate(over="ignore", invalid="ignore"):  # an absurd row gives inf: the 24 h sums skip it below
        quote_volume = np.where(np.isfinite(base_volume) & (base_volume > 0), base_volume, 0.0) * close
    quote_volume[~np.isfinite(quote_volume)] = 0.0
    _, quote = _split(selected["symbol"], event_ms[in_range], quote_volume, good)
    volumes = {pair: _trailing_day(series[0][pair], quote[pair]) for pair in series[0]}
    rows, dropped = int(good.sum()), int((~good).sum())
    return _Series(series[0], series[1], rows=rows, dropped=dropped, interval_ms=interval, volumes=volumes)


def _trailing_day(ts: Int64Array, quote: FloatArray) -> FloatArray:
    """The quote volume traded in the 24 h to each close (candles closing after close − 24 h, this one included):
    what a venue's ticker says at that time (the liquidity of proxy candidates, bot.hedge.liquidity)."""
    order = np.argsort(ts, kind="stable")
    ts_sorted, totals = ts[order], np.concatenate([[0.0], np.cumsum(quote[order])])
    first = np.searchsorted(ts_sorted, ts_sorted - _DAY_MS, side="right")
    result: FloatArray = np.empty(ts.size)
    result[order] = np.maximum(totals[1:] - totals[first], 0.0)  # a running sum's rounding never makes it negative
    return result


def _load_funding(spec: ReplaySpec, perp_pairs: dict[Symbol, str]) -> _Series | None:
    if spec.funding is None or not perp_pairs:
        return None
    frame = read_columns(spec.funding, FUNDING, ("timestamp", "symbol", "funding_rate", "funding_interval_hours"))
    wanted = {pair: f"for {perp}" for perp, pair in perp_pairs.items()}
    _require_symbols(spec.funding, frame, wanted)
    chosen = frame[frame["symbol"].isin(list(wanted))]
    settle_ms = parse_timestamps(spec.funding, chosen["timestamp"])
    in_range = _in_range(settle_ms, spec)
    selected = chosen[in_range]
    _refuse_duplicates(spec.funding, selected)
    rate = coerce_floats(selected["funding_rate"])
    hours = coerce_floats(selected["funding_interval_hours"])
    good = np.isfinite(rate) & (np.abs(rate) <= _MAX_FUNDING_RATE) & np.isfinite(hours) & (hours > 0)
    ts, rates = _split(selected["symbol"], settle_ms[in_range], rate, good)
    _, interval_hours = _split(selected["symbol"], settle_ms[in_range], hours, good)
    return _Series(ts, rates, rows=int(good.sum()), dropped=int((~good).sum()), hours=interval_hours)


# ---- selection -----------------------------------------------------------------------------------


def _in_range(ts: Int64Array, spec: ReplaySpec) -> npt.NDArray[np.bool_]:
    keep = np.ones(ts.shape, dtype=bool)
    if spec.start_ms is not None:
        keep &= ts >= spec.start_ms
    if spec.end_ms is not None:
        keep &= ts < spec.end_ms
    return keep


def _refuse_empty(
    path: Path, event_ms: Int64Array, in_range: npt.NDArray[np.bool_], spec: ReplaySpec, pairs: Sequence[str]
) -> None:
    if in_range.any():
        return
    start = iso(spec.start_ms) if spec.start_ms is not None else "the beginning"
    end = iso(spec.end_ms) if spec.end_ms is not None else "the end"
    span = f"{iso(int(event_ms.min()))} to {iso(int(event_ms.max()))}" if event_ms.size else "nothing"
    raise ReplayError(
        f"{path}: no rows for {', '.join(pairs)} with event time from {start} to {end} (exclusive); "
        f"the file covers {span}"
    )


def _refuse_duplicates(path: Path, selected: pd.DataFrame) -> None:
    repeated = selected.duplicated(subset=["timestamp", "symbol"]).to_numpy()
    if repeated.any():
        row = int(selected.index[int(np.flatnonzero(repeated)[0])])
        first = selected.loc[row]
        what = f"a second row for {first['symbol']} at {first['timestamp']}"
        raise ReplayError(f"{path}: line {line_of(row)}: {what}")


def _split(
    symbols: pd.Series, ts: Int64Array, values: FloatArray, good: npt.NDArray[np.bool_]
) -> tuple[dict[str, Int64Array], dict[str, FloatArray]]:
    """Good rows grouped by file symbol, each group in file order."""
    codes = symbols.cat.codes.to_numpy()[good]
    ts, values = ts[good], values[good]
    names = symbols.cat.categories
    by_ts: dict[str, Int64Array] = {}
    by_value: dict[str, FloatArray] = {}
    for code in np.unique(codes).tolist():
        mine = codes == code
        by_ts[str(names[code])], by_value[str(names[code])] = ts[mine], values[mine]
    return by_ts, by_value


# ---- events --------------------------------------------------------------------------------------


class _EventBuilder:
    """Collects per-symbol columns, then orders them by (ts, kind, symbol) into one Replay."""

    def __init__(self) -> None:
        self._parts: list[tuple[int, Symbol, Int64Array, FloatArray, FloatArray]] = []

    def add(
        self,
        kind: int,
        symbol: Symbol,
        ts: Int64Array | None,
        values: FloatArray | None,
        hours: FloatArray | None = None,
    ) -> None:
        if ts is None or values is None or ts.size == 0:
            return
        self._parts.append((kind, symbol, ts, values, hours if hours is not None else np.full(ts.size, np.nan)))

    def build(self, rows: int, dropped: int, candle_interval_ms: int) -> Replay:
        if not self._parts:
            raise ReplayError("the replay selection holds no usable rows (every row in range was bad)")
        symbols = tuple(sorted({symbol for _, symbol, *_ in self._parts}))
        index = {symbol: i for i, symbol in enumerate(symbols)}  # sorted, so index order is symbol order
        ts = np.concatenate([p[2] for p in self._parts])
        kind = np.concatenate([np.full(p[2].size, p[0], dtype=np.int8) for p in self._parts])
        symbol = np.concatenate([np.full(p[2].size, index[p[1]], dtype=np.int32) for p in self._parts])
        order = np.lexsort((symbol, kind, ts))
        return Replay(
            first_ts=int(ts[order[0]]),
            last_ts=int(ts[order[-1]]),
            rows=rows,
            dropped=dropped,
            candle_interval_ms=candle_interval_ms,
            event_count=int(order.size),
            _ts=ts[order],
            _kind=kind[order],
            _symbol=symbol[order],
            _value=np.concatenate([p[3] for p in self._parts])[order],
            _hours=np.concatenate([p[4] for p in self._parts]).astype(np.float64)[order],
            _symbols=symbols,
        )
