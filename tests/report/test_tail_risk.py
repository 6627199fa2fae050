"""VaR and expected shortfall of today's book from history, historical and filtered; past crashes replayed on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.domain import Symbol
from bot.execution.market_rules import default_instrument
from bot.report.history import History
from bot.report.stress import Book, HedgePosition, Holding, historical_scenario, stress
from bot.report.tail_risk import book_pnl, filtered, historical, tail_risk

BTC_PERP = default_instrument(Symbol("BTC/USDT:USDT"))
SOL_PERP = default_instrument(Symbol("SOL/USDT:USDT"))


def _book(hedge_qty: float = 0.0, instrument: object = BTC_PERP) -> Book:
    holdings = [Holding("SOL", 100.0, 100.0), Holding("DOGE", 100_000.0, 0.1)]  # 10,000 each
    hedges = [HedgePosition(instrument, hedge_qty, 100.0 if instrument is SOL_PERP else 50_000.0)]  # type: ignore[arg-type]  # a test's choice of perp
    return Book(holdings, hedges if hedge_qty else [], 20_000.0, 0.005)


def test_historical_var_is_the_quantile_of_the_losses_and_es_the_mean_beyond_it() -> None:
    pnl = [float(-x) for x in range(1, 101)]  # losses 1 … 100
    risk = historical(pnl, 0.95)
    assert risk.var == pytest.approx(95.05)
    assert risk.es == pytest.approx(np.mean([96, 97, 98, 99, 100]))


def test_a_leg_hedging_a_holding_with_its_own_perpetual_removes_its_pnl() -> None:
    book = _book(hedge_qty=-100.0, instrument=SOL_PERP)  # short 10,000 of SOL against 10,000 SOL
    unhedged, hedged = book_pnl(book, [{"SOL": -0.2, "DOGE": 0.0}, {"SOL": 0.1, "DOGE": 0.05}])
    assert unhedged == pytest.approx([-2_000.0, 1_500.0])
    assert hedged == pytest.approx([0.0, 500.0])


def test_days_without_a_return_for_an_asset_the_book_holds_are_skipped() -> None:
    unhedged, _ = book_pnl(_book(), [{"SOL": -0.1}, {"SOL": 0.1, "DOGE": 0.1}])
    assert unhedged == pytest.approx([2_000.0])


def test_filtering_scales_a_calm_history_up_to_a_volatile_present() -> None:
    rng = np.random.default_rng(7)
    pnl = list(rng.normal(0, 100, 400)) + list(rng.normal(0, 1_000, 15))  # volatility rose tenfold lately
    assert historical(filtered(pnl), 0.95).var > 4 * historical(pnl, 0.95).var


def test_a_past_crash_is_replayed_at_the_books_worst_point_and_an_unpriced_asset_takes_the_mean_move() -> None:
    path = [
        ("t0", {"SOL": 100.0, "BTC": 50_000.0}),
        ("t1", {"SOL": 60.0, "BTC": 40_000.0}),  # the worst point
        ("t2", {"SOL": 80.0, "BTC": 30_000.0}),
    ]
    scenario = historical_scenario("crash", path, _book())
    assert scenario.name == "crash (to t1; DOGE unpriced: mean move)"
    assert scenario.move("SOL") == pytest.approx(-0.4)
    assert scenario.move("BTC") == pytest.approx(-0.2)
    assert scenario.move("DOGE") == pytest.approx(-0.4)


def _history() -> History:
    folder = Path(__file__).resolve().parents[3] / "shared" / "data"
    if not (folder / "prices_1h.csv.gz").is_file():
        pytest.skip(f"real market data {folder} is absent (expected ../shared/data beside the repository)")
    return History(folder, "USDT")


def test_on_real_history_a_btc_short_cuts_the_ftx_crash_loss_and_the_tail_of_the_book() -> None:
    history = _history()
    book = _book(hedge_qty=-0.2)  # 10,000 short BTC against 20,000 of altcoins
    ftx = dict(history.paths())["FTX collapse, Nov 2022"]
    result = stress(book, historical_scenario("FTX", ftx, book))
    assert result.loss_unhedged > 0.2 * 20_000  # SOL fell by more than half
    assert 0 < result.loss_hedged < result.loss_unhedged
    risk = tail_risk(book, history.daily_returns(), 0.99)
    assert risk.days > 700
    assert risk.hedged.es < risk.unhedged.es
    assert risk.hedged_filtered.var < risk.unhedged_filtered.var


def test_stress_with_history_adds_the_crashes_and_var_to_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _history()
    status = {
        "prices": {"SOL/USDT": 100.0, "DOGE/USDT": 0.1, "BTC/USDT:USDT": 50_000.0},
        "holdings": {"SOL": 100.0, "DOGE": 100_000.0},
        "positions": {"BTC/USDT:USDT": -0.2},
        "equity": 20_000.0,
    }
    saved = tmp_path / "status.json"
    saved.write_text(json.dumps({"ok": True, "status": status}))
    assert main(["stress", "--status", str(saved), "--history", str(history.folder)]) == 0
    out = capsys.readouterr().out
    for name in ("2020-03-12 crash (to", "2021-05-12 sell-off (1m) (to", "LUNA collapse", "FTX collapse"):
        assert name in out
    assert "one-day value at risk and expected shortfall at 99%" in out
    assert "filtered (EWM volatility): unhedged VaR" in out


def test_a_history_folder_without_the_hourly_file_is_one_clear_line_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stress", "--status", str(tmp_path / "never-read.json"), "--history", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hedgebot: --history {tmp_path}: no prices_1h.csv.gz there")
    assert err.count("\n") == 1


FILES = {"prices": "prices_1h.csv.gz", "funding": "funding_8h.csv.gz", "perp": "perp_1h.csv.gz"}


def test_a_backtest_reports_var_and_es_of_its_days_hedged_below_unhedged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _history()
    repo = Path(__file__).resolve().parents[2]
    text = (repo / "config" / "backtest.toml").read_text().replace('state_dir = "var"', f'state_dir = "{tmp_path}"')
    config = tmp_path / "backtest.toml"
    config.write_text(text)
    files = [f"--{key}={history.folder / name}" for key, name in FILES.items()]
    period = ["--start", "2022-05-01", "--end", "2022-07-01"]  # LUNA and 3AC
    assert main(["backtest", "--config", str(config), *files, *period, "--json"]) == 0
    tail = json.loads(capsys.readouterr().out)["tail_risk"]
    assert tail["days"] == 61
    assert 0 < tail["historical"]["hedged"]["es"] < tail["historical"]["unhedged"]["es"]
    assert tail["historical"]["unhedged"]["var"] <= tail["historical"]["unhedged"]["es"]
