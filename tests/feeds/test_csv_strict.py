"""Strict CSV reading (issue 14, item 3): a row with a missing or extra field, or a value that is not a number where
a number belongs, is one line naming the file, the line and the column; nothing is read with its columns shifted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.domain import Symbol
from bot.feeds.replay import ReplayError, ReplaySpec, load_replay

CANDLE_HEADER = "timestamp,symbol,open,high,low,close,volume"
FUNDING_HEADER = "timestamp,symbol,funding_rate,funding_interval_hours,mark_price,calc_time_ms"
ETH, ETH_PERP = Symbol("ETH/USDT"), Symbol("ETH/USDT:USDT")
NUMBER_COLUMNS = ("open", "high", "low", "close", "volume")


def _candles(hours: int = 4) -> list[str]:
    """ETHUSDT candles opening at 00:00, 01:00, ... on 2021-01-01: close 100 + hour, volume 5000 + hour."""
    return [f"2021-01-01T{h:02d}:00:00Z,ETHUSDT,99.5,101.5,98.5,{100 + h},{5000 + h}" for h in range(hours)]


def _write(path: Path, header: str, rows: Sequence[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _refused(spec: ReplaySpec) -> str:
    with pytest.raises(ReplayError) as caught:
        load_replay(spec)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _with_row(rows: list[str], line: int, row: str) -> list[str]:
    """`rows` with data line `line` of the file (the header is line 1) replaced by `row`."""
    changed = list(rows)
    changed[line - 2] = row
    return changed


# ---- the shifted-columns attack --------------------------------------------------------------------------


def test_a_candle_row_missing_a_field_is_refused_instead_of_read_with_its_volume_as_the_close(tmp_path: Path) -> None:
    # "open" is missing: read positionally, high becomes open ... and the volume, 5002, becomes the close
    short = "2021-01-01T02:00:00Z,ETHUSDT,101.5,98.5,102,5002"
    path = _write(tmp_path / "prices.csv", CANDLE_HEADER, _with_row(_candles(), 4, short))
    message = _refused(ReplaySpec(prices=path, spot_symbols=(ETH,)))
    assert str(path) in message
    assert "line 4" in message
    assert "column volume" in message
    assert "6 fields" in message


def test_a_candle_row_with_an_extra_field_is_refused_naming_its_line(tmp_path: Path) -> None:
    long = "2021-01-01T02:00:00Z,ETHUSDT,99.5,101.5,98.5,102,5002,7"
    message = _refused(ReplaySpec(_write(tmp_path / "p.csv", CANDLE_HEADER, _with_row(_candles(), 4, long))))
    assert "line 4" in message
    assert "8 fields" in message


def test_an_extra_field_on_the_first_data_row_is_refused_not_taken_for_an_index_column(tmp_path: Path) -> None:
    long = "2021-01-01T00:00:00Z,ETHUSDT,99.5,101.5,98.5,100,5000,7"
    message = _refused(ReplaySpec(_write(tmp_path / "p.csv", CANDLE_HEADER, _with_row(_candles(), 2, long))))
    assert "line 2" in message
    assert "8 fields" in message


def test_a_funding_row_missing_a_field_is_refused_naming_its_line(tmp_path: Path) -> None:
    prices = _write(tmp_path / "p.csv", CANDLE_HEADER, _candles())
    rows = [
        "2021-01-01T00:00:00Z,ETHUSDT,0.0001,8,,1609459200000",
        "2021-01-01T08:00:00Z,ETHUSDT,0.0001,8,1609488000000",  # mark_price and its comma missing
    ]
    funding = _write(tmp_path / "f.csv", FUNDING_HEADER, rows)
    message = _refused(ReplaySpec(prices, funding, spot_symbols=(ETH,), perpetuals=(ETH_PERP,)))
    assert str(funding) in message
    assert "line 3" in message
    assert "column calc_time_ms" in message


# ---- values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", NUMBER_COLUMNS)
@pytest.mark.parametrize("value", ["", "abc", "nan", "inf", "-Infinity", "１.5", "0x10", "1_5", "1.5e"])
def test_a_value_that_is_not_a_number_in_any_candle_number_column_is_refused_naming_line_and_column(
    tmp_path: Path, column: str, value: str
) -> None:
    fields = _candles()[2].split(",")
    fields[CANDLE_HEADER.split(",").index(column)] = value
    path = _write(tmp_path / "p.csv", CANDLE_HEADER, _with_row(_candles(), 4, ",".join(fields)))
    message = _refused(ReplaySpec(path, spot_symbols=(ETH,)))
    assert f"{path}: line 4, column {column}: " in message
    assert (repr(value) if value else "is empty") in message


def test_an_empty_mark_price_is_accepted_but_a_word_there_is_refused(tmp_path: Path) -> None:
    prices = _write(tmp_path / "p.csv", CANDLE_HEADER, _candles())
    empty = ["2021-01-01T00:00:00Z,ETHUSDT,0.0001,8,,1609459200000"]  # as the real file has it before 2020-06
    spec = ReplaySpec(prices, _write(tmp_path / "f.csv", FUNDING_HEADER, empty), perpetuals=(ETH_PERP,))
    assert load_replay(spec).rows == 4 + 1
    word = ["2021-01-01T00:00:00Z,ETHUSDT,0.0001,8,n/a,1609459200000"]
    spec = ReplaySpec(prices, _write(tmp_path / "f2.csv", FUNDING_HEADER, word), perpetuals=(ETH_PERP,))
    assert "line 2, column mark_price: 'n/a'" in _refused(spec)


def test_the_first_bad_row_in_the_file_is_the_one_named(tmp_path: Path) -> None:
    rows = _with_row(_with_row(_candles(), 3, "2021-01-01T01:00:00Z,ETHUSDT,1,2,3,x,5"), 5, "short,row")
    assert "line 3, column close" in _refused(ReplaySpec(_write(tmp_path / "p.csv", CANDLE_HEADER, rows)))


def test_a_zero_or_negative_close_is_still_a_number_dropped_and_counted(tmp_path: Path) -> None:
    rows = _with_row(_with_row(_candles(), 3, _candles()[1].replace(",101,", ",0,")), 4, _candles()[2])
    rows = _with_row(rows, 5, _candles()[3].replace(",103,", ",-5,"))
    replay = load_replay(ReplaySpec(_write(tmp_path / "p.csv", CANDLE_HEADER, rows)))
    assert (replay.rows, replay.dropped) == (2, 2)


_NOT_A_NUMBER = st.one_of(
    st.sampled_from(["", "nan", "NaN", "inf", "+inf", "Infinity", "null", "-", ".", "e3", "1e", "1..2", "0x1"]),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters=",\r\n\"'"), min_size=1, max_size=6
    ).filter(lambda text: not _is_decimal(text)),
)


def _is_decimal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    stripped = text.strip()
    return stripped.isascii() and "n" not in stripped.lower() and "_" not in stripped and bool(stripped)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.integers(min_value=2, max_value=7), column=st.sampled_from(NUMBER_COLUMNS), value=_NOT_A_NUMBER)
def test_any_non_number_in_a_number_column_is_one_line_naming_its_line_and_column(
    tmp_path: Path, line: int, column: str, value: str
) -> None:
    rows = _candles(6)
    fields = rows[line - 2].split(",")
    fields[CANDLE_HEADER.split(",").index(column)] = value
    path = _write(tmp_path / "p.csv", CANDLE_HEADER, _with_row(rows, line, ",".join(fields)))
    assert f"line {line}, column {column}: " in _refused(ReplaySpec(path))


# ---- the command line ------------------------------------------------------------------------------------


def test_a_backtest_on_a_file_with_a_short_row_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = "2021-01-01T02:00:00Z,ETHUSDT,101.5,98.5,102,5002"
    prices = _write(tmp_path / "prices.csv", CANDLE_HEADER, _with_row(_candles(), 4, short))
    funding = _write(tmp_path / "funding.csv", FUNDING_HEADER, ["2021-01-01T00:00:00Z,ETHUSDT,0.0001,8,,0"])
    config = tmp_path / "c.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n[portfolio.holdings]\nETH = 1.0\n')
    code = main(["backtest", "--config", str(config), "--prices", str(prices), "--funding", str(funding)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"hedgebot: {prices}: line 4")
