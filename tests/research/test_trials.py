"""A trial in a worker: the data files are read once per worker, and each trial's state is its own."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import load_config, with_overrides
from bot.research.cluster import InProcess
from bot.research.trials import TrialSpec


def test_a_worker_reads_the_data_files_once_and_its_later_trials_run_from_memory(
    small_market: Any, tmp_path: Path
) -> None:
    prices, funding = tmp_path / "prices.csv", tmp_path / "funding.csv"
    shutil.copy(small_market.prices, prices)
    shutil.copy(small_market.funding, funding)
    base = with_overrides(load_config(small_market.config), market={"prices": prices, "funding": funding})
    runner = InProcess(scratch=str(tmp_path))
    period = (date(2021, 1, 15), date(2021, 2, 1))
    first = runner.run(base, [TrialSpec(0, (("hedge.rebalance_band", 0.05),), *period)])
    prices.unlink()  # a later trial over the same data can no longer read the file: it must not need to
    funding.unlink()
    later = runner.run(base, [TrialSpec(1, (("hedge.rebalance_band", 0.2),), *period)])
    assert first[0].trades > later[0].trades > 0  # a wider band trades less: the second trial really ran
    assert list(tmp_path.iterdir()) == []  # and each trial's state directory is gone after it
