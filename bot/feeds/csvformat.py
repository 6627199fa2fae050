"""Reading the ../shared/data CSV formats: gzip or plain CSV, a checked header, UTC ISO-8601 timestamps.

Every problem with the file itself (missing, not gzip, not text, wrong header, unparseable timestamp, broken
line) becomes one `ReplayError` naming the file and, where there is one, the line and the column. So does every
row whose fields do not match the header one for one (a missing field would shift the columns: the volume read
as the close), and every value that is not a decimal number where the format puts a number (empty, a word,
nan, inf, full-width digits). Numbers that are implausible as prices (zero, negative) are the caller's business:
it drops and counts them.

Reading stays at pandas' speed: the C parser reads every column, and only when what it returns shows a sign of
trouble (a parser error, a non-finite number, a gap in the last column) is the file read again, row by row with
the csv module, to name the first bad line and column.
"""

from __future__ import annotations

import csv
import gzip
import re
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd

CANDLE_COLUMNS = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = (
    "timestamp",
    "symbol",
    "funding_rate",
    "funding_interval_hours",
    "mark_price",
    "calc_time_ms",
)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """A file's columns and which of them hold numbers: on every row (`numbers`) or on rows that have one
    (`optional_numbers`: empty allowed, like the funding file's mark price before Binance published it)."""

    columns: tuple[str, ...]
    numbers: tuple[str, ...]
    optional_numbers: tuple[str, ...] = ()


CANDLES = CsvFormat(CANDLE_COLUMNS, ("open", "high", "low", "close", "volume"))
FUNDING = CsvFormat(FUNDING_COLUMNS, ("funding_rate", "funding_interval_hours", "calc_time_ms"), ("mark_price",))

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_LINE = 1  # data row i (0-based) sits on line i + 2 of the file
_ENCODING = "utf-8-sig"  # UTF-8, tolerating the byte-order mark some spreadsheet exports write
# A decimal number as the files write them; ASCII only, so no full-width digit, nan, inf or 1_000 gets through.
# Blanks around it are tolerated, as pandas' parser tolerates them on the fast path.
_NUMBER = re.compile(r"[ \t]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t]*", re.ASCII)

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class ReplayError(ValueError):
    """A replay input that cannot be used; the message is one line naming the file and what was wrong."""


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
    except FileNotFoundError:
        raise ReplayError(f"{path}: file not found") from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if magic != _GZIP_MAGIC and path.name.endswith(".gz"):
        raise ReplayError(f"{path}: is named .gz but is not gzip-compressed")
    return magic == _GZIP_MAGIC


def _header(path: Path, gzipped: bool) -> list[str]:
    try:
        if gzipped:
            with gzip.open(path, "rt", encoding=_ENCODING, newline="") as text:
                first = text.readline()
        else:
            with path.open(encoding=_ENCODING, newline="") as text:
                first = text.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise ReplayError(f"{path}: is not a readable gzip file ({exc})") from None
    except UnicodeDecodeError:
        raise ReplayError(f"{path}: is not a CSV text file (it does not decode as UTF-8)") from None
    first = first.rstrip("\r\n")
    return first.split(",") if first else []


def read_columns(path: Path, fmt: CsvFormat, keep: Sequence[str]) -> pd.DataFrame:
    """The `keep` columns of a CSV in format `fmt`, its header holding every column of the format.

    The frame keeps the file's row numbers as its index (see `line_of`); its number columns are float64 and
    those of `fmt.numbers` finite. A row that does not match the header field for field, or a value that is not a
    number where the format puts one, raises ReplayError naming the line and column, as does everything wrong
    with the file itself.
    """
    gzipped = _is_gzip(path)
    header = _header(path, gzipped)
    missing = [name for name in fmt.columns if name not in header]
    if missing:
        found = ",".join(header) if header else "nothing (empty file)"
        wanted, absent = ",".join(fmt.columns), ",".join(missing)
        raise ReplayError(f"{path}: wrong header: expected columns {wanted}; found {found} (lacks {absent})")
    try:
        frame = _read(path, gzipped, header, fmt)
    except ReplayError:
        raise
    except (ValueError, pd.errors.ParserWarning) as exc:  # a value or a row pandas could not take: find which
        _refuse_first_bad_row(path, gzipped, header, fmt)
        raise ReplayError(f"{path}: cannot be read as CSV ({_one_line(exc)})") from None
    if _suspect(frame, header, fmt):
        _refuse_first_bad_row(path, gzipped, header, fmt)
    return frame[list(keep)]


def _read(path: Path, gzipped: bool, header: Sequence[str], fmt: CsvFormat) -> pd.DataFrame:
    """Every column, numbers as float64. A word pandas reads as missing ("nan", "NA") comes back NaN, which
    `_suspect` sends to the row-by-row check; where an empty number is allowed, only an empty field is missing
    (slower, so only for such formats), so that such a word fails instead of passing as empty."""
    kinds = {name: "str" for name in header} | {"symbol": "category"}
    kinds |= {name: "float64" for name in (*fmt.numbers, *fmt.optional_numbers)}
    try:
        with warnings.catch_warnings():
            # a first row longer than the header is otherwise taken silently as an index column
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame: pd.DataFrame = pd.read_csv(  # typed here: the ** options leave pandas' overloads undecided
                path,
                dtype=kinds,
                index_col=False,
                **_missing_values(fmt),
                compression="gzip" if gzipped else None,
                encoding=_ENCODING,
            )
    except UnicodeDecodeError:  # first: it is a ValueError too, but the message should say "not text"
        raise ReplayError(f"{path}: is not a CSV text file (it does not decode as UTF-8)") from None
    except pd.errors.ParserError as exc:
        if "Expected" in str(exc):  # a row with more fields than the header: named by the row-by-row check
            raise ValueError(str(exc)) from None
        raise ReplayError(f"{path}: is not a well-formed CSV ({_one_line(exc)})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ReplayError(f"{path}: is not a readable gzip CSV ({_one_line(exc)})") from None
    return frame


def _missing_values(fmt: CsvFormat) -> dict[str, Any]:
    return {"keep_default_na": False, "na_values": [""]} if fmt.optional_numbers else {}


def _suspect(frame: pd.DataFrame, header: Sequence[str], fmt: CsvFormat) -> bool:
    """Whether the fast read may hide a bad row: a required number missing or not finite, an optional one
    infinite, or the last column empty (where a row short of fields leaves its gap)."""
    if any(not np.isfinite(frame[name].to_numpy()).all() for name in fmt.numbers):
        return True
    if any(np.isinf(frame[name].to_numpy()).any() for name in fmt.optional_numbers):
        return True
    return bool(frame[header[-1]].isna().any())


def _refuse_first_bad_row(path: Path, gzipped: bool, header: Sequence[str], fmt: CsvFormat) -> None:
    """ReplayError naming the first row, in file order, whose fields or numbers are wrong; None if none is."""
    required = {header.index(name): name for name in fmt.numbers}
    optional = {header.index(name): name for name in fmt.optional_numbers}
    for line, row in _rows(path, gzipped):
        if len(row) != len(header):
            raise ReplayError(f"{path}: line {line}, {_field_count(row, header)}")
        for index, name in required.items():
            if not _NUMBER.fullmatch(row[index]):
                what = "is empty" if not row[index] else f"{row[index]!r} is not a number"
                raise ReplayError(f"{path}: line {line}, column {name}: {what} where the format has a number")
        for index, name in optional.items():
            if row[index] and not _NUMBER.fullmatch(row[index]):
                raise ReplayError(f"{path}: line {line}, column {name}: {row[index]!r} is not a number (nor empty)")


def _field_count(row: Sequence[str], header: Sequence[str]) -> str:
    if len(row) < len(header):
        return (
            f"column {header[len(row)]}: {len(row)} fields where the header has {len(header)}; a row missing a"
            " field would be read with its columns shifted"
        )
    return f"column {header[-1]}: {len(row)} fields where the header has {len(header)} (extra fields after it)"


def _rows(path: Path, gzipped: bool) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every data row, blank lines skipped as pandas skips them."""
    with _text(path, gzipped) as text:
        reader = csv.reader(text, strict=True)
        try:
            next(reader, None)  # the header, checked already
            for row in reader:
                if row:
                    yield reader.line_num, row
        except csv.Error as exc:
            raise ReplayError(f"{path}: line {reader.line_num}: is not a well-formed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise ReplayError(f"{path}: is not a CSV text file (it does not decode as UTF-8)") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise ReplayError(f"{path}: is not a readable gzip CSV ({_one_line(exc)})") from None


def _text(path: Path, gzipped: bool) -> TextIO:
    if gzipped:
        return gzip.open(path, "rt", encoding=_ENCODING, newline="")
    return path.open(encoding=_ENCODING, newline="")


def line_of(row_index: int) -> int:
    """The 1-based line of the file that holds data row `row_index` (the header is line 1)."""
    return row_index + _HEADER_LINE + 1


def parse_timestamps(path: Path, column: pd.Series) -> Int64Array:
    """UTC 'YYYY-MM-DDTHH:MM:SSZ' strings → epoch milliseconds; ReplayError naming the first bad line."""
    parsed = pd.to_datetime(column, format=TIMESTAMP_FORMAT, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ReplayError(
            f"{path}: line {line_of(int(column.index[row]))}, column timestamp: {column.iloc[row]!r} is not "
            f"a UTC time like 2020-01-01T00:00:00Z"
        )
    return parsed.dt.as_unit("ms").to_numpy().view(np.int64)


def coerce_floats(column: pd.Series) -> FloatArray:
    """Numbers as float64, anything unparseable as NaN (to be dropped and counted by the caller)."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def detect_interval_ms(path: Path, timestamps: Int64Array) -> int:
    """The candle interval: the most common step between consecutive distinct open times.

    The mode, not the minimum, so one stray timestamp cannot shrink it; gaps only lengthen some steps.
    """
    distinct = np.unique(timestamps)
    if distinct.size < 2:
        raise ReplayError(f"{path}: cannot tell the candle interval from fewer than two distinct timestamps")
    steps, counts = np.unique(np.diff(distinct), return_counts=True)
    return int(steps[np.argmax(counts)])


def iso(ms: int) -> str:
    """Epoch milliseconds as the files write them (UTC, second resolution)."""
    return str(np.datetime64(ms, "ms").astype("datetime64[s]")) + "Z"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
