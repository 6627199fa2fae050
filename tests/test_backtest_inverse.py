"""On real history, inverse (coin-margined) hedges run end to end: an ETH holding posted as the collateral of a
1:1 short inverse ETH perpetual holds its value in quote (issue 21)."""

from __future__ import annotations

import csv
import gzip
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config, with_overrides
from bot.live.session import run_backtest
from bot.report.backtest import result_json

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data
START, END, YEAR_END = date(2021, 1, 1), date(2021, 3, 1), date(2022, 1, 1)


def _eth_close(prices: Path, stamp: str) -> float:
    with gzip.open(prices, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["timestamp"] == stamp and row["symbol"] == "ETHUSDT":
                return float(row["close"])
    raise AssertionError(f"no ETHUSDT close at {stamp}")


def _run(
    tmp_path: Path,
    prices: Path,
    funding: Path,
    perp: Path,
    name: str = "inverse-eth.toml",
    end: date = END,
    **hedge: Any,
) -> dict[str, Any]:
    market = {"prices": prices, "funding": funding, "perp": perp, "start": START, "end": end}
    base = load_config(REPO / "config" / name)
    config = with_overrides(base, bot={"state_dir": tmp_path}, market=market, hedge=hedge)
    return result_json(run_backtest(config, handle_signals=False))


def test_an_eth_holding_posted_for_a_one_to_one_inverse_short_keeps_its_value_and_counts_once(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    result = _run(tmp_path, prices_1h, funding_8h, perp_1h)
    # ETH rose from about 736 to about 1,421 over these two months (a candle's close is the price at the next
    # hour): the unhedged figure is the 135 ETH held, counted once (not again as the coin account's equity)
    rise = _eth_close(prices_1h, "2021-02-28T22:00:00Z") - _eth_close(prices_1h, "2020-12-31T23:00:00Z")
    assert result["unhedged"]["pnl"] == pytest.approx(135.0 * rise, rel=1e-3)
    assert result["effectiveness"]["variance_reduction"] > 0.95
    assert result["effectiveness"]["drawdown_reduction"] > 0.9
    # what the hedged book made is the short's carry (funding received) less its costs, in quote: a few % of the
    # holding, not the coin amounts read as dollars
    hedged = result["hedged"]
    assert 0 < hedged["fees"] < 200
    assert hedged["funding"] > 0
    assert abs(hedged["pnl"]) < 0.3 * result["unhedged"]["pnl"]
    assert result["liquidations"]["count"] == 0
    assert result["collateral_cuts"] == []
    coin = result["coin_account"]  # the ETH is the account: fewer coins after the rally, the same USD face
    assert coin["currency"] == "ETH"
    assert coin["posted"] == ["ETH"]
    assert coin["equity_coin"] < 135.0
    assert coin["self_balancing"] is True


def test_the_basket_hedged_with_inverse_btc_hedges_the_btc_bought_as_collateral_too(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    result = _run(tmp_path, prices_1h, funding_8h, perp_1h, "inverse-btc.toml", YEAR_END)
    coin = result["coin_account"]
    assert coin["currency"] == "BTC"
    assert coin["posted"] == []
    # the short covers the basket and the BTC held as collateral (69 BTC, about 2,000,000 at the start): its USD
    # face is beyond the coin account's own value
    assert coin["short_face"] > coin["equity_quote"]
    assert result["liquidations"]["count"] == 0
    # as effective as the linear BTC hedge of the same basket over 2021, within a few points
    linear = _run(tmp_path, prices_1h, funding_8h, perp_1h, "backtest.toml", YEAR_END, instruments=["BTC/USDT:USDT"])
    gap = result["effectiveness"]["variance_reduction"] - linear["effectiveness"]["variance_reduction"]
    assert abs(gap) < 0.05, (result["effectiveness"], linear["effectiveness"])
