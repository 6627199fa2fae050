"""`hedgebot data download`: price and funding history from an exchange, in the ../shared/data CSV format.

    hedgebot data download --exchange binanceusdm --symbols BTC/USDT,ETH/USDT:USDT --since 2024-01-01 --out DIR

Public endpoints only: no API key is read. `--endpoint http://127.0.0.1:PORT` sends every request to another
host (the loopback exchange of `hedgebot exchange-sim`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

from bot.clock import WallClock
from bot.config import VenueSection
from bot.domain import Symbol
from bot.execution.venue_errors import VenueError
from bot.feeds.download import Downloaded, DownloadError, DownloadSpec, download_history
from bot.secrets import redact
from bot.venues.ccxt_client import make_client

EXCHANGES: tuple[str, ...] = get_args(VenueSection.model_fields["exchange"].annotation)


def add_parser(sub: Any) -> None:
    data = sub.add_parser("data", help="market data: download history in the replay's CSV format")
    actions = data.add_subparsers(dest="data_command", required=True)
    download = actions.add_parser("download", help="hourly candles and funding history through ccxt")
    download.add_argument("--exchange", choices=EXCHANGES, default="binanceusdm")
    download.add_argument(
        "--symbols", required=True, type=_symbols, help="comma-separated, like BTC/USDT,ETH/USDT:USDT"
    )
    download.add_argument("--since", required=True, type=_day, help="first day, YYYY-MM-DD (UTC)")
    download.add_argument("--until", type=_day, help="day after the last one, YYYY-MM-DD (default: now)")
    download.add_argument("--out", required=True, type=Path, help="directory for the CSV files (created)")
    download.add_argument("--endpoint", help="send every request to this host, like http://127.0.0.1:8765")


def run(args: argparse.Namespace) -> int:
    """Download and write; one line per file written, or one error line and exit 2."""
    until_ms = _ms(args.until) if args.until is not None else WallClock().now_ms()
    spec = DownloadSpec(tuple(args.symbols), _ms(args.since), until_ms)
    try:
        result = asyncio.run(_download(args.exchange, args.endpoint, spec, args.out))
    except (DownloadError, VenueError) as exc:
        print(f"hedgebot data download: {redact(with_cause(exc))}", file=sys.stderr)
        return 2
    for name, rows in result.files.items():
        print(f"{args.out / name}: {rows:,} rows")
    if result.dropped:
        print(f"dropped {result.dropped:,} rows with a missing or non-finite price or rate")
    return 0


def with_cause(exc: BaseException) -> str:
    """The error and, when it says no more than the request (ccxt: 'binanceusdm GET <url>'), the root cause it
    wraps: the refused connection, the failed name resolution, the timeout."""
    text, root, seen = str(exc), exc, {id(exc)}
    while (nested := root.__cause__ or root.__context__) is not None and id(nested) not in seen:
        seen.add(id(nested))
        root = nested
    if root is exc:
        return text
    detail = root.strerror if isinstance(root, OSError) and root.strerror else str(root)
    return f"{text}: {type(root).__name__}: {detail}" if detail not in text else text


async def _download(exchange: str, endpoint: str | None, spec: DownloadSpec, out: Path) -> Downloaded:
    client = make_client(VenueSection.model_validate({"exchange": exchange, "endpoint": endpoint}))
    try:
        return await download_history(client, spec, out)
    finally:
        await client.close()


def _symbols(text: str) -> list[Symbol]:
    symbols = [Symbol(part.strip()) for part in text.split(",") if part.strip()]
    bad = [s for s in symbols if "/" not in s]
    if not symbols or bad:
        raise argparse.ArgumentTypeError(f"{text!r}: give ccxt symbols like BTC/USDT,ETH/USDT:USDT")
    return symbols


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-01") from None


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
