"""Carry switches in the results: the journal's `carry_switch` decisions become the `carry` block (each switch with
its numbers, each leg's contract after the last) and the lines of the text report; other decisions are left out."""

from __future__ import annotations

import json

from bot.report.carry import carry_json, carry_lines, switches_from_rows

LEG = "BTC/USDT:USDT@carry"


def _row(ts: int, trigger: str, use_dated: bool) -> dict[str, object]:
    numbers = {"use_dated": float(use_dated), "funding_yield": -0.05, "basis_yield": 0.08, "roll_cost": 0.0048,
               "switch_cost": 0.0012, "threshold": 0.02}  # fmt: skip
    targets = [{"symbol": LEG, "qty": -1.0, "notional": -60_000.0, "residual": 0.0}]
    return {"ts": ts, "trigger": trigger, "reason": "…", "numbers": json.dumps(numbers), "targets": json.dumps(targets)}


def test_the_period_s_switches_and_each_leg_s_contract_after_the_last() -> None:
    rows = [_row(0, "carry_switch", True), _row(1_000, "rebalance_band", False), _row(2_000, "carry_switch", False)]
    carry = carry_json(switches_from_rows(rows, start_ms=0, end_ms=3_000))
    assert carry["switches"] == 2
    assert carry["legs"] == {LEG: "perpetual"}
    assert carry["events"][0]["to"] == "dated"
    assert carry["events"][0]["basis_annual"] == 0.08
    assert carry_json(switches_from_rows(rows, start_ms=0, end_ms=1_000))["legs"] == {LEG: "dated"}


def test_the_text_report_lists_each_switch_under_a_count_and_says_nothing_without_any() -> None:
    carry = carry_json(switches_from_rows([_row(0, "carry_switch", True)]))
    lines = carry_lines(carry)
    assert lines[0] == f"carry           1 switches; {LEG} on dated"
    assert "funding -5.00%/y, basis +8.00%/y (rolls 0.48%/y, switch 0.12%, threshold 2.00%)" in lines[1]
    assert carry_lines(None) == []
