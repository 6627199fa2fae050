"""The run's result lists the rolls it made, in its JSON and as a table in its text: finished, expired or still in
progress, with each one's cost."""

from __future__ import annotations

from bot.domain import Symbol
from bot.execution.roll_plan import RollCost, RollState, quarterly_expiry_ms
from bot.report.backtest import result_json, result_text
from bot.report.performance import Effectiveness
from bot.report.run_summary import RunSummary, Totals

HOUR = 3_600_000
MAR, JUN, SEP = (quarterly_expiry_ms(2024, month) for month in (3, 6, 9))
NEAR, FAR, NEXT = (Symbol(f"BTC/USDT:USDT-{day}") for day in ("240329", "240628", "240927"))
DATED = Symbol("ETH/USDT:USDT-240628")


def roll(near: Symbol, far: Symbol | None, expiry: int, finished: int | None, cost: RollCost) -> RollState:
    window = 3 * 24 * HOUR
    return RollState(near, far, expiry, window, 3, -1.0, 0.0, expiry - window, finished_ms=finished, cost=cost)


ROLLS = (
    roll(NEAR, FAR, MAR, MAR - 20 * HOUR, RollCost(basis=-120.0, slippage=4.5, fees=2.25)),
    roll(DATED, None, JUN, JUN, RollCost(slippage=1.0, fees=0.5)),  # a dated contract closed at its expiry
    roll(FAR, NEXT, JUN, None, RollCost(basis=-60.0, fees=1.0)),  # the run ended while it rolled
)


def summary(rolls: tuple[RollState, ...]) -> RunSummary:
    effectiveness = Effectiveness(0.5, 0.4, 100.0, 50.0, 10.0, 20.0, 30)
    return RunSummary(MAR - 40 * 24 * HOUR, JUN, 3, 10, 0, Totals(), effectiveness, rolls=rolls)


def test_the_json_lists_each_roll_with_its_contracts_times_outcome_and_cost() -> None:
    rows = result_json(summary(ROLLS))["rolls"]
    assert rows[0] == {
        "near": NEAR,
        "far": FAR,
        "started": "2024-03-26 08:00",
        "finished": "2024-03-28 12:00",
        "expiry": "2024-03-29 08:00",
        "outcome": "finished",
        "cost": {"basis": -120.0, "slippage": 4.5, "fees": 2.25, "total": -113.25},
    }
    assert (rows[1]["far"], rows[1]["outcome"], rows[1]["finished"]) == (None, "expired", "2024-06-28 08:00")
    assert (rows[2]["outcome"], rows[2]["finished"], rows[2]["cost"]["total"]) == ("in progress", None, -59.0)


def test_the_text_ends_with_a_table_of_the_rolls_under_their_total_cost() -> None:
    lines = result_text(summary(ROLLS)).splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("rolls ")) :]
    assert table[0] == "rolls           3, cost -170.75 (basis -180.00, slippage +5.50, fees 3.75; + = paid)"
    columns = [" ".join(line.split()) for line in table[1:]]  # the columns' widths aside
    assert columns == [
        "near → far started finished expiry cost",
        f"{NEAR} → {FAR} 2024-03-26 08:00 2024-03-28 12:00 2024-03-29 08:00 -113.25",
        f"{DATED} → closed 2024-06-25 08:00 expired 2024-06-28 08:00 +1.50",
        f"{FAR} → {NEXT} 2024-06-25 08:00 in progress 2024-06-28 08:00 -59.00",
    ]


def test_a_run_without_rolls_lists_none_and_prints_no_table() -> None:
    assert result_json(summary(()))["rolls"] == []
    assert "rolls" not in result_text(summary(()))
