"""On real Binance history, the hedge cuts the variance of an altcoin basket (issue 2's acceptance figures)."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json, result_text
from bot.report.text import utc
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data


def backtest_config(tmp_path: Path, prices: Path, funding: Path, perp: Path, **hedge: Any) -> Config:
    """config/backtest.toml over 2021–2022 on the real files, with some [hedge] keys replaced."""
    market = {"prices": prices, "funding": funding, "perp": perp, "start": date(2021, 1, 1), "end": date(2023, 1, 1)}
    base = load_config(REPO / "config" / "backtest.toml")
    return with_overrides(base, bot={"state_dir": tmp_path}, market=market, hedge=hedge)


def test_min_variance_on_btc_and_eth_perps_cuts_variance_by_more_than_55_percent_and_beats_fixed_40(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    mv = result_json(run_backtest(backtest_config(tmp_path, prices_1h, funding_8h, perp_1h)))
    fixed = result_json(
        run_backtest(backtest_config(tmp_path, prices_1h, funding_8h, perp_1h, policy="fixed", ratio=0.4))
    )
    assert mv["effectiveness"]["variance_reduction"] >= 0.55
    assert mv["effectiveness"]["variance_reduction"] > fixed["effectiveness"]["variance_reduction"]
    assert mv["hedged"]["trades"] > 0
    assert mv["hedged"]["fees"] > 0
    assert mv["hedged"]["funding"] != 0


def test_a_backtest_writes_a_self_contained_html_report_with_its_plots(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    config = tmp_path / "bt.toml"
    source = (REPO / "config" / "backtest.toml").read_text()
    config.write_text(source.replace('state_dir = "var"', f'state_dir = "{tmp_path}"'))
    html = tmp_path / "report.html"
    files = ["--prices", str(prices_1h), "--funding", str(funding_8h), "--perp", str(perp_1h)]
    period = ["--start", "2022-05-01", "--end", "2022-06-15"]
    code = main(["backtest", "--config", str(config), *files, *period, "--json", "--html", str(html)])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["hedged"]["trades"] > 0
    page = html.read_text()
    assert "script-src 'sha256-" in page  # its scripts are inlined: readable without a server or any network
    assert page.count("data-plot=") == 5


def test_a_quarterly_hedge_over_2021_2022_rolls_every_quarter_before_expiry_and_reports_the_cost(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    config = backtest_config(
        tmp_path, prices_1h, funding_8h, perp_1h, instruments=["BTC/USDT:USDT@quarterly", "ETH/USDT:USDT"]
    )
    summary = run_backtest(config)
    result = result_json(summary)
    execution = result["execution"]
    assert set(execution) == {"clips", "slippage_bps", "fees", "roll_cost", "rolls"}  # the block as issue 5 has it
    assert execution["rolls"] == 8  # Mar 2021 … Dec 2022
    assert execution["roll_cost"] != 0.0
    assert execution["clips"] > 0
    assert result["effectiveness"]["variance_reduction"] >= 0.5

    rolls = result["rolls"]  # the rolls it made, one row each
    expiries = ["210326", "210625", "210924", "211231", "220325", "220624", "220930", "221230"]
    contracts = [f"BTC/USDT:USDT-{day}" for day in [*expiries, "230331"]]
    assert [(roll["near"], roll["far"]) for roll in rolls] == list(itertools.pairwise(contracts))
    assert [roll["expiry"] for roll in rolls] == [f"20{d[:2]}-{d[2:4]}-{d[4:]} 08:00" for d in expiries]
    assert all(roll["outcome"] == "finished" for roll in rolls)
    assert all(roll["started"] < roll["finished"] < roll["expiry"] for roll in rolls)  # "YYYY-MM-DD HH:MM" sorts
    for roll in rolls:
        cost = roll["cost"]
        assert cost["total"] == pytest.approx(cost["basis"] + cost["slippage"] + cost["fees"], abs=0.015)
    assert sum(roll["cost"]["total"] for roll in rolls) == pytest.approx(execution["roll_cost"], abs=0.005 * 9)

    text = result_text(summary)
    table = text[text.index("\nrolls ") + 1 :].splitlines()
    assert table[0].startswith(f"rolls           8, cost {execution['roll_cost']:+,.2f} (basis ")
    assert len(table) == 2 + 8  # the total, the heading, a line per roll
    first = rolls[0]
    assert table[2].split() == [
        *(first["near"], "→", first["far"]),
        *first["started"].split(),
        *first["finished"].split(),
        *first["expiry"].split(),
        f"{first['cost']['total']:+,.2f}",
    ]

    journal = Journal(config.path_in_state("backtest.sqlite"), durable=False)
    finished = journal.executions("roll_finished")
    journal.close()
    assert len(finished) == 8
    assert all(ts < record["expiry_ms"] for ts, _, _, record in finished)
    assert [utc(record["finished_ms"]) for _, _, _, record in finished] == [roll["finished"] for roll in rolls]
