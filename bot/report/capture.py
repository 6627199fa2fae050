"""Upside and downside capture, and the realised floor breach, from a value series. Pure.

On consecutive points of the unhedged and hedged values (the data's resolution: the run's hourly records, the
journal's valuations), both net of transfers:

  upside capture    Σ Δ hedged / Σ Δ unhedged over the periods the unhedged value rose
  downside capture  Σ Δ hedged / Σ Δ unhedged over the periods it fell
  capture spread    upside − downside: > 0 when the hedge keeps more of the rise than of the fall

A static hedge at ratio h keeps about 1 − h of both (spread ≈ 0); no hedge keeps 1 of both.
Floor: the hedged value against `floor` × its running peak (or a set `floor_value`). A breach is each fall through
the floor (counted once until the value is back above it); `worst_breach` is the deepest fall below the floor,
as a fraction of the floor (0: never breached).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Capture:
    upside: float
    downside: float
    floor: float  # the fraction of the running peak measured against (or the set floor value)
    breaches: int
    worst_breach: float

    @property
    def spread(self) -> float:
        return self.upside - self.downside


NO_CAPTURE = Capture(0.0, 0.0, 0.0, 0, 0.0)


def capture(
    unhedged: Sequence[float], hedged: Sequence[float], floor: float = 0.85, floor_value: float | None = None
) -> Capture:
    """Capture figures of two aligned value series (the same instants, oldest first)."""
    if len(unhedged) != len(hedged):
        raise ValueError(f"{len(unhedged)} unhedged values against {len(hedged)} hedged ones")
    u, h = np.asarray(unhedged, dtype=float), np.asarray(hedged, dtype=float)
    du, dh = np.diff(u), np.diff(h)
    up, down = du > 0, du < 0
    upside = float(dh[up].sum() / du[up].sum()) if up.any() else 0.0
    downside = float(dh[down].sum() / du[down].sum()) if down.any() else 0.0
    breaches, worst = floor_breaches(list(h), floor, floor_value)
    return Capture(upside, downside, floor if floor_value is None else floor_value, breaches, worst)


def floor_breaches(values: Sequence[float], floor: float = 0.85, floor_value: float | None = None) -> tuple[int, float]:
    """(falls through the floor, deepest fall below it as a fraction of the floor)."""
    if not values:
        return 0, 0.0
    series = np.asarray(values, dtype=float)
    floors = np.full_like(series, floor_value) if floor_value is not None else floor * np.maximum.accumulate(series)
    below = series < floors
    entries = int(below[0]) + int(np.count_nonzero(below[1:] & ~below[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(below & (floors > 0), (floors - series) / floors, 0.0)
    return entries, float(depth.max()) if depth.size else 0.0


def capture_json(c: Capture) -> dict[str, float | int]:
    """The capture keys of an `effectiveness` block (backtest JSON, `hedgebot report`)."""
    return {
        "upside_capture": round(c.upside, 6),
        "downside_capture": round(c.downside, 6),
        "capture_spread": round(c.spread, 6),
        "floor": round(c.floor, 6),
        "floor_breaches": c.breaches,
        "worst_floor_breach": round(c.worst_breach, 6),
    }


def capture_text(c: Capture) -> str:
    """'upside 64.1 %, downside 35.2 %, spread +28.9 pts; floor 85 % of peak: 2 breaches, worst 3.1 % below'."""
    floor = f"{c.floor:.0%} of peak" if c.floor <= 1 else f"{c.floor:,.0f}"
    return (
        f"upside {c.upside:.1%}, downside {c.downside:.1%}, spread {c.spread * 100:+.1f} pts;"
        f" floor {floor}: {c.breaches} breaches, worst {c.worst_breach:.1%} below"
    )


PROTECTION_KEYS = ("protected_value", "floor", "cushion", "cushion_share", "cover")


def last_protection(decisions: Sequence[Mapping[str, Any]]) -> dict[str, float] | None:
    """The floor, cushion and cover of the latest decision of a protective policy (the journal's `decisions` rows,
    oldest first), with its time; None when no decision carries them."""
    for row in reversed(decisions):
        numbers = json.loads(str(row["numbers"])) if isinstance(row["numbers"], str) else row["numbers"]
        if isinstance(numbers, Mapping) and all(key in numbers for key in PROTECTION_KEYS):
            return {"ts": float(row["ts"]), **{key: float(numbers[key]) for key in PROTECTION_KEYS}}
    return None


def protection_text(protection: Mapping[str, float]) -> str:
    """'protection: value 98,000.00, floor 85,000.00, cushion 13,000.00 (13.3 %), cover 0.47 at the last decision'."""
    return (
        f"protection: value {protection['protected_value']:,.2f}, floor {protection['floor']:,.2f}, cushion"
        f" {protection['cushion']:,.2f} ({protection['cushion_share']:.1%}), cover {protection['cover']:.2f}"
        " at the last decision"
    )
