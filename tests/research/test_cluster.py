"""A sweep on a two-worker Dask cluster on 127.0.0.1 gives exactly the results of the single-process run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

from bot.cli import main

GRID = '[grid]\n"hedge.window" = ["3d", "7d"]\n"hedge.policy" = ["min_variance", "beta"]\n'


@pytest.fixture
def two_workers() -> Iterator[str]:
    """A scheduler and two single-threaded worker processes on loopback, as `dask scheduler` and two
    `dask worker` would be on a real cluster."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(argv) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.slow
def test_a_sweep_on_a_two_worker_dask_cluster_equals_the_single_process_run(
    small_market: Any, tmp_path: Path, two_workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    argv = ["sweep", "--config", str(small_market.config), "--grid", str(grid)]
    argv += ["--start", "2021-01-15", "--end", "2021-02-14", "--json"]
    alone = run_json([*argv, "--workers", "1"], capsys)
    clustered = run_json([*argv, "--cluster", two_workers], capsys)
    assert clustered == alone
    assert len(clustered["trials"]) == 4
