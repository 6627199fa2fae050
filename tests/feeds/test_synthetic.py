"""The synthetic market: seeded, regime-switching, correlated; perp marks, books, funding on the 8h grid."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import combinations, pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    BookObserved,
    FundingObserved,
    MarketEvent,
    PriceObserved,
    Symbol,
)
from bot.feeds.synthetic import Regime, SyntheticMarket, SyntheticSpec, profile_for

START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
BTC_PERP, ETH_PERP = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
ALTS = ("ETH", "SOL", "DOGE", "LINK", "AVAX")


def month(seed: int = 7, **changes: Any) -> SyntheticSpec:
    """The default 30-day, 1-minute market on six assets and two perps, with `changes` applied."""
    spec = SyntheticSpec(
        assets=("BTC", *ALTS),
        perpetuals=(BTC_PERP, ETH_PERP),
        start_ms=START,
        end_ms=START + 30 * MS_PER_DAY,
        seed=seed,
    )
    return replace(spec, **changes)


@dataclass(frozen=True)
class SpotPaths:
    """Spot prices by step (rows) and asset (columns), with the regime of each step."""

    ts: np.ndarray
    prices: dict[str, np.ndarray]
    stressed: np.ndarray

    def log_returns(self, base: str) -> np.ndarray:
        return np.diff(np.log(self.prices[base]))

    @property
    def return_stressed(self) -> np.ndarray:
        return self.stressed[1:]  # a return belongs to the step it ends on


@pytest.fixture(scope="module")
def default_month() -> tuple[SyntheticMarket, list[MarketEvent]]:
    market = SyntheticMarket(month())
    return market, list(market.events())


@pytest.fixture(scope="module")
def spot_paths(default_month: tuple[SyntheticMarket, list[MarketEvent]]) -> SpotPaths:
    market, events = default_month
    by_symbol: dict[str, list[float]] = {}
    ts: list[int] = []
    for event in events:
        if isinstance(event, PriceObserved) and ":" not in event.symbol:
            by_symbol.setdefault(event.symbol.split("/")[0], []).append(event.price)
            if event.symbol == "BTC/USDT":
                ts.append(event.ts)
    stressed = np.array([market.regime_at(t) is Regime.STRESS for t in ts])
    return SpotPaths(np.array(ts), {base: np.array(p) for base, p in by_symbol.items()}, stressed)


def short_run(seed: int = 7, **changes: Any) -> list[MarketEvent]:
    return list(SyntheticMarket(month(seed, end_ms=START + 2 * MS_PER_DAY, **changes)).events())


# ---- determinism ---------------------------------------------------------------------------------


def test_the_same_spec_gives_the_identical_event_stream() -> None:
    assert short_run(seed=11) == short_run(seed=11)


def test_a_different_seed_gives_a_different_event_stream() -> None:
    assert short_run(seed=11) != short_run(seed=12)


def test_events_can_be_drawn_twice_from_one_market_with_the_same_result() -> None:
    market = SyntheticMarket(month(end_ms=START + MS_PER_DAY))
    assert list(market.events()) == list(market.events())


def test_adding_an_asset_leaves_the_paths_of_the_others_unchanged() -> None:
    def btc_and_eth(events: list[MarketEvent]) -> list[MarketEvent]:
        return [e for e in events if e.symbol in ("BTC/USDT", "ETH/USDT", "BTC/USDT:USDT")]

    assert btc_and_eth(short_run()) == btc_and_eth(short_run(assets=("BTC", *ALTS, "XRP")))


# ---- regimes and the shape of returns ------------------------------------------------------------


def test_a_default_thirty_day_run_holds_both_calm_and_stress(spot_paths: SpotPaths) -> None:
    stress_steps = int(spot_paths.stressed.sum())
    assert 60 <= stress_steps < spot_paths.stressed.size - 60  # at least an hour of each


def test_the_market_starts_calm() -> None:
    assert SyntheticMarket(month()).regime_at(START) is Regime.CALM


def test_realised_volatility_in_stress_is_more_than_twice_calm_for_every_asset(spot_paths: SpotPaths) -> None:
    stressed = spot_paths.return_stressed
    for base in spot_paths.prices:
        returns = spot_paths.log_returns(base)
        assert returns[stressed].std() > 2 * returns[~stressed].std(), base


def test_assets_move_together_more_in_stress_than_in_calm(spot_paths: SpotPaths) -> None:
    stressed = spot_paths.return_stressed

    def mean_pairwise_correlation(mask: np.ndarray) -> float:
        returns = {base: spot_paths.log_returns(base)[mask] for base in spot_paths.prices}
        pairs = [np.corrcoef(returns[a], returns[b])[0, 1] for a, b in combinations(sorted(returns), 2)]
        return float(np.mean(pairs))

    calm, stress = mean_pairwise_correlation(~stressed), mean_pairwise_correlation(stressed)
    assert stress > calm + 0.1
    assert stress > 0.85


def test_altcoins_fall_more_than_btc_during_stress(spot_paths: SpotPaths) -> None:
    stressed = spot_paths.return_stressed
    btc_move = spot_paths.log_returns("BTC")[stressed].sum()
    assert btc_move < 0
    for alt in ALTS:
        assert spot_paths.log_returns(alt)[stressed].sum() < btc_move, alt


def test_the_calm_market_drifts_up_slightly(spot_paths: SpotPaths) -> None:
    calm = ~spot_paths.return_stressed
    calm_days = calm.sum() / (MS_PER_DAY / MS_PER_MINUTE)
    btc_per_day = spot_paths.log_returns("BTC")[calm].sum() / calm_days
    assert -0.01 < btc_per_day < 0.02  # modest: no crash, no moon shot


# ---- perpetuals: marks, books, funding -----------------------------------------------------------


def test_funding_is_published_hourly_and_settles_on_the_eight_hour_utc_grid(
    default_month: tuple[SyntheticMarket, list[MarketEvent]],
) -> None:
    funding = [e for e in default_month[1] if isinstance(e, FundingObserved) and e.symbol == BTC_PERP]
    assert len(funding) == 30 * 24
    assert all(later.ts - earlier.ts == MS_PER_HOUR for earlier, later in pairwise(funding))
    for event in funding:
        assert event.next_funding_ts % (8 * MS_PER_HOUR) == 0  # 00:00, 08:00, 16:00 UTC
        assert event.ts < event.next_funding_ts <= event.ts + 8 * MS_PER_HOUR
        assert event.interval_hours == 8


def test_funding_is_positive_in_calm_and_can_turn_negative_in_stress(
    default_month: tuple[SyntheticMarket, list[MarketEvent]],
) -> None:
    market, events = default_month
    funding = [e for e in events if isinstance(e, FundingObserved)]
    calm = [e.rate for e in funding if market.regime_at(e.ts) is Regime.CALM]
    stress = [e.rate for e in funding if market.regime_at(e.ts) is Regime.STRESS]
    assert 0.00005 < float(np.median(calm)) < 0.0002  # about 0.01 % per 8 h
    assert min(stress) < 0


def test_a_perp_mark_stays_near_its_spot_and_its_book_brackets_the_mark(
    default_month: tuple[SyntheticMarket, list[MarketEvent]],
) -> None:
    spot: dict[int, float] = {}
    mark: dict[int, float] = {}
    for event in default_month[1]:
        if isinstance(event, PriceObserved) and event.symbol == "ETH/USDT":
            spot[event.ts] = event.price
        elif isinstance(event, PriceObserved) and event.symbol == ETH_PERP:
            mark[event.ts] = event.price
        elif isinstance(event, BookObserved) and event.symbol == ETH_PERP:
            assert event.bid < mark[event.ts] < event.ask
            assert (event.ask - event.bid) / event.mid < 0.001
            assert event.bid_size > 0
            assert event.ask_size > 0
    assert mark.keys() == spot.keys()
    assert max(abs(mark[t] / spot[t] - 1) for t in spot) < 0.01


# ---- assets and profiles -------------------------------------------------------------------------


def test_the_first_step_shows_each_profiles_starting_price() -> None:
    first = [e for e in short_run() if e.ts == START and isinstance(e, PriceObserved) and ":" not in e.symbol]
    assert {e.symbol for e in first} == {f"{base}/USDT" for base in ("BTC", *ALTS)}
    for event in first:  # exp(log(price)) may differ in the last bit
        assert event.price == pytest.approx(profile_for(event.symbol.split("/")[0]).price, rel=1e-12)


def test_btc_and_every_perps_base_are_priced_even_when_not_listed() -> None:
    spec = month(assets=("LINK",), perpetuals=(Symbol("SOL/USDT:USDT"),), end_ms=START + MS_PER_HOUR)
    symbols = {e.symbol for e in SyntheticMarket(spec).events() if isinstance(e, PriceObserved)}
    assert symbols == {"BTC/USDT", "LINK/USDT", "SOL/USDT", "SOL/USDT:USDT"}


def test_altcoins_load_more_on_the_market_than_btc() -> None:
    assert profile_for("BTC").beta == pytest.approx(1.0)
    for alt in ("ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "LINK", "DOT", "LTC", "MATIC"):
        assert profile_for(alt).beta > 1.0, alt


def test_an_inverse_perpetual_is_marked_at_its_spot_and_its_book_is_in_contracts_of_face_value() -> None:
    events = list(SyntheticMarket(month(perpetuals=(Symbol("BTC/USD:BTC"),), end_ms=START + MS_PER_HOUR)).events())
    spot = {e.ts: e.price for e in events if isinstance(e, PriceObserved) and e.symbol == "BTC/USDT"}
    marks = [e for e in events if isinstance(e, PriceObserved) and e.symbol == "BTC/USD:BTC"]
    books = [e for e in events if isinstance(e, BookObserved) and e.symbol == "BTC/USD:BTC"]
    assert marks
    assert all(abs(m.price / spot[m.ts] - 1) < 0.01 for m in marks)
    # a top level of some hundred thousand USD is thousands of 100-USD contracts, not a few coins
    assert min(b.bid_size for b in books) > 100


def test_an_unknown_asset_gets_a_plausible_profile_derived_from_its_name_alone() -> None:
    assert profile_for("FOOBAR") == profile_for("FOOBAR")
    assert profile_for("FOOBAR") != profile_for("BAZQUX")
    assert profile_for("FOOBAR").beta > 1.0
    assert 0 < profile_for("FOOBAR").price < 1_000


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"end_ms": START}, "end_ms"),
        ({"step_ms": 0}, "step_ms"),
        ({"seed": -1}, "seed"),
        ({"stress_duration_ms": -1}, "stress_duration_ms"),
        ({"assets": ("ETH/USDT",)}, "assets"),
        ({"perpetuals": (Symbol("BTC/USDT"),)}, "perpetuals"),
        ({"perpetuals": (Symbol("BTC/EUR:BTC"),)}, "perpetuals"),
    ],
)
def test_a_malformed_spec_is_refused_naming_the_field(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        month(**changes)


# ---- invariants over many markets ----------------------------------------------------------------

_KIND_ORDER = {"spot": 0, "perp": 1, "book": 2, "funding": 3}


def _kind(event: MarketEvent) -> int:
    if isinstance(event, FundingObserved):
        return _KIND_ORDER["funding"]
    if isinstance(event, BookObserved):
        return _KIND_ORDER["book"]
    return _KIND_ORDER["perp" if ":" in event.symbol else "spot"]


@settings(max_examples=25)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    step_ms=st.sampled_from([1, 5, 17, 60, 180]).map(lambda minutes: minutes * MS_PER_MINUTE),
    offset_ms=st.integers(min_value=0, max_value=MS_PER_DAY),
    assets=st.lists(st.sampled_from(["ETH", "SOL", "DOGE", "ZZZ", "PEPE", "Q"]), max_size=4, unique=True),
    stress_hours=st.integers(min_value=1, max_value=48),
)
def test_events_never_go_back_in_time_and_every_price_is_finite_and_positive(
    seed: int, step_ms: int, offset_ms: int, assets: list[str], stress_hours: int
) -> None:
    start = START + offset_ms  # not aligned to the hour: funding still publishes once per hour
    spec = SyntheticSpec(
        assets=tuple(assets),
        perpetuals=(BTC_PERP, Symbol("SOL/USDT:USDT")),
        start_ms=start,
        end_ms=start + 3 * MS_PER_DAY,
        step_ms=step_ms,
        seed=seed,
        calm_duration_ms=MS_PER_DAY,
        stress_duration_ms=stress_hours * MS_PER_HOUR,
    )
    events = list(SyntheticMarket(spec).events())
    assert events[0].ts == start
    assert events[-1].ts < spec.end_ms
    for earlier, later in pairwise(events):
        assert earlier.ts <= later.ts
        if earlier.ts == later.ts:  # within a step: spot, perp, book, funding, each by symbol
            assert (_kind(earlier), earlier.symbol) < (_kind(later), later.symbol)
    for event in events:
        values = [event.bid, event.ask] if isinstance(event, BookObserved) else []
        values += [event.price] if isinstance(event, PriceObserved) else []
        assert all(math.isfinite(v) and v > 0 for v in values)
    hours_seen = {e.ts // MS_PER_HOUR for e in events}
    btc_funding = [e for e in events if isinstance(e, FundingObserved) and e.symbol == BTC_PERP]
    funding_hours = [e.ts // MS_PER_HOUR for e in btc_funding]
    assert sorted(funding_hours) == sorted(hours_seen)
