"""`hedgebot run` in live mode on Binance COIN-M with a dated inverse leg: an ETH holding hedged 1:1 by
"ETH/USD:ETH@quarterly", the inverse quarterly the loopback exchange lists (bot/exchange_sim/coinm.py), margined by
the ETH itself, through the real ccxt `binancecoinm` client, on the wall clock; conditions are awaited through the
daemon's control API, never for a fixed time (issue 21).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.domain import Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.store.journal import Journal
from bot.testing.processes import exchange_in_real_time, hedgebot_run, status_when, stopped, write_config

TOKEN = "live-coinm-dated-test-token-0123456789ab"
LEG = Symbol("ETH/USD:ETH@quarterly")
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
COINM = SimSettings(coinm_bases=("ETH",), coinm_collateral=10.0)
FACE = 10.0  # USD per ETH contract


def dated_config(tmp_path: Path, sim: ExchangeSim) -> Path:
    """10 ETH held and posted as the COIN-M wallet's collateral, hedged 1:1 by the ETHUSD quarterly the leg
    names; the holding priced by the loopback exchange's spot market."""
    sections: dict[str, dict[str, Any]] = {
        "portfolio": {"quote": "USDT", "posted": ["ETH"]},
        "hedge": {"instruments": [LEG], "proxy": LEG, "policy": "fixed", "ratio": 1.0},
        "venue": {"exchange": "binancecoinm", "endpoint": f"{sim.base_url}/coinm"},
        "prices": {"exchange": "binance"},
        "prices.endpoints": {"binance": f"{sim.base_url}/spot"},
        "prices.sources": {"ETH": ["binance:ETH/USDT"]},
    }
    return write_config(tmp_path / "coinm-dated.toml", sim, "live", tmp_path, **sections)


def exchange_positions(sim: ExchangeSim) -> dict[str, float]:
    return {p.symbol: p.qty for engine in sim.coinm.desk for p in engine.account.positions() if p.qty}


def hedged(sim: ExchangeSim) -> Any:
    def done(status: dict[str, Any]) -> bool:
        idle = not status["working_parents"] and status["open_orders"] == 0
        held = {s: q for s, q in status["positions"].items() if q}
        return idle and bool(held) and held == exchange_positions(sim)

    return done


@pytest.mark.asyncio
async def test_hedgebot_live_on_coin_m_hedges_with_the_inverse_quarterly_and_reconciles_after_restart(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time(COINM) as sim:
        config = dated_config(tmp_path, sim)
        control_at = parse_listen(f"unix:{tmp_path / 'control.sock'}")
        engine = sim.coinm.desk.engines["ETH"]
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            first = await status_when(control, process, hedged(sim), "the hedge on the inverse quarterly")
            [quarterly] = [Symbol(s) for s, q in first["positions"].items() if q]  # the leg's quarterly
            contract = engine.catalog.by_symbol(quarterly)
            mark = engine.market.mark(contract) if contract is not None else None
            code, _, err = await stopped(process)
        assert code == 0, err
        orders_sent = len(engine.orders())
        sent_before_restart = sim.sent_client_order_ids()
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            second = await status_when(control, process, hedged(sim), "the restarted daemon's reconciled book")
            code, _, err = await stopped(process)
        positions = exchange_positions(sim)
        client_ids = [order.client_id for order in engine.orders()]
        sent = sim.sent_client_order_ids()

    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journal_positions = journal.positions()
        fills = journal.rows("fills")
    finally:
        journal.close()
    assert code == 0, err
    assert contract is not None
    assert contract.id.startswith("ETHUSD_")  # ETHUSD_YYMMDD: COIN-M's quarterly
    assert quarterly.startswith("ETH/USD:ETH-")
    assert first["positions"][quarterly] == pytest.approx(-10.0 * (mark or 0.0) / FACE, rel=0.05)  # ~2,000 short
    assert second["positions"] == first["positions"]  # restarted and reconciled: nothing traded again
    assert len(client_ids) == orders_sent  # the restart placed nothing
    assert sent == sent_before_restart
    assert len(set(sent)) == len(sent)  # no client id sent twice
    assert set(client_ids) <= set(sent)  # every order the exchange holds came from the daemon, sent once
    assert {s: q for s, q in journal_positions.items() if q} == positions
    assert fills
    assert all(row["symbol"] == quarterly and row["fee_currency"] == "ETH" for row in fills)
