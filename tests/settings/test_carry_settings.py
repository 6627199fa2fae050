"""`[hedge.carry]` and "…@carry" legs at check-config: a valid carry config resolves, a bad one is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "carry.toml"
    path.write_text(text)
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_carry_leg_and_its_rule_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check(
        tmp_path,
        '[hedge]\ninstruments = ["BTC/USDT:USDT@carry", "ETH/USDT:USDT"]\n'
        '[hedge.carry]\nthreshold = 0.03\nmin_hold = "3d"\n',
        capsys,
    )
    assert code == 0
    hedge = json.loads(out)["hedge"]
    assert hedge["instruments"][0] == "BTC/USDT:USDT@carry"
    assert hedge["carry"] == {
        "threshold": 0.03, "lookback": "7d", "min_hold": "3d", "fee_bps": 4.0, "slippage_bps": 2.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[hedge.carry]\nthreshold = -0.01\n", "hedge.carry.threshold"),
        ('[hedge.carry]\nmin_hold = "soon"\n', "hedge.carry.min_hold"),
        ("[hedge.carry]\nthreshhold = 0.02\n", "hedge.carry.threshhold"),
        ('[hedge]\ninstruments = ["BTC/USDT:USDT@carry", "BTC/USDT:USDT"]\n', "no other leg may trade"),
        ('[hedge]\ninstruments = ["BTC/USDT:USDT-240329@carry"]\n', "@carry follows the perpetual"),
        ('[hedge]\ninstruments = ["BTC/USDT:BTC@carry"]\n', "an inverse contract is quoted in USD"),
    ],
)
def test_a_bad_carry_setting_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, _, err = _check(tmp_path, text, capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert expected in err


@pytest.mark.parametrize(("exchange", "expected"), [("binancecoinm", 0), ("bybit", 2), ("binanceusdm", 2)])
def test_a_dated_inverse_contract_live_is_accepted_on_binancecoinm_and_refused_in_one_line_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exchange: str, expected: int
) -> None:
    text = (
        f'[bot]\nmode = "live"\n[market]\nsource = "exchange"\n[venue]\nexchange = "{exchange}"\n'
        '[portfolio]\nquote = "USDT"\n[hedge]\ninstruments = ["BTC/USD:BTC@quarterly"]\n'
        '[prices]\nexchange = "binance"\n'
    )
    code, _, err = _check(tmp_path, text, capsys)
    assert code == expected, err
    if expected:
        assert err.count("\n") == 1
        assert "trade live on Binance COIN-M (venue.exchange = 'binancecoinm')" in err
