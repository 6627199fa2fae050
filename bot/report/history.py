"""History for `hedgebot stress --history DIR`: the real price paths of past crashes and the daily returns.

DIR is a folder in the format of ../shared/data (README there): `prices_1h.csv.gz` (hourly spot candles) and,
when present, the 1-minute crash files. Reads closes only; symbols "BTCUSDT" become assets "BTC". Gaps in the
files stay gaps: a path simply has fewer points, and a daily return needs two closes exactly a day apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HOURLY = "prices_1h.csv.gz"
PricePath = list[tuple[str, dict[str, float]]]  # (timestamp label, asset → close), oldest first


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    file: str
    start: str  # ISO timestamps, [start, end)
    end: str


# The stress events of ../shared/data: each replayed from its first close to the book's worst point.
WINDOWS = (
    Window("2020-03-12 crash", HOURLY, "2020-03-11T00:00:00Z", "2020-03-14T00:00:00Z"),
    Window("2021-04-18 cascade (1m)", "crash_1m_2021-04-18.csv.gz", "2021-04-17T18:00:00Z", "2021-04-19T00:00:00Z"),
    Window("2021-05-12 sell-off (1m)", "crash_1m_2021-05-12.csv.gz", "2021-05-12T00:00:00Z", "2021-05-14T00:00:00Z"),
    Window("2021-05-19 crash", HOURLY, "2021-05-18T00:00:00Z", "2021-05-20T00:00:00Z"),
    Window("LUNA collapse, May 2022", HOURLY, "2022-05-05T00:00:00Z", "2022-05-13T00:00:00Z"),
    Window("3AC collapse, June 2022", HOURLY, "2022-06-10T00:00:00Z", "2022-06-19T00:00:00Z"),
    Window("FTX collapse, Nov 2022", HOURLY, "2022-11-06T00:00:00Z", "2022-11-10T00:00:00Z"),
)


class HistoryError(ValueError):
    """The history folder cannot be read as asked; one line."""


def _closes(path: Path, quote: str) -> pd.DataFrame:
    """Closes as a frame: one row per timestamp (sorted), one column per asset quoted in `quote`."""
    try:
        frame = pd.read_csv(path, usecols=["timestamp", "symbol", "close"])
    except (OSError, ValueError, EOFError) as exc:
        raise HistoryError(f"{path}: not a readable candle file ({exc})") from None
    frame = frame[frame["symbol"].str.endswith(quote)]
    frame["asset"] = frame["symbol"].str.removesuffix(quote)
    return frame.pivot(index="timestamp", columns="asset", values="close").sort_index()


def _points(closes: pd.DataFrame) -> PricePath:
    return [
        (str(ts).replace("T", " ")[:16], {str(asset): float(v) for asset, v in row.items() if pd.notna(v)})
        for ts, row in closes.iterrows()
    ]


class History:
    """The folder's files, each read once."""

    def __init__(self, folder: Path, quote: str) -> None:
        if not (folder / HOURLY).is_file():
            raise HistoryError(f"--history {folder}: no {HOURLY} there (a folder like ../shared/data)")
        self.folder = folder
        self.quote = quote
        self._cache: dict[str, pd.DataFrame] = {}

    def closes(self, file: str) -> pd.DataFrame | None:
        if file not in self._cache:
            path = self.folder / file
            if not path.is_file():
                return None
            self._cache[file] = _closes(path, self.quote)
        return self._cache[file]

    def paths(self) -> list[tuple[str, PricePath]]:
        """Each window's price path; a window whose file is absent is left out."""
        result = []
        for window in WINDOWS:
            closes = self.closes(window.file)
            if closes is None:
                continue
            inside = closes[(closes.index >= window.start) & (closes.index < window.end)]
            if len(inside):
                result.append((window.name, _points(inside)))
        return result

    def daily_returns(self) -> list[dict[str, float]]:
        """Close-to-close returns from each 00:00 hourly close to the next day's; assets without both left out."""
        closes = self.closes(HOURLY)
        assert closes is not None  # checked in __init__
        days = closes[closes.index.str.endswith("T00:00:00Z")]
        times = pd.to_datetime(days.index)
        returns = days.pct_change(fill_method=None)
        consecutive = (times.to_series().diff() == pd.Timedelta(days=1)).to_numpy()
        return [
            {str(asset): float(v) for asset, v in row.items() if pd.notna(v)}
            for (_, row), ok in zip(returns.iterrows(), consecutive, strict=True)
            if ok
        ]
