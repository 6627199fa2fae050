"""Hedge legs on several venues (`[venues]`): what the journal says each venue holds and cost, for the report.

Read from the journal's rows, keyed by venue (schema v7): each venue's positions (its fills and adopted positions),
their notional at the venue's last fill price of each instrument, its fills, fees and funding in the period. A
journal of one venue (every row `main`) has no such section. The collateral and buffer per venue are the live
status's (`ctl status`: bot.live.venue_status), from each venue's own account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def venue_totals(
    fills: Iterable[Mapping[str, Any]],
    funding: Iterable[Mapping[str, Any]],
    adoptions: Iterable[Mapping[str, Any]],
    start_ms: int = 0,
    end_ms: int = 2**62,
) -> dict[str, dict[str, Any]]:
    """Per venue id: positions (contracts) and their notional at the last fill price, fills, fees, funding."""
    out: dict[str, dict[str, Any]] = {}
    held: dict[str, dict[str, float]] = {}
    last_price: dict[tuple[str, str], float] = {}
    for row in fills:
        venue, symbol, ts = str(row.get("venue", "main")), str(row["symbol"]), int(row["ts"])
        if ts >= end_ms:
            continue
        sign = 1.0 if row["side"] == "buy" else -1.0
        held.setdefault(venue, {})[symbol] = held.get(venue, {}).get(symbol, 0.0) + sign * float(row["qty"])
        last_price[(venue, symbol)] = float(row["price"])
        totals = out.setdefault(venue, _empty())
        if ts >= start_ms:
            totals["fills"] += 1
            totals["fees"] += float(row["fee"])
    for row in adoptions:
        venue, symbol = str(row.get("venue", "main")), str(row["symbol"])
        if int(row["ts"]) < end_ms:
            change = float(row["venue_qty"]) - float(row["journal_qty"])
            held.setdefault(venue, {})[symbol] = held.get(venue, {}).get(symbol, 0.0) + change
            out.setdefault(venue, _empty())
    for row in funding:
        venue = str(row.get("venue", "main"))
        if start_ms <= int(row["ts"]) < end_ms:
            out.setdefault(venue, _empty())["funding"] += float(row["amount"])
    for venue, totals in out.items():
        positions = {s: round(q, 9) for s, q in sorted(held.get(venue, {}).items()) if round(q, 9)}
        totals["positions"] = positions
        totals["notional"] = round(sum(q * last_price.get((venue, s), 0.0) for s, q in positions.items()), 2)
        totals["fees"], totals["funding"] = round(totals["fees"], 2), round(totals["funding"], 2)
    return dict(sorted(out.items()))


def _empty() -> dict[str, Any]:
    return {"positions": {}, "notional": 0.0, "fills": 0, "fees": 0.0, "funding": 0.0}


def venue_lines(venues: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The text report's lines: one per venue, only when the journal has more than the default venue."""
    if set(venues) <= {"main"}:
        return []
    lines = ["venues"]
    for venue, row in venues.items():
        held = ", ".join(f"{q:+g} {s}" for s, q in row["positions"].items()) or "flat"
        lines.append(
            f"  {venue:<10} {held}; notional {row['notional']:,.2f} at its last fills; fills {row['fills']},"
            f" fees {row['fees']:,.2f}, funding {row['funding']:+,.2f}"
        )
    return lines
