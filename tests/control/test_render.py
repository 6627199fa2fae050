"""`hedgebot ctl status` prints a short readable block, whatever shape of status it is given."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.control.render import command_text, status_text

STATUS: dict[str, Any] = {
    "now": 1_704_067_200_000,
    "state": "reducing",
    "state_reason": "operator asked to flatten",
    "paused": True,
    "ratio": 0.5,
    "ratio_override": {"ratio": 0.5, "until": 1_704_074_400_000},
    "exposure": 52_345.1,
    "positions": {"BTC/USDT:USDT": -0.512},
    "targets": {
        "BTC/USDT:USDT": {"qty": -0.5, "notional": -21_000.0},
        "ETH/USDT:USDT": {"qty": 0, "notional": 0},
    },
    "open_orders": 1,
    "working_parents": ["BTC/USDT:USDT"],
    "equity": 50_010.22,
    "headroom": {"leverage": 0.42, "max_leverage": 3.0},
    "feed_age_s": {"BTC/USDT:USDT": 1.5, "ETH/USDT": 12.0},
    "last_decision": {"id": "d-1", "ts": 1_704_067_200_000, "trigger": "operator_flatten", "reason": "asked"},
    "counts": {"decisions": 3, "clips": 22},
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def test_the_status_block_shows_state_ratio_money_hedge_orders_feeds_and_the_last_decision() -> None:
    text = status_text(STATUS)
    assert "state      reducing (operator asked to flatten); PAUSED by the operator" in text
    assert "ratio      0.5 (operator override until 2024-01-01 02:00 UTC)" in text
    assert "exposure   52,345.10   equity 50,010.22   leverage 0.42 of max 3" in text
    assert "BTC/USDT:USDT        -0.512          -0.5      -21,000.00" in text
    assert "ETH/USDT:USDT             0             0            0.00" in text
    assert "orders     1 open; working on: BTC/USDT:USDT" in text
    assert "feeds      2 prices, oldest ETH/USDT 12s" in text
    assert "decision   2024-01-01 00:00 UTC operator_flatten: asked [d-1]" in text
    assert "counts     decisions 3, clips 22" in text


def test_a_command_answer_is_one_line() -> None:
    line = command_text("pause", STATUS)
    assert line == "pause: ok; state reducing, paused, 1 open orders, positions BTC/USDT:USDT -0.512"


def test_a_set_ratio_answer_echoes_the_ratio_its_expiry_and_what_follows() -> None:
    text = command_text("set-ratio", {**STATUS, "config_ratio": 0.4, "allow_overhedge": False})
    assert text.splitlines()[1] == "ratio 0.5 until 2024-01-01 02:00 UTC, then the config's 0.4"


def test_a_set_ratio_above_one_says_it_is_capped_and_why() -> None:
    override = {"ratio_override": {"ratio": 1.5, "until": 1_704_074_400_000}, "allow_overhedge": False}
    text = command_text("set-ratio", {**STATUS, **override, "config_ratio": 0.4})
    assert "ratio 1.5 until 2024-01-01 02:00 UTC, then the config's 0.4; capped:" in text
    assert "allow_overhedge = false" in text
    allowed = command_text("set-ratio", {**STATUS, **override, "allow_overhedge": True})
    assert "capped" not in allowed


def test_an_empty_status_still_prints_every_line() -> None:
    assert len(status_text({}).splitlines()) == 11


def test_the_status_block_shows_every_hold_and_the_margin_ratio_with_the_liquidation_prices() -> None:
    holds = [
        {"source": "collateral", "state": "reducing", "reason": "margin ratio 1.85 below 2 (...): stop_adding"},
        {"source": "staleness", "state": "reducing", "reason": "stale: price BTC/USDT:USDT 400s old"},
    ]
    liquidation = [
        {"symbol": "BTC/USDT:USDT", "text": "BTC/USDT:USDT -1.1: liquidation at 45,000.00 (+50.0% from 30,000.00)"}
    ]
    text = status_text({**STATUS, "holds": holds, "margin_ratio": 1.85, "liquidation": liquidation})
    assert (
        "holds      collateral reducing (margin ratio 1.85 below 2 (...): stop_adding);"
        " staleness reducing (stale: price BTC/USDT:USDT 400s old)"
    ) in text
    assert (
        "margin     ratio 1.85 (equity / maintenance margin);"
        " BTC/USDT:USDT -1.1: liquidation at 45,000.00 (+50.0% from 30,000.00)"
    ) in text
    assert "holds      none" in status_text(STATUS)
    assert "margin     no margin in use" in status_text(STATUS)


@given(st.dictionaries(st.sampled_from([*sorted(STATUS), "holds", "margin_ratio", "liquidation"]), JSON))
def test_any_json_status_prints_without_error(status: dict[str, Any]) -> None:
    assert status_text(status)
    assert command_text("resume", status).startswith("resume: ok")


def test_a_roll_in_progress_shows_its_contracts_progress_and_cost_so_far() -> None:
    roll = {
        "near": "ETH/USDT:USDT-261225",
        "far": "ETH/USDT:USDT-270326",
        "expiry": 1_798_185_600_000,
        "started": 1_796_500_000_000,
        "near_start": -10.0,
        "moved": 4.0,
        "cost": -61.5,
    }
    text = status_text({**STATUS, "rolls": {"ETH/USDT:USDT@quarterly": roll}})
    [line] = [line for line in text.splitlines() if line.startswith("roll ")]
    assert "ETH/USDT:USDT-261225 → ETH/USDT:USDT-270326, 4 of 10 moved, cost so far -61.50" in line
    assert "2026-12-25 08:00 UTC" in line


def test_the_status_block_shows_the_distance_to_liquidation_first_and_the_steps_it_is_measured_against() -> None:
    collateral = {
        "buffer": 0.345,
        "basket_move": 0.621,
        "step": "warn",
        "steps": {"warn": 0.4, "top_up": 0.3, "reduce": 0.2, "floor": 0.1},
    }
    text = status_text({**STATUS, "collateral": collateral})
    assert (
        "buffer     liquidation 34.5% away (the hedge instruments' prices moving together against the hedge;"
        " basket +62.1%); step warn (warn 40%, top_up 30%, reduce 20%, floor 10%)"
    ) in text
    flat = status_text({**STATUS, "collateral": {**collateral, "buffer": None, "step": "ok"}})
    assert "buffer     no move liquidates the hedge account; step ok" in flat


def test_the_status_decision_line_shows_the_decision_number_and_time_instead_of_its_hex_id() -> None:
    decision = {"id": "18cc251f400-0", "label": "decision #0 of 2024-01-01 00:00:00 UTC", "ts": 1_704_067_200_000}
    text = status_text({**STATUS, "last_decision": decision})
    assert "[decision #0 of 2024-01-01 00:00:00 UTC]" in text
    assert "18cc251f400" not in text


def test_the_status_block_shows_each_venue_its_state_legs_notional_equity_and_buffer() -> None:
    venues = {
        "main": {"exchange": "binanceusdm", "state": "up", "reason": "", "legs": ["ETH/USDT:USDT"],
                 "notional": -20_100.0, "equity": 49_990.0, "buffer": 4.123},
        "second": {"exchange": "binanceusdm", "state": "down", "reason": "its REST fails: 503",
                   "legs": ["BTC/USDT:USDT"], "notional": -15_000.0, "equity": None, "buffer": None},
    }  # fmt: skip
    lines = [line for line in status_text({**STATUS, "venues": venues}).splitlines() if line.startswith("venue ")]
    assert lines[0] == (
        "venue      main (binanceusdm) up: legs ETH/USDT:USDT, notional -20,100.00, equity 49,990.00,"
        " buffer 412.3% adverse move"
    )
    assert lines[1].startswith("venue      second (binanceusdm) DOWN (its REST fails: 503): legs BTC/USDT:USDT")
