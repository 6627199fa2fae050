"""Replay of the ../shared/data files: events at candle close, gaps kept, bad rows counted, clear errors."""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, FundingObserved, MarketEvent, PriceObserved, Symbol
from bot.feeds.replay import Replay, ReplayError, ReplaySpec, load_replay

CANDLE_HEADER = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
FUNDING_HEADER = (
    "timestamp",
    "symbol",
    "funding_rate",
    "funding_interval_hours",
    "mark_price",
    "calc_time_ms",
)
BTC, ETH, SOL = Symbol("BTC/USDT"), Symbol("ETH/USDT"), Symbol("SOL/USDT")
BTC_PERP, SOL_PERP = Symbol("BTC/USDT:USDT"), Symbol("SOL/USDT:USDT")


def ms(text: str) -> int:
    """'2021-01-01T01:00' (UTC) → epoch milliseconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def first_three_hours_of_2021(spec: ReplaySpec) -> ReplaySpec:
    """Events from the candles opened at 00:00, 01:00 and 02:00 on 2021-01-01."""
    return replace(spec, start_ms=ms("2021-01-01T01:00"), end_ms=ms("2021-01-01T04:00"))


def prices_of(events: Sequence[MarketEvent], symbol: str) -> list[PriceObserved]:
    return [e for e in events if isinstance(e, PriceObserved) and e.symbol == symbol]


def funding_of(events: Sequence[MarketEvent], symbol: str) -> list[FundingObserved]:
    return [e for e in events if isinstance(e, FundingObserved) and e.symbol == symbol]


def file_closes(path: Path, pair: str, first_open: str, last_open: str) -> dict[str, float]:
    """Closes read straight from the file with the csv module: open time text → close."""
    closes: dict[str, float] = {}
    with gzip.open(path, "rt", newline="") as text:
        for row in csv.DictReader(text):
            if row["timestamp"] > last_open:  # the files are sorted by timestamp
                break
            if row["symbol"] == pair and row["timestamp"] >= first_open:
                closes[row["timestamp"]] = float(row["close"])
    return closes


# ---- the real files ------------------------------------------------------------------------------


@pytest.mark.data
def test_a_known_week_holds_168_hourly_rows_per_symbol_and_21_funding_settlements(
    prices_1h: Path, funding_8h: Path
) -> None:
    spec = ReplaySpec(
        prices=prices_1h,
        funding=funding_8h,
        spot_symbols=(BTC, ETH),
        perpetuals=(BTC_PERP,),
        start_ms=ms("2021-01-01T01:00"),  # the close of the candle opened at midnight
        end_ms=ms("2021-01-08T01:00"),
    )
    replay = load_replay(spec)
    events = list(replay.events())
    assert len(prices_of(events, "BTC/USDT")) == len(prices_of(events, "ETH/USDT")) == 168
    assert len(prices_of(events, "BTC/USDT:USDT")) == 168  # no perp file: from BTC spot
    assert len(funding_of(events, "BTC/USDT:USDT")) == 21
    assert (replay.rows, replay.dropped) == (2 * 168 + 21, 0)
    assert (replay.first_ts, replay.last_ts) == (ms("2021-01-01T01:00"), ms("2021-01-08T00:00"))
    assert replay.event_count == len(events)


@pytest.mark.data
def test_a_price_event_comes_one_hour_after_its_candle_opens_with_that_candles_close(prices_1h: Path) -> None:
    spec = first_three_hours_of_2021(ReplaySpec(prices_1h, spot_symbols=(BTC,)))
    events = list(load_replay(spec).events())
    closes = file_closes(prices_1h, "BTCUSDT", "2021-01-01T00:00:00Z", "2021-01-01T02:00:00Z")
    assert [(e.ts, e.price) for e in prices_of(events, "BTC/USDT")] == [
        (ms("2021-01-01T01:00"), closes["2021-01-01T00:00:00Z"]),
        (ms("2021-01-01T02:00"), closes["2021-01-01T01:00:00Z"]),
        (ms("2021-01-01T03:00"), closes["2021-01-01T02:00:00Z"]),
    ]


@pytest.mark.data
def test_the_five_hour_outage_of_2020_02_19_yields_no_events_and_no_invented_flat_returns(
    prices_1h: Path,
) -> None:
    spec = ReplaySpec(prices_1h, spot_symbols=(BTC, ETH), start_ms=ms("2020-02-19"), end_ms=ms("2020-02-20"))
    events = list(load_replay(spec).events())
    assert not [e for e in events if ms("2020-02-19T12:00") < e.ts < ms("2020-02-19T18:00")]
    btc = prices_of(events, "BTC/USDT")
    assert len(btc) == 24 - 5
    across = [(a, b) for a, b in pairwise(btc) if b.ts - a.ts > MS_PER_HOUR]
    assert [(a.ts, b.ts) for a, b in across] == [(ms("2020-02-19T12:00"), ms("2020-02-19T18:00"))]
    closes = file_closes(prices_1h, "BTCUSDT", "2020-02-19T11:00:00Z", "2020-02-19T17:00:00Z")
    assert [a.price for a, _ in across] == [closes["2020-02-19T11:00:00Z"]]
    assert [b.price for _, b in across] == [closes["2020-02-19T17:00:00Z"]]


@pytest.mark.data
def test_a_perpetual_is_priced_from_the_perp_file_where_it_has_the_symbol(
    prices_1h: Path,
    perp_1h: Path,
) -> None:
    spec = ReplaySpec(prices_1h, perp=perp_1h, spot_symbols=(BTC,), perpetuals=(BTC_PERP,))
    spec = first_three_hours_of_2021(spec)
    events = list(load_replay(spec).events())
    perp_closes = file_closes(perp_1h, "BTCUSDT", "2021-01-01T00:00:00Z", "2021-01-01T02:00:00Z")
    assert [e.price for e in prices_of(events, "BTC/USDT:USDT")] == list(perp_closes.values())
    assert [e.price for e in prices_of(events, "BTC/USDT")] != list(perp_closes.values())  # spot differs


@pytest.mark.data
def test_a_perpetual_missing_from_the_perp_file_is_priced_from_its_spot(
    prices_1h: Path,
    perp_1h: Path,
) -> None:
    spec = ReplaySpec(prices_1h, perp=perp_1h, spot_symbols=(ETH,), perpetuals=(SOL_PERP,))
    spec = first_three_hours_of_2021(spec)
    events = list(load_replay(spec).events())
    spot_closes = file_closes(prices_1h, "SOLUSDT", "2021-01-01T00:00:00Z", "2021-01-01T02:00:00Z")
    assert [e.price for e in prices_of(events, "SOL/USDT:USDT")] == list(spot_closes.values())
    assert prices_of(events, "SOL/USDT") == []  # SOL spot was not asked for, only used


@pytest.mark.data
def test_sol_funding_settles_every_two_hours_during_the_ftx_collapse(
    prices_1h: Path,
    funding_8h: Path,
) -> None:
    spec = ReplaySpec(
        prices=prices_1h,
        funding=funding_8h,
        perpetuals=(SOL_PERP, BTC_PERP),
        spot_symbols=(SOL,),
        start_ms=ms("2022-11-10T04:00"),
        end_ms=ms("2022-11-11"),
    )
    events = list(load_replay(spec).events())
    sol = funding_of(events, "SOL/USDT:USDT")
    assert [e.ts for e in sol] == [ms("2022-11-10T04:00") + i * 2 * MS_PER_HOUR for i in range(10)]
    assert all(e.interval_hours == 2 and e.next_funding_ts == e.ts for e in sol)  # "settles now"
    btc = funding_of(events, "BTC/USDT:USDT")
    assert [e.ts for e in btc] == [ms("2022-11-10T08:00"), ms("2022-11-10T16:00")]
    assert all(e.interval_hours == 8 for e in btc)


@pytest.mark.data
def test_the_whole_hourly_file_replays_every_row_of_all_17_symbols(prices_1h: Path) -> None:
    replay = load_replay(ReplaySpec(prices=prices_1h))
    assert (replay.rows, replay.dropped, replay.candle_interval_ms) == (416_298, 0, MS_PER_HOUR)
    assert (replay.first_ts, replay.last_ts) == (ms("2020-01-01T01:00"), ms("2023-01-01T00:00"))
    count, previous = 0, 0
    for event in replay.events():
        assert event.ts >= previous
        count, previous = count + 1, event.ts
    assert count == 416_298


# ---- small files written here --------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    lines = [",".join(header), *(",".join(str(v) for v in row) for row in rows)]
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def candle(open_time: str, pair: str, close: object) -> tuple[object, ...]:
    return (open_time, pair, 1.0, 1.0, 1.0, close, 10.0)


def hourly(pair: str, hours: int, start_price: float = 100.0) -> list[tuple[object, ...]]:
    """Candles opening at 00:00, 01:00, ... on 2021-01-01, closing at start_price + the hour."""
    return [candle(f"2021-01-01T{h:02d}:00:00Z", pair, start_price + h) for h in range(hours)]


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    rows = [*hourly("BTCUSDT", 6, 30_000.0), *hourly("ETHUSDT", 6), *hourly("SOLUSDT", 6, 2.0)]
    rows.sort()  # by (timestamp, symbol), as the real files are
    return write_csv(tmp_path / "prices.csv.gz", CANDLE_HEADER, rows)


@pytest.fixture
def funding(tmp_path: Path) -> Path:
    rows = [
        ("2021-01-01T00:00:00Z", "BTCUSDT", 0.0001, 8, "", 0),
        ("2021-01-01T02:00:00Z", "SOLUSDT", -0.0005, 2, "", 0),
        ("2021-01-01T04:00:00Z", "SOLUSDT", 0.0002, 2, "", 0),
    ]
    return write_csv(tmp_path / "funding.csv.gz", FUNDING_HEADER, rows)


def test_within_one_timestamp_spot_comes_before_perp_before_funding_each_by_symbol(
    prices: Path,
    funding: Path,
) -> None:
    spec = ReplaySpec(prices, funding, spot_symbols=(SOL, ETH), perpetuals=(SOL_PERP, BTC_PERP))
    two = ms("2021-01-01T02:00")
    at_two = [(type(e).__name__, e.symbol) for e in load_replay(spec).events() if e.ts == two]
    assert at_two == [
        ("PriceObserved", "ETH/USDT"),
        ("PriceObserved", "SOL/USDT"),
        ("PriceObserved", "BTC/USDT:USDT"),
        ("PriceObserved", "SOL/USDT:USDT"),
        ("FundingObserved", "SOL/USDT:USDT"),
    ]


def test_the_range_is_on_event_time_start_inclusive_end_exclusive(prices: Path) -> None:
    spec = ReplaySpec(
        prices=prices, spot_symbols=(ETH,), start_ms=ms("2021-01-01T02:00"), end_ms=ms("2021-01-01T04:00")
    )
    assert [(e.ts, e.price) for e in prices_of(list(load_replay(spec).events()), "ETH/USDT")] == [
        (ms("2021-01-01T02:00"), 101.0),  # opened 01:00
        (ms("2021-01-01T03:00"), 102.0),
    ]


def test_no_spot_symbols_named_replays_every_pair_in_the_file(prices: Path) -> None:
    symbols = {e.symbol for e in load_replay(ReplaySpec(prices=prices)).events()}
    assert symbols == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}


def test_one_minute_candles_become_events_one_minute_after_they_open(tmp_path: Path) -> None:
    minutes = (0, 1, 2, 5, 6)  # 01:03 and 01:04 are missing
    rows = [candle(f"2021-04-20T01:{m:02d}:00Z", "BTCUSDT", 50_000 + m) for m in minutes]
    replay = load_replay(ReplaySpec(prices=write_csv(tmp_path / "crash.csv", CANDLE_HEADER, rows)))
    assert replay.candle_interval_ms == MS_PER_MINUTE
    assert [e.ts for e in replay.events()] == [ms(f"2021-04-20T01:{m:02d}") for m in (1, 2, 3, 6, 7)]


def test_a_plain_uncompressed_csv_is_read_too(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "prices.csv", CANDLE_HEADER, hourly("ETHUSDT", 3))
    assert load_replay(ReplaySpec(prices=path, spot_symbols=(ETH,))).rows == 3


def test_numbers_unusable_as_prices_or_rates_are_dropped_and_counted_never_fatal(tmp_path: Path) -> None:
    # (a value that is not a number at all is refused with its line and column: tests/feeds/test_csv_strict.py)
    closes = [0, -5, 0.0, -0.0, -1e-9, 0, 105]
    rows = [candle(f"2021-01-01T{h:02d}:00:00Z", "ETHUSDT", c) for h, c in enumerate([100, *closes])]
    rows.append(candle("2021-01-01T00:00:00Z", "BTCUSDT", -1))  # a bad row in a symbol not asked for
    prices = write_csv(tmp_path / "prices.csv.gz", CANDLE_HEADER, sorted(rows))
    funding_rows = [
        ("2021-01-01T00:00:00Z", "ETHUSDT", -0.06, 8, "", 0),  # beyond the plausibility bound
        ("2021-01-01T01:00:00Z", "ETHUSDT", 0.9, 8, "", 0),  # 90 % per settlement: not plausible
        ("2021-01-01T02:00:00Z", "ETHUSDT", 0.0001, 0, "", 0),  # zero-hour interval
        ("2021-01-01T03:00:00Z", "ETHUSDT", 0.0, 8, "", 0),  # a zero rate is a real rate
        ("2021-01-01T04:00:00Z", "ETHUSDT", -0.001, 8, "", 0),
        ("2021-01-01T05:00:00Z", "ETHUSDT", 0.0001, -8, "", 0),  # a negative interval
    ]
    funding = write_csv(tmp_path / "funding.csv.gz", FUNDING_HEADER, funding_rows)
    spec = ReplaySpec(prices, funding, spot_symbols=(ETH,), perpetuals=(Symbol("ETH/USDT:USDT"),))
    replay = load_replay(spec)
    events = list(replay.events())
    assert [e.price for e in prices_of(events, "ETH/USDT")] == [100.0, 105.0]
    assert [e.rate for e in funding_of(events, "ETH/USDT:USDT")] == [0.0, -0.001]
    assert (replay.rows, replay.dropped) == (2 + 2, 6 + 4)


@settings(max_examples=30)
@given(
    table=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=47),  # open hour
            st.sampled_from(["BTCUSDT", "ETHUSDT"]),
            st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(0.0)),  # non-numbers: refused
        ),
        min_size=1,
        max_size=60,
        unique_by=lambda row: (row[0], row[1]),
    ),
)
def test_every_good_row_becomes_one_event_in_time_order_and_every_bad_one_is_counted(
    table: list[tuple[int, str, float]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    anchor = candle("2020-12-31T00:00:00Z", "BTCUSDT", 1.0)  # and the next hour: two opens fix the interval
    rows = [anchor, candle("2020-12-31T01:00:00Z", "ETHUSDT", 1.0)]
    rows += [candle(f"2021-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z", pair, c) for h, pair, c in table]
    path = write_csv(tmp_path_factory.mktemp("hyp") / "p.csv", CANDLE_HEADER, rows)
    replay = load_replay(ReplaySpec(prices=path))
    events = list(replay.events())
    good = [c for _, _, c in table if math.isfinite(c) and c > 0]
    assert (replay.rows, len(events)) == (2 + len(good), 2 + len(good))
    assert replay.dropped == len(table) - len(good)
    assert all(a.ts <= b.ts for a, b in pairwise(events))


# ---- errors: one line naming the file and what was wrong -----------------------------------------


def refused(spec: ReplaySpec) -> str:
    with pytest.raises(ReplayError) as caught:
        load_replay(spec)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    message = refused(ReplaySpec(prices=tmp_path / "nowhere.csv.gz"))
    assert "nowhere.csv.gz" in message
    assert "not found" in message


def test_a_file_named_gz_that_is_not_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_text(",".join(CANDLE_HEADER) + "\n")
    assert "not gzip" in refused(ReplaySpec(prices=path))


def test_a_truncated_gzip_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress(b"timestamp,symbol,open,high,low,close,volume\n" * 50)[:30])
    assert "prices.csv.gz" in refused(ReplaySpec(prices=path))


def test_a_binary_file_is_refused_as_not_csv_text(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(b"\xff\xfe\x00\x81binary\x00\x9f" * 20)
    assert "not a CSV text file" in refused(ReplaySpec(prices=path))


@pytest.mark.parametrize(
    "header", [("time", "symbol", "open", "high", "low", "close", "volume"), ("timestamp", "symbol"), ()]
)
def test_a_wrong_header_is_refused_naming_the_expected_columns(
    tmp_path: Path,
    header: tuple[str, ...],
) -> None:
    path = write_csv(tmp_path / "prices.csv.gz", header, []) if header else tmp_path / "empty.csv"
    path.touch()
    message = refused(ReplaySpec(prices=path))
    assert "expected columns timestamp,symbol,open,high,low,close,volume" in message


def test_an_unterminated_quote_is_refused_as_not_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(",".join(CANDLE_HEADER) + '\n"2021-01-01T00:00:00Z,ETHUSDT,1,1,1,1,1\n')
    assert "not a well-formed CSV" in refused(ReplaySpec(prices=path))


def test_a_byte_order_mark_before_the_header_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(b"\xef\xbb\xbf" + write_csv(path, CANDLE_HEADER, hourly("ETHUSDT", 2)).read_bytes())
    assert load_replay(ReplaySpec(prices=path)).rows == 2


def test_a_wrong_funding_header_names_the_funding_columns(prices: Path) -> None:
    message = refused(ReplaySpec(prices=prices, funding=prices, perpetuals=(BTC_PERP,)))
    assert "expected columns timestamp,symbol,funding_rate,funding_interval_hours" in message


def test_a_requested_spot_symbol_absent_from_the_file_is_named_with_what_the_file_has(prices: Path) -> None:
    message = refused(ReplaySpec(prices=prices, spot_symbols=(ETH, Symbol("DOGE/USDT"))))
    assert "DOGEUSDT" in message
    assert "DOGE/USDT" in message
    assert "it has BTCUSDT, ETHUSDT, SOLUSDT" in message


def test_a_perpetual_with_no_funding_rows_in_the_funding_file_is_named(prices: Path, funding: Path) -> None:
    message = refused(ReplaySpec(prices=prices, funding=funding, perpetuals=(Symbol("ETH/USDT:USDT"),)))
    assert "funding.csv.gz" in message
    assert "ETHUSDT" in message
    assert "it has BTCUSDT, SOLUSDT" in message


def test_a_perpetual_in_neither_the_perp_file_nor_the_spot_file_is_named(
    prices: Path,
    tmp_path: Path,
) -> None:
    perp = write_csv(tmp_path / "perp.csv.gz", CANDLE_HEADER, hourly("BTCUSDT", 3))
    message = refused(ReplaySpec(prices=prices, perp=perp, perpetuals=(Symbol("XRP/USDT:USDT"),)))
    assert "XRPUSDT" in message
    assert "XRP/USDT:USDT" in message


def test_a_date_range_with_no_rows_is_refused_with_what_the_file_covers(prices: Path) -> None:
    message = refused(ReplaySpec(prices=prices, start_ms=ms("2022-01-01"), end_ms=ms("2022-02-01")))
    assert "no rows" in message
    assert "2022-01-01T00:00:00Z" in message
    assert "the file covers 2021-01-01T01:00:00Z to 2021-01-01T06:00:00Z" in message


def test_an_unreadable_timestamp_is_refused_naming_the_line_and_column(tmp_path: Path) -> None:
    rows = [*hourly("ETHUSDT", 2), candle("01/01/2021 02:00", "ETHUSDT", 1.0)]
    message = refused(ReplaySpec(prices=write_csv(tmp_path / "p.csv.gz", CANDLE_HEADER, rows)))
    assert "line 4, column timestamp" in message
    assert "01/01/2021 02:00" in message


def test_a_repeated_row_for_one_symbol_and_time_is_refused_naming_the_line(tmp_path: Path) -> None:
    rows = [*hourly("ETHUSDT", 3), candle("2021-01-01T01:00:00Z", "ETHUSDT", 7.0)]
    message = refused(ReplaySpec(prices=write_csv(tmp_path / "p.csv.gz", CANDLE_HEADER, rows)))
    assert "line 5" in message
    assert "ETHUSDT" in message


@pytest.mark.parametrize(
    ("spec_field", "symbol"),
    [
        ("spot_symbols", "ETHUSDT"),
        ("spot_symbols", "ETH/USDT:USDT"),
        ("perpetuals", "ETH/USDT"),
        ("perpetuals", "BTC/EUR:BTC"),
    ],
)
def test_a_symbol_that_is_not_ccxt_unified_in_the_quote_is_refused(
    prices: Path,
    spec_field: str,
    symbol: str,
) -> None:
    overrides: dict[str, Any] = {spec_field: (Symbol(symbol),)}
    spec = replace(ReplaySpec(prices), **overrides)
    message = refused(spec)
    assert spec_field in message
    assert symbol in message


def test_a_replay_can_be_iterated_more_than_once(prices: Path) -> None:
    replay: Replay = load_replay(ReplaySpec(prices=prices))
    assert list(replay.events()) == list(replay.events())
