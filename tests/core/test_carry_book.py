"""A carry leg in the engine: it follows funding against the quarterly's basis, switches by a journaled decision and a
roll pair, keeps a restored choice through its minimum hold, and finishes a switch the journal decided but a crash
cut short without deciding again."""

from __future__ import annotations

import json
from typing import Any

from bot.config import parse_config
from bot.core.carry_book import CARRY_SWITCH, _FundingTape
from bot.core.engine import Action, DecisionMade, Engine, PlaceOrder, RollChanged
from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    PriceObserved,
    Symbol,
)
from bot.execution.roll_plan import quarterly_expiry_ms

LEG = Symbol("BTC/USDT:USDT@carry")
PERP, DATED = Symbol("BTC/USDT:USDT"), Symbol("BTC/USDT:USDT-240329")
ETH_SPOT = Symbol("ETH/USDT")
EXPIRY = quarterly_expiry_ms(2024, 3)
START = EXPIRY - 60 * MS_PER_DAY  # far from the roll window
EIGHT_HOURS = 8 * MS_PER_HOUR
INSTRUMENTS = {
    PERP: Instrument(PERP, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001),
    DATED: Instrument(DATED, "BTC", "USDT", InstrumentKind.FUTURE, settle="USDT", lot_step=0.001, expiry_ms=EXPIRY),
}


def _engine(min_hold: str = "0s", eth: float = 10.0) -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": eth}},
            "hedge": {
                "instruments": [LEG],
                "policy": "fixed",
                "carry": {"lookback": "1d", "min_hold": min_hold, "threshold": 0.02},
            },
            "risk": {"max_order_notional": 50_000.0},
            "execution": {"clip_notional": 50_000.0},
        }
    )
    return Engine(config, INSTRUMENTS, trading_from_ms=START)


def _instant(engine: Engine, ts: int, funding: float, basis: float) -> list[Action]:
    """One hourly instant: the perpetual at 60,000, the quarterly at `basis` a year above it, funding settling."""
    years = (EXPIRY - ts) / (365 * MS_PER_DAY)
    engine.on_market(PriceObserved(ts, ETH_SPOT, 3_000.0))
    engine.on_market(PriceObserved(ts, PERP, 60_000.0))
    engine.on_market(PriceObserved(ts, DATED, 60_000.0 * (1 + basis * years)))
    engine.on_market(FundingObserved(ts, PERP, funding, ts))  # settles now (a replay's row)
    engine.on_venue(AccountSnapshot(ts, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, ()))
    return list(engine.on_time(ts))


def _carry_switches(actions: list[Action]) -> list[DecisionMade]:
    return [a for a in actions if isinstance(a, DecisionMade) and a.decision.trigger == CARRY_SWITCH]


def _row(ts: int, use_dated: bool) -> dict[str, Any]:
    """A journaled carry_switch decision, as `Journal.rows("decisions")` gives it."""
    numbers = {"use_dated": float(use_dated), "funding_yield": -0.2, "basis_yield": 0.1}
    targets = [{"symbol": LEG, "qty": -0.5, "notional": -30_000.0, "residual": 0.0}]
    return {
        "ts": ts,
        "trigger": CARRY_SWITCH,
        "reason": "…",
        "numbers": json.dumps(numbers),
        "targets": json.dumps(targets),
    }


def test_a_carry_leg_hedges_on_the_perpetual_until_funding_says_otherwise() -> None:
    engine = _engine()
    actions = _instant(engine, START, funding=0.0003, basis=0.05)  # 33 %/y to a short against a 5 % basis
    [order] = [a for a in actions if isinstance(a, PlaceOrder)]
    assert order.request.symbol == PERP
    assert not _carry_switches(actions)
    assert not engine.carry.dated(LEG)


def test_funding_below_the_basis_by_more_than_the_threshold_switches_a_held_leg_by_a_journaled_roll_pair() -> None:
    engine = _engine()
    engine.positions[PERP] = -0.5  # the hedge, held on the perpetual
    actions = _instant(engine, START, funding=-0.0001, basis=0.10)  # −11 %/y against 10 % less the rolls
    [switch] = _carry_switches(actions)
    assert switch.decision.numbers["use_dated"] == 1.0
    assert switch.decision.numbers["funding_yield"] < 0 < switch.decision.numbers["basis_yield"]
    assert {"roll_cost", "switch_cost", "threshold", "dated_yield"} <= set(switch.decision.numbers)
    [started] = [a for a in actions if isinstance(a, RollChanged) and a.event == "started"]
    assert (started.state.near, started.state.far, started.state.switch) == (PERP, DATED, True)
    assert actions.index(switch) < actions.index(started)  # the decision is journaled before the roll and its orders
    orders = {a.request.symbol: a.request for a in actions if isinstance(a, PlaceOrder)}
    assert orders[PERP].reduce_only
    assert orders[PERP].side.value == "buy"
    assert orders[DATED].side.value == "sell"  # ... and open the quarterly, as one pair
    assert engine.carry.dated(LEG)


def test_a_flat_leg_switches_by_the_decision_alone_and_its_next_hedge_goes_to_the_quarterly() -> None:
    engine = _engine(eth=0.0)  # nothing to hedge yet: no position, no order
    actions = _instant(engine, START, funding=-0.0001, basis=0.10)
    assert len(_carry_switches(actions)) == 1
    assert not [a for a in actions if isinstance(a, RollChanged | PlaceOrder)]
    assert engine.carry.contract(engine.legs[LEG], START, engine.roller.window_ms) == DATED


def test_a_restored_choice_is_kept_through_its_minimum_hold_whatever_funding_says() -> None:
    engine = _engine(min_hold="7d")
    engine.carry.restore_from([_row(START - MS_PER_DAY, use_dated=True)])
    engine.positions[DATED] = -0.5
    for hour in range(24):  # funding rich enough for the perpetual at every look, a day after the switch
        actions = _instant(engine, START + hour * MS_PER_HOUR, funding=0.001, basis=0.0)
        assert not _carry_switches(actions)
        assert not [a for a in actions if isinstance(a, RollChanged)]
    assert engine.carry.dated(LEG)
    assert "min hold" in engine.carry.looks[LEG].reason


def test_a_switch_the_journal_decided_but_a_crash_cut_short_is_finished_without_deciding_again() -> None:
    engine = _engine(min_hold="7d")
    engine.carry.restore_from([_row(START - MS_PER_HOUR, use_dated=True)])
    engine.positions[PERP] = -0.5  # the crash came before the roll's first pair
    actions = _instant(engine, START, funding=0.001, basis=0.0)  # the rule would now prefer the perpetual
    assert not _carry_switches(actions)
    [started] = [a for a in actions if isinstance(a, RollChanged) and a.event == "started"]
    assert (started.state.near, started.state.far) == (PERP, DATED)


def test_without_a_journaled_choice_a_leg_carries_on_with_the_contract_it_holds() -> None:
    engine = _engine(min_hold="7d")
    engine.positions[DATED] = -0.5  # a restart finds the hedge on the quarterly, and no carry_switch row
    actions = _instant(engine, START, funding=0.00004, basis=0.05)  # 4.4 %/y: within the threshold of the basis
    assert engine.carry.dated(LEG)
    assert not [a for a in actions if isinstance(a, RollChanged)]


def test_an_exchange_s_accruing_rate_is_counted_once_per_settlement_and_a_replay_row_at_once() -> None:
    tape = _FundingTape()
    settles = START + EIGHT_HOURS
    accruing = [FundingObserved(START + i * MS_PER_HOUR, PERP, 0.0001 * i, settles) for i in range(1, 8)]
    assert [tape.settled(e) for e in accruing] == [[]] * 7  # still accruing
    after = FundingObserved(settles + 1, PERP, 0.0002, settles + EIGHT_HOURS)
    assert tape.settled(after) == [accruing[-1]]  # the last rate before the settlement
    replay = _FundingTape()
    row = FundingObserved(settles, PERP, 0.0003, settles)
    assert replay.settled(row) == [row]
    assert replay.settled(row) == []  # the same settlement again is not counted twice


def test_a_quarterly_priced_longer_ago_than_the_price_age_limit_is_no_reason_to_switch() -> None:
    engine = _engine(eth=0.0)
    engine.on_market(PriceObserved(START - MS_PER_HOUR, DATED, 61_000.0))  # an hour old: beyond the 5-minute limit
    engine.on_market(PriceObserved(START, PERP, 60_000.0))
    engine.on_market(PriceObserved(START, ETH_SPOT, 3_000.0))
    engine.on_market(FundingObserved(START, PERP, -0.0003, START))  # a short pays 33 %/y on the perpetual
    engine.on_venue(AccountSnapshot(START, "USDT", 50_000.0, 50_000.0, 0.0, 0.0, ()))
    actions = list(engine.on_time(START))
    assert not _carry_switches(actions)
    assert LEG not in engine.carry.looks
