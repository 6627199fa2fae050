"""Issue 14, item 2: one bad price print in the data never builds a hedge, fills at it, or liquidates the account.

Each attack runs `hedgebot backtest` in process on a copy of three weeks of ../shared/data (written to tmp, never
into the repository) with one candle corrupted, as the issue found them: a SOL candle ×1000 built a +88,343 ETH
contract target on a 30 k basket; ÷1000 lost the collateral; a BTC perpetual candle ×1000 "liquidated" the account.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.store.journal import Journal

pytestmark = pytest.mark.data

BAD_HOUR = "2021-10-25T10:00:00Z"  # the candle corrupted (open time)
FIRST, END = "2021-10-10", "2021-11-01"  # the slice copied: a week of warm-up, then two weeks traded
START = "2021-10-18"
COLLATERAL = 100_000.0

CONFIG = """
[bot]
mode = "paper"
state_dir = "{state}"

[market]
source = "replay"
prices = "{prices}"

[portfolio]
quote = "USDT"

[portfolio.holdings_value]
ETH = 10000.0
SOL = 10000.0
LINK = 10000.0

[hedge]
instruments = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
policy = "min_variance"
window = "7d"
sample = "1h"
min_trade_notional = 250.0

[risk]
max_leverage = 5.0
max_position_notional = 20000000.0
max_order_notional = 200000.0
max_price_age = "2h"
max_daily_loss = 1.0
max_loss = 1.0
max_hedge_daily_loss = 1.0
max_hedge_loss = 1.0

[execution]
clip_notional = 50000.0
clip_interval = "1m"

[paper]
collateral = {collateral}
{extra}
"""


def _copy(source: Path, target: Path, symbols: set[str], corrupt: tuple[str, float] | None = None) -> Path:
    """The rows of `symbols` from FIRST to END, with the candle (symbol, ×factor) at BAD_HOUR corrupted."""
    with gzip.open(source, "rt") as rows, gzip.open(target, "wt") as out:
        out.write(rows.readline())
        for line in rows:
            ts, symbol, _ = line.split(",", 2)
            if not FIRST <= ts < END or symbol not in symbols:
                continue
            if corrupt is not None and ts == BAD_HOUR and symbol == corrupt[0]:
                fields = line.rstrip("\n").split(",")
                fields[2:6] = [repr(float(value) * corrupt[1]) for value in fields[2:6]]
                line = ",".join(fields) + "\n"
            out.write(line)
    return target


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, prices_1h: Path, funding_8h: Path, perp_1h: Path) -> Path:
    folder = tmp_path_factory.mktemp("slice")
    _copy(prices_1h, folder / "prices.csv.gz", {"BTCUSDT", "ETHUSDT", "SOLUSDT", "LINKUSDT"})
    _copy(perp_1h, folder / "perp.csv.gz", {"BTCUSDT", "ETHUSDT"})
    _copy(funding_8h, folder / "funding.csv.gz", {"BTCUSDT", "ETHUSDT"})
    return folder


Backtest = Callable[..., tuple[dict[str, Any], Journal]]


@pytest.fixture
def backtest(tmp_path: Path, clean: Path, capsys: pytest.CaptureFixture[str]) -> Backtest:
    def run(
        prices: tuple[str, float] | None = None, perp: tuple[str, float] | None = None, extra: str = ""
    ) -> tuple[dict[str, Any], Journal]:
        price_file = clean / "prices.csv.gz"
        if prices is not None:
            price_file = _copy(
                clean / "prices.csv.gz",
                tmp_path / "prices.csv.gz",
                {"BTCUSDT", "ETHUSDT", "SOLUSDT", "LINKUSDT"},
                prices,
            )
        perp_file = clean / "perp.csv.gz"
        if perp is not None:
            perp_file = _copy(clean / "perp.csv.gz", tmp_path / "perp.csv.gz", {"BTCUSDT", "ETHUSDT"}, perp)
        config = tmp_path / "bt.toml"
        text = CONFIG.format(state=tmp_path / "state", prices=price_file, collateral=COLLATERAL, extra=extra)
        config.write_text(text)
        files = ["--prices", str(price_file), "--funding", str(clean / "funding.csv.gz"), "--perp", str(perp_file)]
        code = main(["backtest", "--config", str(config), *files, "--start", START, "--end", END[:10], "--json"])
        assert code == 0
        return json.loads(capsys.readouterr().out), Journal(tmp_path / "state" / "backtest.sqlite")

    return run


def _assert_hedged_within_the_exposure(journal: Journal) -> None:
    """Every decision targets a short of at most the exposure it saw; every hour the hedge held is short, by about
    the spot book's value at most (prices move between decisions), and the account is never near ruin."""
    decisions = journal.rows("decisions")
    assert decisions
    for decision in decisions:
        exposure = json.loads(decision["numbers"]).get("hedged_exposure")
        net = sum(target["notional"] for target in json.loads(decision["targets"]))
        if exposure is not None and decision["trigger"] != "target_jump_held":
            assert -exposure * (1 + 1e-9) <= net <= 0.0, decision
    for v in journal.valuations():
        assert -v.spot_value * 1.2 <= v.hedge_notional <= v.spot_value * 0.05, v  # net short when decided
        assert v.hedge_equity > 0.8 * COLLATERAL, v  # no liquidation: the hedge of a 30 k book cannot lose 20 k


def _fill_prices(journal: Journal) -> dict[str, tuple[float, float]]:
    prices: dict[str, list[float]] = {}
    for fill in journal.rows("fills"):
        prices.setdefault(fill["symbol"], []).append(fill["price"])
    return {symbol: (min(p), max(p)) for symbol, p in prices.items()}


@pytest.mark.parametrize("factor", [1000.0, 0.001])
def test_a_sol_candle_a_thousand_times_off_is_quarantined_and_the_hedge_stays_short_within_the_exposure(
    backtest: Backtest, factor: float
) -> None:
    clean, _ = backtest()
    result, journal = backtest(prices=("SOLUSDT", factor))
    assert result["quarantined"] >= 1
    assert clean["quarantined"] == 0
    _assert_hedged_within_the_exposure(journal)
    assert result["hedged"]["trades"] <= clean["hedged"]["trades"] + 4
    assert abs(result["hedged"]["pnl"] - clean["hedged"]["pnl"]) < 1_000.0  # the print changed next to nothing


def test_a_btc_perpetual_candle_a_thousand_times_too_high_is_never_traded_at_nor_liquidates(
    backtest: Backtest,
) -> None:
    result, journal = backtest(perp=("BTCUSDT", 1000.0))
    assert result["quarantined"] >= 1
    _assert_hedged_within_the_exposure(journal)
    low, high = _fill_prices(journal)["BTC/USDT:USDT"]
    assert 50_000 < low <= high < 70_000  # BTC traded between 55 and 67 k that fortnight: no fill at 60 M


def test_with_the_sanity_layer_off_the_jump_hold_and_the_cap_still_keep_the_hedge_within_the_exposure(
    backtest: Backtest,
) -> None:
    result, journal = backtest(prices=("SOLUSDT", 1000.0), extra="[sanity]\nenabled = false\n")
    assert result["quarantined"] == 0
    held = [d for d in journal.rows("decisions") if d["trigger"] == "target_jump_held"]
    assert len(held) == 1
    assert "held until the next decision confirms it" in held[0]["reason"]
    _assert_hedged_within_the_exposure(journal)
