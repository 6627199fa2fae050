"""The market-data sanity layer holds implausible price prints until what follows confirms them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.sanity import (
    PriceConfirmed,
    PriceDiscarded,
    PriceQuarantined,
    PriceSanity,
    SanitySection,
    Screened,
    reference_of,
)
from bot.domain import PriceObserved, Symbol
from bot.feeds.replay import ReplaySpec, load_replay

SOL = Symbol("SOL/USDT")
BTC_SPOT = Symbol("BTC/USDT")
BTC = Symbol("BTC/USDT:USDT")
ETH_SPOT = Symbol("ETH/USDT")
ETH = Symbol("ETH/USDT:USDT")
HOUR = 3_600_000
MINUTE = 60_000


def _hourly(sanity: PriceSanity, symbol: Symbol, prices: Iterable[float], start: int = 0) -> list[Screened]:
    return [sanity.screen(PriceObserved(start + n * HOUR, symbol, p)) for n, p in enumerate(prices)]


def _warm(sanity: PriceSanity, symbol: Symbol = SOL, level: float = 100.0, hours: int = 48) -> int:
    """An ordinary series: ±0.5 % an hour around `level`; returns the time of the next hour."""
    _hourly(sanity, symbol, [level * (1.005 if n % 2 else 0.995) for n in range(hours)])
    return hours * HOUR


@pytest.mark.parametrize("factor", [1000.0, 0.001])
def test_a_single_print_a_thousand_times_off_is_quarantined_and_discarded_when_the_next_print_is_normal(
    factor: float,
) -> None:
    sanity = PriceSanity(SanitySection())
    now = _warm(sanity)
    bad = sanity.screen(PriceObserved(now, SOL, 100.0 * factor))
    good = sanity.screen(PriceObserved(now + HOUR, SOL, 100.4))
    assert bad.passed == ()
    assert isinstance(bad.notes[0], PriceQuarantined)
    assert good.passed == (PriceObserved(now + HOUR, SOL, 100.4),)
    assert isinstance(good.notes[0], PriceDiscarded)
    assert sanity.last_accepted(SOL) == 100.4
    assert (sanity.stats.quarantined, sanity.stats.discarded, sanity.stats.confirmed) == (1, 1, 0)


def test_ordinary_moves_pass_untouched() -> None:
    sanity = PriceSanity(SanitySection())
    screened = _hourly(sanity, SOL, [100.0, 103.0, 98.0, 110.0, 101.0])
    assert [s.passed[0].price for s in screened] == [100.0, 103.0, 98.0, 110.0, 101.0]  # type: ignore[union-attr]
    assert all(not s.notes for s in screened)


def test_a_new_level_is_accepted_once_the_configured_number_of_later_prints_carry_on_from_it() -> None:
    sanity = PriceSanity(SanitySection(confirmations=2))
    now = _warm(sanity)
    crash = _hourly(sanity, SOL, [60.0, 59.0, 58.5, 58.0], start=now)
    assert [s.passed for s in crash[:2]] == [(), ()]
    assert crash[2].passed == (PriceObserved(now + 2 * HOUR, SOL, 58.5),)
    confirmed = crash[2].notes[0]
    assert isinstance(confirmed, PriceConfirmed)
    assert (confirmed.held, confirmed.by) == (3, "prints")
    assert crash[3].passed == (PriceObserved(now + 3 * HOUR, SOL, 58.0),)
    assert sanity.held(SOL) == ()


def test_without_a_history_of_returns_only_a_move_beyond_max_factor_is_held() -> None:
    sanity = PriceSanity(SanitySection(max_factor=10.0))
    assert sanity.screen(PriceObserved(0, SOL, 100.0)).passed
    assert sanity.screen(PriceObserved(HOUR, SOL, 50.0)).passed  # a halving: no σ to judge it by yet
    assert sanity.screen(PriceObserved(2 * HOUR, SOL, 50_000.0)).passed == ()


def test_a_print_repeated_at_the_same_time_never_confirms_itself() -> None:
    sanity = PriceSanity(SanitySection(confirmations=1))
    now = _warm(sanity)
    repeated = [sanity.screen(PriceObserved(now, SOL, 100_000.0)) for _ in range(5)]
    assert all(s.passed == () for s in repeated)


def test_a_perpetual_and_its_spot_moving_together_are_confirmed_at_once() -> None:
    sanity = PriceSanity(SanitySection())
    for n in range(48):
        price = 40_000.0 * (1.004 if n % 2 else 0.996)
        sanity.screen(PriceObserved(n * HOUR, BTC_SPOT, price))
        sanity.screen(PriceObserved(n * HOUR, BTC, price * 1.0005))
    now = 48 * HOUR
    spot = sanity.screen(PriceObserved(now, BTC_SPOT, 22_000.0))  # −45 %: the perpetual has not printed yet
    perp = sanity.screen(PriceObserved(now, BTC, 22_015.0))
    assert spot.passed == ()
    assert perp.passed == (PriceObserved(now, BTC_SPOT, 22_000.0), PriceObserved(now, BTC, 22_015.0))
    assert {type(note) for note in perp.notes} == {PriceConfirmed}
    assert sanity.last_accepted(BTC_SPOT) == 22_000.0


def test_after_a_perpetual_and_its_spot_are_confirmed_together_their_next_prints_at_that_level_pass() -> None:
    sanity = PriceSanity(SanitySection())
    for n in range(48):
        price = 2_000.0 * (1.004 if n % 2 else 0.996)
        sanity.screen(PriceObserved(n * MINUTE, ETH, price))
        sanity.screen(PriceObserved(n * MINUTE, ETH_SPOT, price))
    now = 48 * MINUTE
    perp = sanity.screen(PriceObserved(now, ETH, 2_200.0))  # +10 % on the perpetual, the spot not yet printed
    spot = sanity.screen(PriceObserved(now, ETH_SPOT, 2_200.0))  # the spot moved there too: both confirmed
    later = [sanity.screen(PriceObserved(now + MINUTE, symbol, 2_201.0)) for symbol in (ETH, ETH_SPOT)]
    assert perp.passed == ()
    assert {type(note) for note in spot.notes} == {PriceConfirmed}
    assert [screened.passed for screened in later] == [
        (PriceObserved(now + MINUTE, ETH, 2_201.0),),
        (PriceObserved(now + MINUTE, ETH_SPOT, 2_201.0),),
    ]


def test_a_basis_is_measured_against_the_references_print_of_the_same_instant_not_its_previous_one() -> None:
    sanity = PriceSanity(SanitySection())
    for n in range(48):
        price = 2_000.0 * (1.004 if n % 2 else 0.996)
        sanity.screen(PriceObserved(n * MINUTE, ETH, price))
        sanity.screen(PriceObserved(n * MINUTE, ETH_SPOT, price))
    now = 48 * MINUTE
    for symbol in (ETH, ETH_SPOT):  # +5.6 % together: the perpetual is held until its spot confirms it
        sanity.screen(PriceObserved(now, symbol, 2_120.0))
    assert (sanity.last_accepted(ETH), sanity.last_accepted(ETH_SPOT)) == (2_120.0, 2_120.0)
    later = sanity.screen(PriceObserved(now + MINUTE, ETH, 2_121.0))
    assert later.passed == (PriceObserved(now + MINUTE, ETH, 2_121.0),)


def test_a_perpetual_print_far_from_its_fresh_spot_is_quarantined_even_within_its_own_volatility() -> None:
    sanity = PriceSanity(SanitySection(min_move=0.2, reference_band=0.05))
    sanity.screen(PriceObserved(0, BTC_SPOT, 40_000.0))
    sanity.screen(PriceObserved(0, BTC, 40_010.0))
    sanity.screen(PriceObserved(HOUR, BTC_SPOT, 40_100.0))
    off = sanity.screen(PriceObserved(HOUR, BTC, 44_800.0))  # +12 %: within min_move, 12 % above spot
    assert off.passed == ()
    assert "away from BTC/USDT" in off.notes[0].reason  # type: ignore[union-attr]


def test_a_series_references_the_other_source_of_the_same_coin_and_a_dated_contract_none() -> None:
    assert reference_of(BTC) == BTC_SPOT
    assert reference_of(BTC_SPOT) == BTC
    assert reference_of(Symbol("BTC/USDT:USDT-230331")) is None


def test_switched_off_it_passes_everything() -> None:
    sanity = PriceSanity(SanitySection(enabled=False))
    now = _warm(sanity)
    assert sanity.screen(PriceObserved(now, SOL, 1e9)).passed == (PriceObserved(now, SOL, 1e9),)


@given(
    moves=st.lists(st.floats(min_value=-0.01, max_value=0.01), min_size=30, max_size=60),
    factor=st.sampled_from([1000.0, 100.0, 10.0, 0.1, 0.01, 0.001]),
    at=st.integers(min_value=12, max_value=29),
)
def test_a_lone_print_ten_times_off_or_more_never_passes_and_the_series_resumes_after_it(
    moves: list[float], factor: float, at: int
) -> None:
    sanity = PriceSanity(SanitySection())
    prices = [100.0]
    for move in moves:
        prices.append(prices[-1] * (1 + move))
    prints = [p * factor if n == at else p for n, p in enumerate(prices)]
    screened = _hourly(sanity, SOL, prints)
    assert screened[at].passed == ()
    assert [s.passed for s in screened[at + 1 :]] == [
        (PriceObserved(n * HOUR, SOL, prices[n]),) for n in range(at + 1, len(prices))
    ]


def test_the_module_imports_no_event_loop_nor_exchange_client() -> None:
    code = "import sys, bot.core.sanity; print(sorted({'asyncio', 'aiohttp', 'ccxt'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _screen_file(path: Path) -> tuple[PriceSanity, int, dict[Symbol, int]]:
    """Every print of a real file through the filter: the longest time (ms) a series stayed held."""
    sanity = PriceSanity(SanitySection())
    since: dict[Symbol, int] = {}
    longest = 0
    last: dict[Symbol, float] = {}
    for event in load_replay(ReplaySpec(prices=path)).events():
        assert isinstance(event, PriceObserved)
        last[event.symbol] = event.price
        for note in sanity.screen(event).notes:
            if isinstance(note, PriceQuarantined):
                since.setdefault(note.symbol, note.ts)
            else:
                longest = max(longest, note.ts - since.pop(note.symbol, note.ts))
    held = {symbol: len(sanity.held(symbol)) for symbol in last if sanity.held(symbol)}
    assert all(sanity.last_accepted(symbol) == price for symbol, price in last.items() if symbol not in held)
    return sanity, longest, held


@pytest.mark.data
def test_the_real_crash_of_may_2021_in_one_minute_candles_is_never_held_more_than_a_few_minutes(
    shared_data: Path,
) -> None:
    path = shared_data / "crash_1m_2021-05-12.csv.gz"
    if not path.is_file():
        pytest.skip(f"real market data {path} is absent (expected ../shared/data beside the repository)")
    closes = [e.price for e in load_replay(ReplaySpec(prices=path)).events() if e.symbol == "DOGE/USDT"]  # type: ignore[union-attr]
    fall = min(min(closes[n : n + 61]) / closes[n] for n in range(len(closes) - 60)) - 1
    assert fall <= -0.30  # DOGE lost more than 30 % within an hour: the crash is real and in the file
    _, longest, held = _screen_file(path)
    assert longest <= 5 * MINUTE
    assert held == {}
