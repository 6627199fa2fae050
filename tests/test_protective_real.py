"""On real history, the protective put covers more as the basket falls: LUNA's collapse in May 2022."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.config import load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json, result_text
from bot.store.journal import Journal

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data


def test_the_protective_put_raises_its_cover_through_the_luna_crash_and_reports_its_capture(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    market = {"prices": prices_1h, "funding": funding_8h, "perp": perp_1h, "start": date(2022, 5, 1)}
    config = with_overrides(
        load_config(REPO / "config" / "protective.toml"),
        bot={"state_dir": tmp_path},
        market={**market, "end": date(2022, 6, 1)},
    )
    summary = run_backtest(config)
    result = result_json(summary)
    journal = Journal(tmp_path / "backtest.sqlite")
    covers = [json.loads(row["numbers"])["cover"] for row in journal.rows("decisions")]
    journal.close()
    effectiveness = result["effectiveness"]
    assert covers[-1] > covers[0] + 0.2  # the basket lost about half in May 2022: the put went into the money
    assert 0.0 < effectiveness["downside_capture"] < 1.0
    assert effectiveness["capture_spread"] == pytest.approx(
        effectiveness["upside_capture"] - effectiveness["downside_capture"], abs=1e-5
    )
    assert effectiveness["floor"] == 0.85
    assert "capture         upside " in result_text(summary)
