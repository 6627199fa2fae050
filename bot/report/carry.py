"""Carry legs in the results: each "…@carry" leg's contract and its `carry_switch` decisions, from the engine (a
run's summary, `ctl status`) or from the journal (`hedgebot report`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.report.text import utc

CARRY_SWITCH = "carry_switch"  # the decisions' trigger (bot.core.carry_book journals it)


def switches_from_rows(
    rows: Iterable[Mapping[str, Any]], start_ms: int = 0, end_ms: int = 2**62
) -> list[dict[str, Any]]:
    """The journal's `carry_switch` decisions in [start, end), oldest first: when, which leg, to which contract,
    and the numbers behind it (annualised funding and basis, the rolls' and the switch's costs, the threshold)."""
    switches = []
    for row in rows:
        ts = int(row["ts"])
        if row["trigger"] != CARRY_SWITCH or not start_ms <= ts < end_ms:
            continue
        numbers = _json(row["numbers"])
        for target in _json(row["targets"]):
            switches.append(
                {
                    "time": utc(ts),
                    "leg": str(target["symbol"]),
                    "to": "dated" if numbers.get("use_dated") else "perpetual",
                    "funding_annual": round(float(numbers.get("funding_yield", 0.0)), 6),
                    "basis_annual": round(float(numbers.get("basis_yield", 0.0)), 6),
                    "roll_cost_annual": round(float(numbers.get("roll_cost", 0.0)), 6),
                    "switch_cost": round(float(numbers.get("switch_cost", 0.0)), 6),
                    "threshold": float(numbers.get("threshold", 0.0)),
                    "reason": str(row["reason"]),
                }
            )
    return switches


def carry_json(switches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The `carry` block: the switches, and each leg's contract after the last of them."""
    legs = {str(s["leg"]): str(s["to"]) for s in switches}
    return {"switches": len(switches), "legs": legs, "events": list(switches)}


def carry_lines(carry: Mapping[str, Any] | None) -> list[str]:
    """'carry           2 switches; BTC/USDT:USDT@carry on dated' and a line per switch (nothing without any)."""
    if not carry or not carry.get("switches"):
        return []
    legs = ", ".join(f"{leg} on {on}" for leg, on in carry.get("legs", {}).items())
    lines = [f"carry           {carry['switches']} switches; {legs}"]
    for event in carry.get("events", []):
        lines.append(
            f"  {event['time']}  {event['leg']} → {event['to']}: funding {event['funding_annual']:+.2%}/y,"
            f" basis {event['basis_annual']:+.2%}/y (rolls {event['roll_cost_annual']:.2%}/y,"
            f" switch {event['switch_cost']:.2%}, threshold {event['threshold']:.2%})"
        )
    return lines


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
