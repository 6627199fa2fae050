"""What the dashboard shows, as one JSON object: the daemon's status and the journal's recent rows.

Built from what the control API already has: `status()` (the same as GET /status and `ctl status`) and the
daemon's journal (decisions, orders, fills, trading-state changes, the operators' commands, hourly valuations).
Timestamps are given as epoch milliseconds for the charts and as UTC text (`2024-01-01 00:00:00`) for people.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.store.journal import Journal

RECENT_ROWS = 15
CHART_POINTS = 720  # a month of hourly valuations


def utc_text(ts: Any) -> str:
    """'2024-01-01 00:00:00' for epoch milliseconds; '' for anything else."""
    if not isinstance(ts, int) or isinstance(ts, bool):
        return ""
    try:
        return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return ""


def overview(status: Mapping[str, Any], journal: Journal | None, operator: str, role: str) -> dict[str, Any]:
    valuations = journal.recent("valuations", CHART_POINTS) if journal is not None else []
    return {
        "operator": {"name": operator, "role": role},
        "status": dict(status),
        "now_text": utc_text(status.get("now")),
        "instruments": instruments(status),
        "chart": chart(valuations, status),
        "effectiveness": effectiveness(valuations),
        "decisions": _rows(journal, "decisions", _decision),
        "orders": _rows(journal, "orders", _order),
        "fills": _rows(journal, "fills", _fill),
        "alerts": _rows(journal, "state_changes", _state_change),
        "audit": audit(journal),
    }


def audit(journal: Journal | None, limit: int = RECENT_ROWS) -> list[dict[str, Any]]:
    """The operators' commands, newest first: when, who, through what, what, why, and the outcome."""
    return _rows(journal, "commands", _command, limit)


def instruments(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per hedge instrument: position and its value, target and its value, and that as a share of exposure."""
    positions = _mapping(status.get("positions"))
    values = _mapping(status.get("positions_notional"))
    targets = _mapping(status.get("targets"))
    exposure = status.get("exposure")
    rows = []
    for symbol in sorted({*positions, *targets}):
        target = _mapping(targets.get(symbol))
        value, target_value = _number(values.get(symbol)), _number(target.get("notional"))
        rows.append(
            {
                "symbol": symbol,
                "position": _number(positions.get(symbol)) or 0.0,
                "value": value,
                "target": _number(target.get("qty")),
                "target_value": target_value,
                "cover": _share(value, exposure),
                "target_cover": _share(target_value, exposure),
            }
        )
    return rows


def chart(valuations: Sequence[Mapping[str, Any]], status: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Columns for the charts (uPlot's layout): time in seconds, portfolio value unhedged and hedged, and the
    hedge ratio held and targeted. The hourly valuations, then the current instant from the status."""
    columns: dict[str, list[Any]] = {"t": [], "unhedged": [], "hedged": [], "ratio": [], "target_ratio": []}
    collateral = None
    for row in valuations:
        spot, collateral = row["spot_value"], row["collateral"]
        _append(columns, row["ts"], spot, spot + row["hedge_equity"] - collateral,
                row["hedge_notional"], row["target_notional"])  # fmt: skip
    now, spot, equity = status.get("now"), _number(status.get("exposure")), _number(status.get("equity"))
    later = not columns["t"] or (isinstance(now, int) and now / 1000 > columns["t"][-1])
    if collateral is not None and isinstance(now, int) and spot and equity is not None and later:
        held = sum(v for v in _mapping(status.get("positions_notional")).values() if _number(v) is not None)
        target = sum(_number(_mapping(t).get("notional")) or 0.0 for t in _mapping(status.get("targets")).values())
        _append(columns, now, spot, spot + equity - collateral, held, target)
    return columns


def _append(columns: dict[str, list[Any]], ts: int, spot: float, hedged: float, held: float, target: float) -> None:
    columns["t"].append(ts / 1000)
    columns["unhedged"].append(round(spot, 2))
    columns["hedged"].append(round(hedged, 2))
    columns["ratio"].append(round(-held / spot, 4) if spot else None)
    columns["target_ratio"].append(round(-target / spot, 4) if spot else None)


def effectiveness(valuations: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Over the valuations shown: 1 − Var(Δ hedged) / Var(Δ unhedged), and the drawdown reduction."""
    unhedged = [row["spot_value"] for row in valuations]
    hedged = [row["spot_value"] + row["hedge_equity"] - row["collateral"] for row in valuations]
    result: dict[str, float | None] = {"variance_reduction": None, "drawdown_reduction": None, "points": None}
    result["points"] = float(len(valuations))
    if len(valuations) >= 3:
        var_u = statistics.pvariance([b - a for a, b in itertools.pairwise(unhedged)])
        var_h = statistics.pvariance([b - a for a, b in itertools.pairwise(hedged)])
        result["variance_reduction"] = round(1 - var_h / var_u, 4) if var_u > 0 else None
        dd_u, dd_h = _drawdown(unhedged), _drawdown(hedged)
        result["drawdown_reduction"] = round(1 - dd_h / dd_u, 4) if dd_u > 0 else None
    return result


def _drawdown(values: Sequence[float]) -> float:
    peak, worst = -math.inf, 0.0
    for value in values:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst


def _rows(journal: Journal | None, table: str, shape: Any, limit: int = RECENT_ROWS) -> list[dict[str, Any]]:
    if journal is None:
        return []
    return [shape(row) for row in reversed(journal.recent(table, limit))]


def _decision(row: Mapping[str, Any]) -> dict[str, Any]:
    targets = _loads(row.get("targets"))
    return {
        "time": utc_text(row["ts"]),
        "id": row["id"],
        "trigger": row["trigger"],
        "reason": row["reason"],
        "targets": {t["symbol"]: t["qty"] for t in targets if isinstance(t, dict)} if isinstance(targets, list) else {},
    }


def _order(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": utc_text(row["created_ts"]),
        "client_id": row["client_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "qty": row["qty"],
        "type": row["order_type"],
        "status": row["status"],
        "filled": row["filled_qty"],
        "avg_price": row["avg_price"],
    }


def _fill(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": utc_text(row["ts"]),
        "symbol": row["symbol"],
        "side": row["side"],
        "qty": row["qty"],
        "price": row["price"],
        "fee": row["fee"],
        "client_id": row["client_id"],
    }


def _state_change(row: Mapping[str, Any]) -> dict[str, Any]:
    severity = "info" if row["to_state"] == "active" else "critical" if row["to_state"] == "halted" else "warning"
    return {
        "time": utc_text(row["ts"]),
        "kind": "trading_state",
        "severity": severity,
        "text": f"{row['from_state']} → {row['to_state']}: {row['reason']}",
    }


def _command(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": utc_text(row["ts"]),
        "operator": row.get("operator") or "(daemon)",
        "via": row.get("via") or "",
        "command": row["command"],
        "args": _loads(row.get("args")),
        "reason": row.get("reason") or "",
        "outcome": row["outcome"],
    }


def _loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _share(value: float | None, exposure: Any) -> float | None:
    total = _number(exposure)
    if value is None or not total:
        return None
    return round(-value / total, 4)
