"""History from an exchange through ccxt, written in the ../shared/data CSV format the replay reads.

    result = await download_history(client, DownloadSpec(symbols, since_ms, until_ms), out_dir)

Writes, for the symbols asked:
- `prices_1h.csv.gz`: hourly candles of spot pairs ("BTC/USDT"). A derivatives exchange that lists no spot
  pair (binanceusdm) gives the index-price candles of the pair's perpetual instead: Binance's index is a
  composite of spot prices, the same price the live feed values spot holdings by.
- `perp_1h.csv.gz`: hourly candles of perpetuals ("ETH/USDT:USDT").
- `funding_8h.csv.gz`: the funding settlements of those perpetuals (rate, interval, mark price).

Pages are fetched until the range is covered (`fetch_ohlcv`, `fetch_funding_rate_history`); a candle is kept
only once it has closed before `until_ms`. Rows with a missing, non-finite or non-positive price are dropped
and counted, never written: gaps stay gaps, as in the shared files. Each file is written whole, to a
temporary name first, so an interrupted download never leaves half a file under the real name.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain import MS_PER_HOUR, Symbol, perp_symbol
from bot.feeds.csvformat import CANDLE_COLUMNS, FUNDING_COLUMNS, iso
from bot.venues.ccxt_client import CcxtRest
from bot.venues.ccxt_errors import Backoff, Operation

__all__ = ["DownloadError", "DownloadSpec", "Downloaded", "download_history", "file_symbol"]

PRICES_FILE, PERP_FILE, FUNDING_FILE = "prices_1h.csv.gz", "perp_1h.csv.gz", "funding_8h.csv.gz"
TIMEFRAME, CANDLE_MS = "1h", MS_PER_HOUR
_DEFAULT_FUNDING_HOURS = 8.0  # a perpetual with a single settlement in range: Binance's usual interval


class DownloadError(ValueError):
    """A download that cannot be done as asked; the message names the symbol or the problem."""


@dataclass(frozen=True, slots=True)
class DownloadSpec:
    symbols: tuple[Symbol, ...]  # "BTC/USDT" (spot), "ETH/USDT:USDT" (perpetual)
    since_ms: int  # first candle open / settlement time wanted (inclusive)
    until_ms: int  # exclusive: candles that closed by then, settlements before then
    page_limit: int = 1000  # rows per request (Binance allows 1500 candles and 1000 funding rows)


@dataclass(frozen=True, slots=True)
class Downloaded:
    """What was written: rows per file and per symbol, and rows dropped for bad values."""

    files: Mapping[str, int]  # file name -> data rows
    rows: Mapping[str, int]  # "BTC/USDT prices", "ETH/USDT:USDT funding" -> rows
    dropped: int


@dataclass(frozen=True, slots=True)
class _Source:
    """Where one asked symbol's prices come from."""

    symbol: Symbol  # as asked
    fetch_as: Symbol  # the market requested
    file: str
    params: Mapping[str, str]  # {"price": "index"} for a spot pair priced by its perpetual's index
    funding: bool


def file_symbol(symbol: str) -> str:
    """'ETH/USDT' and 'ETH/USDT:USDT' → 'ETHUSDT', the files' Binance naming."""
    base, _, rest = symbol.partition("/")
    return base + rest.split(":", 1)[0]


async def download_history(client: Any, spec: DownloadSpec, out_dir: Path, *, attempts: int = 5) -> Downloaded:
    """Fetch and write the files for `spec` into `out_dir` (created); DownloadError or a VenueError on failure."""
    if spec.until_ms <= spec.since_ms:
        raise DownloadError(f"nothing to download: until {iso(spec.until_ms)} is not after since {iso(spec.since_ms)}")
    rest = CcxtRest(client, Backoff(), attempts, random.Random())  # noqa: S311 -- retry jitter only
    if client.markets is None:
        await rest.call(Operation.SETUP, client.load_markets)
    sources = [_source(client, symbol) for symbol in dict.fromkeys(spec.symbols)]
    rows: dict[str, list[list[str]]] = {PRICES_FILE: [], PERP_FILE: [], FUNDING_FILE: []}
    counts: dict[str, int] = {}
    dropped = 0
    for source in sources:
        candles, bad = await _candles(rest, client, source, spec)
        rows[source.file] += candles
        counts[f"{source.symbol} {'prices' if source.file == PRICES_FILE else 'perp'}"] = len(candles)
        dropped += bad
        if source.funding:
            settlements, bad = await _funding(rest, client, source, spec)
            rows[FUNDING_FILE] += settlements
            counts[f"{source.symbol} funding"] = len(settlements)
            dropped += bad
    files = _write_all(out_dir, rows)
    return Downloaded(files, counts, dropped)


def _source(client: Any, symbol: Symbol) -> _Source:
    markets: Mapping[str, Mapping[str, Any]] = client.markets
    market = markets.get(symbol)
    kind = market.get("type") if market is not None else None
    if kind == "spot":
        return _Source(symbol, symbol, PRICES_FILE, {}, funding=False)
    if kind == "swap":
        return _Source(symbol, symbol, PERP_FILE, {}, funding=True)
    if kind is not None:
        raise DownloadError(f"{symbol}: a {kind} market; the data format holds spot pairs and perpetuals only")
    base, _, quote = symbol.partition("/")
    perp = perp_symbol(base, quote)
    if ":" not in symbol and quote and perp in markets:
        return _Source(symbol, perp, PRICES_FILE, {"price": "index"}, funding=False)
    raise DownloadError(f"{symbol}: {client.id} lists neither it nor a perpetual {perp} whose index prices it")


async def _candles(rest: CcxtRest, client: Any, source: _Source, spec: DownloadSpec) -> tuple[list[list[str]], int]:
    """Closed hourly candles in [since, until), page by page: (CSV rows, rows dropped)."""
    by_open: dict[int, Any] = {}
    cursor = spec.since_ms - spec.since_ms % CANDLE_MS
    while cursor < spec.until_ms:
        args = (source.fetch_as, TIMEFRAME, cursor, spec.page_limit, dict(source.params))
        batch: list[Any] = await rest.read(client.fetch_ohlcv, *args)
        fresh = {at: c for c in batch if (at := _open_ms(c)) is not None and at >= cursor}
        if not fresh:
            break
        by_open.update(fresh)
        cursor = max(fresh) + CANDLE_MS
    name, kept, bad = file_symbol(source.symbol), [], 0
    for open_ms in sorted(by_open):
        if not (spec.since_ms <= open_ms and open_ms + CANDLE_MS <= spec.until_ms):
            continue
        values = _candle_values(by_open[open_ms])
        if values is None:
            bad += 1
        else:
            kept.append([iso(open_ms), name, *values])
    if not kept:
        raise DownloadError(
            f"{source.symbol}: no {TIMEFRAME} candles from {iso(spec.since_ms)} to {iso(spec.until_ms)}"
        )
    return kept, bad


def _open_ms(candle: Any) -> int | None:
    if not isinstance(candle, list | tuple) or len(candle) < 6 or isinstance(candle[0], bool):
        return None
    return int(candle[0]) if isinstance(candle[0], int | float) and math.isfinite(candle[0]) else None


def _candle_values(candle: Any) -> list[str] | None:
    """open, high, low, close, volume as text; None when a price is not a finite positive number."""
    prices = [price for value in candle[1:5] if (price := _finite(value)) is not None and price > 0]
    if len(prices) != 4:
        return None
    volume = _finite(candle[5])
    return [_text(p) for p in prices] + [_text(volume if volume is not None and volume >= 0 else 0.0)]


async def _funding(rest: CcxtRest, client: Any, source: _Source, spec: DownloadSpec) -> tuple[list[list[str]], int]:
    """Funding settlements in [since, until), page by page: (CSV rows, rows dropped)."""
    by_ts: dict[int, Mapping[str, Any]] = {}
    cursor = spec.since_ms
    while cursor < spec.until_ms:
        batch: list[Any] = await rest.read(client.fetch_funding_rate_history, source.fetch_as, cursor, spec.page_limit)
        fresh = [r for r in batch if isinstance(r, Mapping) and isinstance(r.get("timestamp"), int)]
        fresh = [r for r in fresh if r["timestamp"] >= cursor]
        if not fresh:
            break
        by_ts.update((int(r["timestamp"]), r) for r in fresh)
        cursor = max(by_ts) + 1
    times = sorted(ts for ts in by_ts if spec.since_ms <= ts < spec.until_ms)
    name, kept, bad = file_symbol(source.symbol), [], 0
    for ts, hours in zip(times, _interval_hours(times), strict=True):
        row = by_ts[ts]
        rate = _finite(row.get("fundingRate"))
        if rate is None:
            bad += 1
            continue
        raw = row.get("info")
        info: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        mark = _finite(info.get("markPrice"))
        calc = info.get("fundingTime", ts)
        mark_text = _text(mark) if mark is not None and mark > 0 else ""
        kept.append([iso(ts), name, _text(rate), _text(hours), mark_text, str(int(calc))])
    return kept, bad


def _interval_hours(times: list[int]) -> list[float]:
    """Each settlement's interval: the shorter gap to a neighbour (a missing row only lengthens one gap)."""
    if len(times) < 2:
        return [_DEFAULT_FUNDING_HOURS] * len(times)
    gaps = [(b - a) / MS_PER_HOUR for a, b in itertools.pairwise(times)]
    return [min(g for g in (gaps[i - 1] if i else None, gaps[i] if i < len(gaps) else None) if g is not None)
            for i in range(len(times))]  # fmt: skip


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(value: float) -> str:
    """The shortest text that reads back as the same float ('8' for 8.0, as the shared files write it)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _write_all(out_dir: Path, rows: Mapping[str, list[list[str]]]) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: len(table) for name, table in rows.items() if table}
    for name in files:
        _write(out_dir / name, FUNDING_COLUMNS if name == FUNDING_FILE else CANDLE_COLUMNS, rows[name])
    return files


def _write(path: Path, header: Iterable[str], rows: list[list[str]]) -> None:
    """Long form, sorted by (timestamp, symbol), no duplicate pair; gzip, replacing `path` in one step."""
    unique = {(row[0], row[1]): row for row in rows}
    temporary = path.with_name(f".{path.name}.partial")
    with gzip.open(temporary, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(unique[key] for key in sorted(unique))
    os.replace(temporary, path)
