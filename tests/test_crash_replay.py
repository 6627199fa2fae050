"""The 1-minute crash files replay through the same backtest, and effectiveness is measured at their resolution:
the book is valued every minute (every `hedge.sample`), so drawdowns and variance see the crash inside the hour,
not daily closes (issue 15: the May 2021 crash week used to report a hedged max drawdown of 0.00)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.testing.processes import toml_text
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.data
MINUTE = 60_000
# (file, first traded day, the day after the last): the crash day inside, a day of warm-up before
CRASHES = [
    ("crash_1m_2021-04-18.csv.gz", date(2021, 4, 17), date(2021, 4, 19)),
    ("crash_1m_2021-05-12.csv.gz", date(2021, 5, 12), date(2021, 5, 14)),
]


def _replay(folder: Path, capsys: pytest.CaptureFixture[str], name: str, start: date, end: date) -> dict[str, Any]:
    prices, funding = SHARED_DATA / name, SHARED_DATA / "funding_8h.csv.gz"
    for path in (prices, funding):
        if not path.is_file():
            pytest.skip(f"real market data {path} is absent (expected ../shared/data beside the repository)")
    config = folder / "crash.toml"
    config.write_text(
        toml_text(
            {
                "bot": {"state_dir": str(folder / "var")},
                "market": {"source": "replay", "prices": str(prices)},
                "portfolio": {"quote": "USDT"},
                "portfolio.holdings_value": {"SOL": 10_000.0, "ADA": 10_000.0, "DOGE": 10_000.0, "DOT": 10_000.0},
                "hedge": {"instruments": ["BTC/USDT:USDT", "ETH/USDT:USDT"], "policy": "min_variance",
                          "window": "12h", "sample": "1m", "min_samples": 300},
                "risk": {"max_price_age": "10m", "max_loss": 1.0, "max_daily_loss": 1.0, "max_hedge_loss": 1.0,
                         "max_hedge_daily_loss": 1.0},
                "paper": {"collateral": 100_000.0},
            }
        )
    )  # fmt: skip
    args = ["--prices", str(prices), "--funding", str(funding), "--start", str(start), "--end", str(end), "--json"]
    code = main(["backtest", "--config", str(config), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.parametrize(("name", "start", "end"), CRASHES, ids=[name for name, _, _ in CRASHES])
def test_a_one_minute_crash_file_replays_and_is_measured_on_every_minute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, start: date, end: date
) -> None:
    result = _replay(tmp_path, capsys, name, start, end)
    assert result["liquidations"] == {"count": 0, "events": []}
    assert result["hedged"]["trades"] > 0
    assert result["hedged"]["max_drawdown"] > 0  # the crash is in the hedged value too, never a flat 0.00
    assert result["unhedged"]["max_drawdown"] > result["hedged"]["max_drawdown"]
    assert 0 < result["effectiveness"]["variance_reduction"] <= 1
    with sqlite3.connect(tmp_path / "var" / "backtest.sqlite") as db:
        stamps = [ts for (ts,) in db.execute("SELECT ts FROM valuations ORDER BY ts")]
    steps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert len(stamps) > 0.9 * (end - start).days * 24 * 60  # valued every minute, not every hour
    assert sorted(steps)[len(steps) // 2] == MINUTE
