"""`[hedge.liquidity]` at check-config: tiers resolve in order, a bad one is one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

TIERS = "tiers = [{ min_quote_volume = 50e6, max_weight = 1.0 }, { min_quote_volume = 2e6, max_weight = 0.25 }]\n"


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "liquidity.toml"
    path.write_text(text)
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_liquidity_tiers_resolve_highest_volume_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check(tmp_path, "[hedge]\nproxy_select = true\n[hedge.liquidity]\n" + TIERS, capsys)
    assert code == 0
    liquidity = json.loads(out)["hedge"]["liquidity"]
    assert [t["min_quote_volume"] for t in liquidity["tiers"]] == [50e6, 2e6]
    assert (liquidity["days"], liquidity["hysteresis"]) == (30, 0.2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tiers = [{ min_quote_volume = 2e6, max_weight = 0.25 }, { min_quote_volume = 50e6, max_weight = 1.0 }]",
            "min_quote_volume must fall strictly",
        ),
        (
            "tiers = [{ min_quote_volume = 50e6, max_weight = 0.2 }, { min_quote_volume = 2e6, max_weight = 0.5 }]",
            "max_weight never rise",
        ),
        ("tiers = [{ min_quote_volume = -1.0, max_weight = 0.5 }]", "min_quote_volume"),
        ("tiers = [{ min_quote_volume = 1e6, max_weight = 0 }]", "max_weight"),
        ("tiers = [{ min_quote_volume = 1e6 }]", "max_weight"),
        ("hysteresis = 1.0", "hedge.liquidity.hysteresis"),
        ("days = 0", "hedge.liquidity.days"),
        ("min_volume = 5", "hedge.liquidity.min_volume"),
    ],
)
def test_a_bad_liquidity_setting_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, _, err = _check(tmp_path, "[hedge.liquidity]\n" + text + "\n", capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert expected in err
