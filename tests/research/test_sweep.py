"""`hedgebot sweep` end to end on a small market: the table, the JSON, equality with `hedgebot backtest`, bad grids."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.store.lock import state_lock

GRID = """
[grid]
"hedge.window" = ["3d", "7d"]
"hedge.rebalance_band" = [0.05, 0.2]
"""


def sweep(market: Any, grid: Path, *extra: str) -> list[str]:
    return [
        "sweep",
        "--config",
        str(market.config),
        "--grid",
        str(grid),
        "--start",
        "2021-01-15",
        "--end",
        "2021-02-14",
        *extra,
    ]


def grid_file(folder: Path, body: str = GRID) -> Path:
    path = folder / "grid.toml"
    path.write_text(body)
    return path


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(argv) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.fixture(scope="module")
def alone(small_market: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON of GRID run in this process (`--workers 1`): the reference every other runner must equal."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(sweep(small_market, grid_file(tmp_path_factory.mktemp("grid")), "--workers", "1", "--json")) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_a_sweep_runs_every_combination_of_the_grid_in_order_and_names_the_best_and_the_frontier(
    alone: dict[str, Any],
) -> None:
    result = alone
    values = [trial["values"] for trial in result["trials"]]
    assert values == [
        {"hedge.window": "3d", "hedge.rebalance_band": 0.05},
        {"hedge.window": "3d", "hedge.rebalance_band": 0.2},
        {"hedge.window": "7d", "hedge.rebalance_band": 0.05},
        {"hedge.window": "7d", "hedge.rebalance_band": 0.2},
    ]
    assert all(trial["trades"] > 0 for trial in result["trials"])
    reductions = [trial["variance_reduction"] for trial in result["trials"]]
    assert result["best"] == reductions.index(max(reductions))
    assert result["best"] in result["frontier"]


def test_a_trial_equals_hedgebot_backtest_run_on_the_same_config(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = grid_file(tmp_path, '[grid]\n"hedge.window" = ["3d"]\n"hedge.rebalance_band" = [0.2]\n')
    trial = run_json(sweep(small_market, grid, "--workers", "1", "--json"), capsys)["trials"][0]
    config = tmp_path / "same.toml"
    text = small_market.config.read_text().replace('window = "7d"', 'window = "3d"')
    config.write_text(
        text.replace("rebalance_band = 0.1", "rebalance_band = 0.2").replace(
            str(small_market.state_dir), str(tmp_path / "state")
        )
    )
    argv = ["backtest", "--config", str(config), "--prices", str(small_market.prices)]
    argv += ["--funding", str(small_market.funding), "--start", "2021-01-15", "--end", "2021-02-14", "--json"]
    backtest = run_json(argv, capsys)
    assert trial["variance_reduction"] == backtest["effectiveness"]["variance_reduction"]
    assert trial["drawdown_reduction"] == backtest["effectiveness"]["drawdown_reduction"]
    assert trial["fees"] == backtest["hedged"]["fees"]
    assert trial["funding"] == backtest["hedged"]["funding"]
    assert trial["trades"] == backtest["hedged"]["trades"]
    assert trial["pnl"] == backtest["hedged"]["pnl"]


def test_trials_run_while_the_configs_backtest_lock_is_held_each_in_its_own_state_directory(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = state_lock(small_market.state_dir / "backtest.lock")  # a `hedgebot backtest` running on this config
    try:
        result = run_json(sweep(small_market, grid_file(tmp_path), "--workers", "1", "--json"), capsys)
    finally:
        lock.release()
    assert len(result["trials"]) == 4
    assert not (small_market.state_dir / "backtest.sqlite").exists()  # no trial wrote the config's own journal


def test_a_local_process_pool_gives_the_results_of_the_single_process_run(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], alone: dict[str, Any]
) -> None:
    pooled = run_json(sweep(small_market, grid_file(tmp_path), "--workers", "2", "--json"), capsys)
    assert pooled == alone


def test_the_table_marks_the_best_trial_and_the_html_page_draws_the_frontier_with_the_vendored_uplot(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "sweep.html"
    assert main(sweep(small_market, grid_file(tmp_path), "--workers", "1", "--html", str(page))) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 5
    assert sum(">" in line.split()[0] for line in table[1:]) == 1
    html = page.read_text()
    assert "uPlot" in html
    assert "default-src 'none'" in html
    assert "http://" not in html
    assert "https://" not in html.replace("https://github.com/leeoniya/uPlot", "")
    assert html.count("<tr") == 5


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('[grid]\n"hedge.windw" = ["3d"]\n', "hedge.windw: unknown key"),
        ('[grid]\n"hedge.rebalance_band" = [0.1, 7.0]\n', "hedge.rebalance_band"),
        ('[grid]\n"hedge.policy" = ["min_variance", "magic"]\n', "hedge.policy"),
        ('[grid]\n"hedge.window" = ["2h"]\n"hedge.sample" = ["1h", "4h"]\n', "hedge.sample"),
        ('[grid]\n"hedge.window" = "7d"\n', "grid.hedge.window: got '7d', expected a list"),
        ('[grid]\n"hedge.window" = []\n', "grid.hedge.window: an empty list"),
        ('[grid]\n"market.start" = [2021-01-01]\n', "grid.market.start: set by the sweep itself"),
        ('[grid]\n"nosuch.key" = [1]\n', "nosuch"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_a_bad_grid_is_one_line_naming_the_key_and_exit_two_before_any_trial_runs(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, named: str
) -> None:
    assert main(sweep(small_market, grid_file(tmp_path, body), "--workers", "1")) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert named in err
    assert "trial(s) on" not in err  # the line a sweep prints as its trials start


def test_a_cluster_address_where_no_scheduler_listens_is_one_line_and_exit_two(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = sweep(small_market, grid_file(tmp_path), "--cluster", "tcp://127.0.0.1:9")
    assert main(argv) == 2
    assert "cannot reach a Dask scheduler" in capsys.readouterr().err


def test_walk_forward_chooses_on_each_training_period_and_scores_that_choice_on_the_period_after(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = grid_file(tmp_path, '[grid]\n"hedge.rebalance_band" = [0.05, 0.3]\n')
    argv = ["sweep", "--config", str(small_market.config), "--grid", str(grid), "--walk-forward", "--workers", "1"]
    argv += ["--start", "2021-01-10", "--end", "2021-02-14", "--train", "14d", "--test", "7d", "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "sweep: 9 trial(s) on" in err  # 2 values × 3 training periods, and the 3 choices scored
    result = json.loads(out)
    folds = result["folds"]
    assert [fold["test"] for fold in folds] == [
        ["2021-01-24", "2021-01-31"],
        ["2021-01-31", "2021-02-07"],
        ["2021-02-07", "2021-02-14"],
    ]
    for fold in folds:
        assert fold["train"][1] == fold["test"][0]
        assert fold["in_sample"]["values"] == fold["values"] == fold["out_of_sample"]["values"]
        assert [fold["out_of_sample"]["start"], fold["out_of_sample"]["end"]] == fold["test"]
    scored = [fold["out_of_sample"]["variance_reduction"] for fold in folds]
    assert result["out_of_sample_mean"]["variance_reduction"] == pytest.approx(sum(scored) / len(scored))


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--workers", "0"], "--workers 0"),
        (["--workers", "2", "--cluster", "tcp://127.0.0.1:9"], "--workers and --cluster"),
        (["--end", "2021-01-10"], "--end 2021-01-10 is not after --start 2021-01-15"),
        (["--walk-forward", "--train", "30d", "--test", "7d"], "shorter than one fold"),
        (["--walk-forward", "--train", "36h"], "--train 36h: give whole days"),
        (["--prices", "/nonexistent/prices.csv"], "--prices /nonexistent/prices.csv: no such file"),
    ],
)
def test_bad_command_line_values_are_one_line_and_exit_two_before_any_trial_runs(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    assert main([*sweep(small_market, grid_file(tmp_path)), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert named in err
    assert "trial(s) on" not in err
