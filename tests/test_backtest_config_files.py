"""`hedgebot backtest` reads the data files the config names when --prices/--funding are not given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def test_a_backtest_without_file_flags_uses_the_files_named_in_the_config(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bt.toml"
    config.write_text(
        f'[bot]\nstate_dir = "{tmp_path}"\n'
        f'[market]\nprices = "{prices_1h}"\nfunding = "{funding_8h}"\nstart = 2022-05-01\nend = 2022-05-08\n'
        '[hedge]\nwindow = "2d"\nmin_samples = 24\n'
    )
    assert main(["backtest", "--config", str(config), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hedged"]["trades"] > 0


def test_a_backtest_with_no_price_file_in_flags_or_config_is_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bt.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n')
    assert main(["backtest", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == "hedgebot: backtest: no price file: pass --prices FILE or set [market] prices in the config\n"


def test_a_backtest_with_prices_but_no_funding_names_the_funding_file_as_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bt.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n')
    assert main(["backtest", "--config", str(config), "--prices", str(tmp_path / "p.csv")]) == 2
    assert capsys.readouterr().err == (
        "hedgebot: backtest: no funding file: pass --funding FILE or set [market] funding in the config\n"
    )
