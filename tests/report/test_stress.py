"""Stress scenarios, checked against numbers worked out by hand, and the invariants that tie them together.

The book used throughout: spot ETH 10 @ 2,000 and SOL 100 @ 100 (30,000); a short of 0.5 BTC perpetual
@ 40,000 (−20,000 notional); hedge-account equity 10,000; maintenance margin rate 0.5 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Instrument, InstrumentKind, Symbol
from bot.report.stress import (
    Book,
    HedgePosition,
    Holding,
    Scenario,
    btc_up_alts_down,
    default_scenarios,
    format_stress,
    funding_spike,
    margin_haircut,
    market_crash,
    run_stress,
    stress,
)

BTC_PERP = Instrument(Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT")
ETH_PERP = Instrument(Symbol("ETH/USDT:USDT"), "ETH", "USDT", InstrumentKind.PERPETUAL, settle="USDT")
BTC_QUARTER = Instrument(
    Symbol("BTC/USDT:USDT-250328"),
    "BTC",
    "USDT",
    InstrumentKind.FUTURE,
    settle="USDT",
    expiry_ms=1743148800000,
)
ETH_SPOT = Instrument(Symbol("ETH/USDT"), "ETH", "USDT", InstrumentKind.SPOT)
HOLDINGS = (Holding("ETH", 10, 2_000), Holding("SOL", 100, 100))
BOOK = Book(HOLDINGS, [HedgePosition(BTC_PERP, -0.5, 40_000)], equity=10_000, maintenance_margin_rate=0.005)
Builder = Callable[[], object]
BTC_LIQUIDATION = 30_000 / 0.5025  # (0 − 10,000 − 0.5 × 40,000) / (−0.5 × 1.005): 59,701.49


def test_today_the_book_has_no_loss_and_its_margin_as_it_stands() -> None:
    now = stress(BOOK, Scenario("now"))
    assert (now.loss_unhedged, now.loss_hedged, now.equity_after) == (0, 0, 10_000)
    assert now.maintenance_after == pytest.approx(100)  # 0.5 % of 20,000
    assert now.margin_ratio_after == pytest.approx(100)
    assert now.headroom_after == pytest.approx(9_900)
    [btc] = now.liquidation
    assert btc.price == pytest.approx(BTC_LIQUIDATION)
    assert btc.move == pytest.approx(BTC_LIQUIDATION / 40_000 - 1)  # +49.25 %


def test_a_crash_of_every_asset_is_mostly_offset_by_the_short() -> None:
    crash = stress(BOOK, market_crash(0.2))
    assert crash.loss_unhedged == pytest.approx(6_000)  # 20 % of 30,000
    assert crash.hedge_pnl == pytest.approx(4_000)  # −0.5 × (32,000 − 40,000)
    assert crash.loss_hedged == pytest.approx(2_000)
    assert crash.equity_after == pytest.approx(14_000)
    assert crash.maintenance_after == pytest.approx(80)  # 0.5 % of 0.5 × 32,000
    assert crash.margin_ratio_after == pytest.approx(175)
    assert crash.headroom_after == pytest.approx(13_920)
    [btc] = crash.liquidation
    assert btc.price == pytest.approx(BTC_LIQUIDATION)  # one position: its liquidation price does not move
    assert btc.move == pytest.approx(BTC_LIQUIDATION / 32_000 - 1)  # +86.57 %


def test_btc_rising_while_altcoins_fall_loses_on_both_legs() -> None:
    squeeze = stress(BOOK, btc_up_alts_down(0.1, 0.2))
    assert squeeze.loss_unhedged == pytest.approx(6_000)
    assert squeeze.hedge_pnl == pytest.approx(-2_000)  # −0.5 × (44,000 − 40,000)
    assert squeeze.loss_hedged == pytest.approx(8_000)
    assert squeeze.equity_after == pytest.approx(8_000)
    assert squeeze.maintenance_after == pytest.approx(110)
    assert squeeze.margin_ratio_after == pytest.approx(8_000 / 110)
    assert squeeze.liquidation[0].move == pytest.approx(BTC_LIQUIDATION / 44_000 - 1)  # +35.68 %


def test_a_funding_spike_is_paid_by_the_short_at_every_settlement() -> None:
    spike = stress(BOOK, funding_spike(9, -0.003))
    assert spike.funding == pytest.approx(-540)  # 20,000 × 0.3 % × 9
    assert spike.loss_unhedged == 0
    assert spike.loss_hedged == pytest.approx(540)
    assert spike.equity_after == pytest.approx(9_460)
    assert spike.liquidation[0].price == pytest.approx(29_460 / 0.5025)  # 58,626.87


def test_positive_funding_is_received_by_the_short() -> None:
    assert stress(BOOK, funding_spike(3, 0.001)).funding == pytest.approx(60)


def test_dated_futures_pay_no_funding() -> None:
    book = Book(HOLDINGS, [HedgePosition(BTC_QUARTER, -0.5, 40_000)], 10_000, 0.005)
    assert stress(book, funding_spike(9, -0.003)).funding == 0


def test_a_haircut_cuts_equity_and_headroom_but_is_no_loss_of_value() -> None:
    haircut = stress(BOOK, margin_haircut(0.3))
    assert (haircut.loss_unhedged, haircut.loss_hedged) == (0, 0)
    assert haircut.equity_after == pytest.approx(7_000)
    assert haircut.margin_ratio_after == pytest.approx(70)
    assert haircut.headroom_after == pytest.approx(6_900)
    assert haircut.liquidation[0].price == pytest.approx(27_000 / 0.5025)  # 53,731.34


def test_other_positions_margin_counts_against_a_positions_liquidation_price() -> None:
    book = Book(
        HOLDINGS,
        [HedgePosition(BTC_PERP, -0.5, 40_000), HedgePosition(ETH_PERP, -5, 2_000)],
        equity=10_000,
        maintenance_margin_rate=0.01,
    )
    btc, eth = stress(book, Scenario("now")).liquidation
    # BTC: ETH's maintenance (100) stays; 10,000 − 0.5 (x − 40,000) = 0.005 x + 100  →  x = 29,900 / 0.505
    assert btc.price == pytest.approx(29_900 / 0.505)  # 59,207.92
    # ETH: 10,000 − 5 (y − 2,000) = 0.05 y + 200  →  y = 19,800 / 5.05
    assert eth.price == pytest.approx(19_800 / 5.05)  # 3,920.79


def test_positions_on_one_underlying_are_liquidated_by_its_one_move() -> None:
    book = Book(
        HOLDINGS,
        [HedgePosition(BTC_PERP, -0.3, 40_000), HedgePosition(BTC_QUARTER, -0.2, 41_000)],
        equity=10_000,
        maintenance_margin_rate=0.005,
    )
    perp, quarter = stress(book, Scenario("now")).liquidation
    # N = −12,000 − 8,200 = −20,200; mmr × G = 101; MM = 101: m = (101 − 10,000) / (−20,200 − 101)
    move = (101 - 10_000) / (-20_301)
    assert perp.move == pytest.approx(move)
    assert quarter.move == pytest.approx(move)
    assert perp.price == pytest.approx(40_000 * (1 + move))
    assert quarter.price == pytest.approx(41_000 * (1 + move))


def test_a_long_is_liquidated_by_a_fall() -> None:
    book = Book([], [HedgePosition(ETH_PERP, 2, 2_000)], equity=1_000, maintenance_margin_rate=0.005)
    [eth] = stress(book, Scenario("now")).liquidation
    assert eth.price == pytest.approx(3_000 / 1.99)  # 1,000 + 2 (y − 2,000) = 0.01 y
    assert eth.move == pytest.approx(3_000 / 1.99 / 2_000 - 1)  # −24.6 %


def test_a_long_backed_by_more_than_its_notional_cannot_be_liquidated() -> None:
    book = Book([], [HedgePosition(ETH_PERP, 1, 2_000)], equity=5_000, maintenance_margin_rate=0.005)
    [eth] = stress(book, market_crash(0.5)).liquidation
    assert (eth.move, eth.price) == (None, None)


def test_contract_size_scales_notional_pnl_and_margin() -> None:
    small = Instrument(Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, contract_size=0.001)
    book = Book(HOLDINGS, [HedgePosition(small, -500, 40_000)], 10_000, 0.005)
    assert stress(book, market_crash(0.2)) == stress(BOOK, market_crash(0.2))


def test_an_account_below_maintenance_is_reported_liquidated_with_zero_distance() -> None:
    book = Book([], [HedgePosition(BTC_PERP, -0.5, 40_000)], equity=1_000, maintenance_margin_rate=0.005)
    squeeze = stress(book, btc_up_alts_down(0.1, 0.0))  # −2,000 on the short: equity −1,000
    assert squeeze.liquidated
    assert squeeze.liquidation[0].move == 0.0
    assert "LIQUIDATED" in format_stress([squeeze])


def test_the_default_scenarios_cover_the_four_kinds_and_today() -> None:
    names = [result.scenario for result in run_stress(BOOK)]
    assert names == [scenario.name for scenario in default_scenarios()]
    assert names == [
        "now",
        "all assets −20%",
        "all assets −40%",
        "BTC +10%, others −20%",
        "funding −0.3% × 9",
        "collateral haircut −20%",
    ]


def test_the_table_has_a_row_per_scenario_and_every_liquidation_distance() -> None:
    table = format_stress(run_stress(BOOK, [Scenario("now"), market_crash(0.2)]))
    lines = table.splitlines()
    assert lines[0].split() == [
        "scenario",
        "loss",
        "unhedged",
        "loss",
        "hedged",
        "equity",
        "after",
        "margin",
        "ratio",
        "headroom",
    ]
    assert lines[2].split() == ["now", "0.00", "0.00", "10,000.00", "100.00", "9,900.00"]
    assert lines[3].split()[-5:] == ["6,000.00", "2,000.00", "14,000.00", "175.00", "13,920.00"]
    assert "  all assets −20%: BTC/USDT:USDT +86.6% at 59,701.49" in lines


def test_a_book_without_hedges_has_no_margin_ratio_and_no_distances() -> None:
    result = stress(Book(HOLDINGS, [], 0, 0.005), market_crash(0.2))
    assert result.margin_ratio_after == math.inf
    assert result.loss_hedged == result.loss_unhedged == pytest.approx(6_000)
    assert "no positions" in format_stress([result])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Scenario("x", default_move=-1.0), "−100 %"),
        (lambda: Scenario("x", equity_haircut=1.5), "equity_haircut"),
        (lambda: Scenario("x", funding_settlements=-1), "negative"),
        (lambda: Holding("ETH", 1, 0.0), "finite positive"),
        (lambda: Book([], [], 1, 0.0), "maintenance_margin_rate"),
        (
            lambda: HedgePosition(
                Instrument(Symbol("BTC/USD:BTC"), "BTC", "USD", InstrumentKind.PERPETUAL, inverse=True),
                -1,
                40_000,
            ),
            "inverse",
        ),
        (
            lambda: HedgePosition(ETH_SPOT, 1, 2_000),
            "perpetual or a future",
        ),
    ],
)
def test_inputs_the_model_cannot_honour_are_refused_with_the_reason(build: Builder, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


positions = st.lists(
    st.tuples(
        st.sampled_from([BTC_PERP, ETH_PERP, BTC_QUARTER]),
        st.floats(-10, 10).filter(lambda q: abs(q) > 0.01),
        st.floats(100, 100_000),
    ),
    min_size=1,
    max_size=4,
)


@given(positions, st.floats(1_000, 1_000_000), st.floats(0.001, 0.1))
def test_moving_an_underlying_by_its_liquidation_distance_brings_equity_to_maintenance(
    legs: list[tuple[Instrument, float, float]], equity: float, rate: float
) -> None:
    book = Book([], [HedgePosition(i, q, p) for i, q, p in legs], equity, rate)
    for distance in stress(book, Scenario("now")).liquidation:
        if distance.move is None or distance.move == 0.0:
            continue
        at_edge = stress(book, Scenario("edge", moves={distance.asset: distance.move}))
        assert at_edge.equity_after == pytest.approx(at_edge.maintenance_after, rel=1e-6, abs=1e-6 * equity)


@given(st.floats(-0.9, 3.0), st.floats(100, 100_000), st.floats(0.1, 1_000))
def test_a_short_equal_to_the_holding_leaves_no_price_loss(move: float, price: float, qty: float) -> None:
    book = Book([Holding("BTC", qty, price)], [HedgePosition(BTC_PERP, -qty, price)], 1e9, 0.005)
    result = stress(book, Scenario("any", default_move=move))
    assert result.loss_hedged == pytest.approx(0, abs=1e-6 * qty * price)
    assert result.loss_unhedged == pytest.approx(-qty * price * move)
