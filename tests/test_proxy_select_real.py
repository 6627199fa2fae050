"""On real history, proxy selection hedges the ten-altcoin basket with perpetuals of coins it does not hold."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import load_config, with_overrides
from bot.domain import Symbol
from bot.feeds.replay import load_replay
from bot.live.session import run_backtest
from bot.report.backtest import result_json
from bot.store.journal import Journal
from bot.testing.replay_cut import feed_stopped

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data


def _new_set(reason: str) -> str:
    """The chosen set a `proxy_reselect` reason names: 'proxies [old] → [new] (R² ...): why'."""
    return reason.split("→ [", 1)[1].split("]", 1)[0]


def test_the_basket_is_hedged_by_a_chosen_few_of_the_other_coins_perpetuals_through_luna_and_3ac(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    market = {"prices": prices_1h, "funding": funding_8h, "perp": perp_1h}
    period = {"start": date(2022, 5, 1), "end": date(2022, 8, 1)}
    config = with_overrides(
        load_config(REPO / "config" / "proxy-select.toml"), bot={"state_dir": tmp_path}, market={**market, **period}
    )
    result = result_json(run_backtest(config))
    journal = Journal(tmp_path / "backtest.sqlite")
    decisions = journal.rows("decisions")
    traded = {row["symbol"] for row in journal.rows("fills")}
    journal.close()
    assert decisions[0]["trigger"] == "proxy_reselect"
    assert "first choice" in decisions[0]["reason"]
    holdings = set(config.portfolio.holdings_value)
    assert traded <= set(config.hedge.instruments)  # only the candidates: no holding's own perpetual
    assert not {symbol.split("/")[0] for symbol in traded} & holdings
    assert 1 <= len(traded) <= len(config.hedge.instruments)
    assert result["effectiveness"]["variance_reduction"] > 0.8  # 0.89 measured
    assert result["effectiveness"]["drawdown_reduction"] > 0.6  # 0.73 measured


def test_a_proxy_whose_feed_stops_mid_run_is_dropped_and_replaced_without_a_halt(
    tmp_path: Path, prices_1h: Path, funding_8h: Path, perp_1h: Path
) -> None:
    btc = Symbol("BTC/USDT:USDT")  # in the first chosen set
    cut = int(datetime(2022, 6, 15, tzinfo=UTC).timestamp() * 1000)
    market = {"prices": prices_1h, "funding": funding_8h, "perp": perp_1h}
    period = {"start": date(2022, 5, 1), "end": date(2022, 8, 1)}
    config = with_overrides(
        load_config(REPO / "config" / "proxy-select.toml"), bot={"state_dir": tmp_path}, market={**market, **period}
    )
    result = result_json(run_backtest(config, load=lambda spec: feed_stopped(load_replay(spec), btc, cut)))
    journal = Journal(tmp_path / "backtest.sqlite")
    decisions = journal.rows("decisions")
    reselections = [row for row in decisions if row["trigger"] == "proxy_reselect"]
    state_changes = journal.rows("state_changes")
    traded_after = {row["symbol"] for row in journal.rows("fills") if row["ts"] >= cut}
    journal.close()
    assert btc in _new_set(reselections[0]["reason"])  # chosen before its feed stops
    [dropped] = [row for row in reselections if f"{btc} gone (price stale" in row["reason"]]
    assert cut < dropped["ts"] <= cut + 3 * 3_600_000  # at the first check past max_price_age (2 h)
    assert btc not in _new_set(dropped["reason"])
    assert state_changes == []  # never reducing, never halted
    assert traded_after  # the others carry the hedge ...
    assert btc not in traded_after  # ... and its position is held
    assert result["effectiveness"]["variance_reduction"] > 0.8  # 0.91 measured
    while_held = [row for row in decisions if row["ts"] >= dropped["ts"] and row["ts"] < cut + 7 * 86_400_000]
    for row in while_held:  # BTC's held short counts: the others do not hedge the whole basket again on top of it
        numbers, targets = json.loads(row["numbers"]), json.loads(row["targets"])
        assert numbers["held_proxy_notional"] < 0
        assert -sum(t["notional"] for t in targets) < 1.05 * numbers["hedged_exposure"]  # about 0.98 measured
