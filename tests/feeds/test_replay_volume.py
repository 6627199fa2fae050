"""A replayed print carries the quote volume traded in the 24 h to it (volume × close of the candles closing in
them), as a venue's ticker would: the liquidity of proxy candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import PriceObserved, Symbol
from bot.feeds.replay import ReplaySpec, load_replay
from tests.feeds.test_replay import CANDLE_HEADER, write_csv

BTC, BTC_PERP = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


def _candles(hours: int, volume: object = 2.0) -> list[tuple[object, ...]]:
    """Hourly candles over two days from 2021-01-01, closing at 100 + the hour, each trading `volume` BTC."""
    rows: list[tuple[object, ...]] = []
    for h in range(hours):
        open_time = f"2021-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z"
        rows.append((open_time, "BTCUSDT", 1.0, 1.0, 1.0, 100.0 + h, volume))
    return rows


def _prices(path: Path, symbol: Symbol, perpetual: bool = False) -> list[PriceObserved]:
    spec = ReplaySpec(path, perpetuals=(symbol,)) if perpetual else ReplaySpec(path, spot_symbols=(symbol,))
    return [e for e in load_replay(spec).events() if isinstance(e, PriceObserved) and e.symbol == symbol]


def test_each_print_carries_the_quote_volume_of_the_24h_to_it(tmp_path: Path) -> None:
    prices = _prices(write_csv(tmp_path / "p.csv.gz", CANDLE_HEADER, _candles(48)), BTC)
    assert prices[0].quote_volume_24h == pytest.approx(2.0 * 100.0)  # the first candle alone
    assert prices[23].quote_volume_24h == pytest.approx(2.0 * sum(100.0 + h for h in range(24)))
    assert prices[47].quote_volume_24h == pytest.approx(2.0 * sum(100.0 + h for h in range(24, 48)))  # a day back


def test_a_perpetual_priced_from_its_spot_carries_the_spots_volume(tmp_path: Path) -> None:
    prices = _prices(write_csv(tmp_path / "p.csv.gz", CANDLE_HEADER, _candles(24)), BTC_PERP, perpetual=True)
    assert prices[-1].quote_volume_24h == pytest.approx(2.0 * sum(100.0 + h for h in range(24)))


def test_an_unusable_volume_counts_as_nothing_traded_and_never_costs_the_price(tmp_path: Path) -> None:
    rows = _candles(3)
    rows[1] = (*rows[1][:6], -5.0)
    prices = _prices(write_csv(tmp_path / "p.csv.gz", CANDLE_HEADER, rows), BTC)
    assert [p.price for p in prices] == [100.0, 101.0, 102.0]
    assert prices[2].quote_volume_24h == pytest.approx(2.0 * 100.0 + 2.0 * 102.0)


def test_the_volume_is_no_part_of_a_prints_identity() -> None:
    assert PriceObserved(0, BTC, 1.0, 5.0) == PriceObserved(0, BTC, 1.0)
