"""`hedgebot sweep` with a [search]: optuna proposes the trials, the same wherever they run; bad ranges refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

SEARCH = '[search]\n"hedge.rebalance_band" = {low = 0.02, high = 0.4}\n"hedge.window" = ["3d", "7d"]\n'


def search_argv(market: Any, folder: Path, body: str, *extra: str) -> list[str]:
    path = folder / "search.toml"
    path.write_text(body)
    argv = ["sweep", "--config", str(market.config), "--grid", str(path), "--start", "2021-01-15"]
    return [*argv, "--end", "2021-02-01", "--trials", "4", "--batch", "2", "--seed", "3", *extra]


def test_a_search_runs_the_trials_asked_within_the_ranges_and_a_pool_gives_the_single_process_results(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(search_argv(small_market, tmp_path, SEARCH, "--workers", "1", "--json")) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main(search_argv(small_market, tmp_path, SEARCH, "--workers", "2", "--json")) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert pooled == alone
    assert [trial["trial"] for trial in alone["trials"]] == [0, 1, 2, 3]
    for trial in alone["trials"]:
        assert 0.02 <= trial["values"]["hedge.rebalance_band"] <= 0.4
        assert trial["values"]["hedge.window"] in ("3d", "7d")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('[search]\n"hedge.rebalance_band" = {low = 0.5, high = 0.1}\n', "search.hedge.rebalance_band"),
        ('[search]\n"hedge.rebalance_band" = {low = 0.1, high = 3.0}\n', "hedge.rebalance_band"),
        ('[search]\n"hedge.windw" = ["3d"]\n', "hedge.windw: unknown key"),
        ('[search]\n"hedge.window" = "3d"\n', "search.hedge.window: got '3d'"),
    ],
)
def test_a_bad_search_is_one_line_naming_the_key_and_exit_two_before_any_trial_runs(
    small_market: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, named: str
) -> None:
    assert main(search_argv(small_market, tmp_path, body)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert named in err
    assert "trial(s) on" not in err
