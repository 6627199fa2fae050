"""Reading the ../shared/data CSV formats: gzip or plain CSV, a checked header, UTC ISO-8601 timestamps.

Every problem with the file itself (missing, not gzip, not text, wrong header, unparseable timestamp, broken
line) becomes one `ReplayError` naming the file and, where there is one, the line and the column.
Bad *values* are not this module's business: the caller drops and counts them.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

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

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_LINE = 1  # data row i (0-based) sits on line i + 2 of the file
_ENCODING = "utf-8-sig"  # UTF-8, tolerating the byte-order mark some spreadsheet exports write

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


def read_columns(path: Path, expected: Sequence[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """The `dtypes` columns of a CSV whose header must hold every name in `expected`.

    The frame keeps the file's row numbers as its index (see `line_of`). If some value in a float64 column
    is not a number, those columns come back as text instead, for the caller to coerce: a bad value is
    dropped and counted, never fatal. Everything wrong with the file itself raises ReplayError.
    """
    gzipped = _is_gzip(path)
    header = _header(path, gzipped)
    missing = [name for name in expected if name not in header]
    if missing:
        found = ",".join(header) if header else "nothing (empty file)"
        wanted, absent = ",".join(expected), ",".join(missing)
        raise ReplayError(f"{path}: wrong header: expected columns {wanted}; found {found} (lacks {absent})")
    try:
        return _read(path, gzipped, dtypes)
    except ReplayError:
        raise
    except ValueError:  # pandas does not say which value failed to parse as a float: read as text
        as_text = {name: "str" if kind == "float64" else kind for name, kind in dtypes.items()}
    try:
        return _read(path, gzipped, as_text)
    except ReplayError:
        raise
    except ValueError as exc:
        raise ReplayError(f"{path}: cannot be read as CSV ({_one_line(exc)})") from None


def _read(path: Path, gzipped: bool, dtypes: Mapping[str, str]) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            usecols=list(dtypes),
            dtype=dict(dtypes),
            compression="gzip" if gzipped else None,
            encoding=_ENCODING,
        )
    except UnicodeDecodeError:  # first: it is a ValueError too, but the message should say "not text"
        raise ReplayError(f"{path}: is not a CSV text file (it does not decode as UTF-8)") from None
    except pd.errors.ParserError as exc:
        raise ReplayError(f"{path}: is not a well-formed CSV ({_one_line(exc)})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ReplayError(f"{path}: is not a readable gzip CSV ({_one_line(exc)})") from None


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
