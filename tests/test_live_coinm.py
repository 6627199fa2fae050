"""`hedgebot run` in live mode on Binance COIN-M: an ETH holding hedged 1:1 by the inverse ETH perpetual, margined
by the ETH itself, through the real ccxt `binancecoinm` client against the loopback exchange (bot/exchange_sim,
coinm*.py), on the wall clock; conditions are awaited through the daemon's control API, never for a fixed time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.domain import FundingObserved, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.coinm import CoinmExchange
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.store.journal import Journal
from bot.testing.processes import (
    eventually,
    exchange_in_real_time,
    hedgebot_run,
    status_when,
    stopped,
    write_config,
)

TOKEN = "live-coinm-test-token-0123456789abcdef"
ETH_INV = Symbol("ETH/USD:ETH")
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
COINM = SimSettings(coinm_bases=("ETH",), coinm_collateral=10.0)


def coinm_config(tmp_path: Path, sim: ExchangeSim) -> Path:
    """10 ETH held and posted as the COIN-M wallet's collateral, hedged 1:1 by ETHUSD_PERP (10 USD a contract);
    the holding priced by the loopback exchange's spot market."""
    sections: dict[str, dict[str, Any]] = {
        "portfolio": {"quote": "USDT", "posted": ["ETH"]},
        "hedge": {"instruments": [ETH_INV], "proxy": ETH_INV, "policy": "fixed", "ratio": 1.0},
        "venue": {"exchange": "binancecoinm", "endpoint": f"{sim.base_url}/coinm"},
        "prices": {"exchange": "binance"},
        "prices.endpoints": {"binance": f"{sim.base_url}/spot"},
        "prices.sources": {"ETH": ["binance:ETH/USDT"]},
    }
    return write_config(tmp_path / "coinm.toml", sim, "live", tmp_path, **sections)


def funding_rows(state_dir: Path) -> list[tuple[str, float, str]]:
    """The journal's funding rows (symbol, amount, currency), read while the daemon writes it."""
    db = sqlite3.connect(f"file:{state_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return [(str(s), float(a), str(c)) for s, a, c in db.execute("SELECT symbol, amount, currency FROM funding")]
    finally:
        db.close()


def _listed(engine: CoinmExchange, symbol: Symbol) -> Contract:
    """The COIN-M contract listed as `symbol` (each coin also lists its quarterlies)."""
    contract = engine.catalog.by_symbol(symbol)
    assert contract is not None, symbol
    return contract


def exchange_positions(sim: ExchangeSim) -> dict[str, float]:
    return {p.symbol: p.qty for engine in sim.coinm.desk for p in engine.account.positions()}


def hedged(sim: ExchangeSim) -> Any:
    def done(status: dict[str, Any]) -> bool:
        idle = not status["working_parents"] and status["open_orders"] == 0
        held = {s: q for s, q in status["positions"].items() if q}
        return idle and bool(held) and held == exchange_positions(sim)

    return done


@pytest.mark.asyncio
async def test_hedgebot_live_on_coin_m_hedges_in_contracts_settles_funding_in_eth_and_reconciles_after_restart(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time(COINM) as sim:
        config = coinm_config(tmp_path, sim)
        control_at = parse_listen(f"unix:{tmp_path / 'control.sock'}")
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            first = await status_when(control, process, hedged(sim), "the COIN-M hedge")
            engine = sim.coinm.desk.engines["ETH"]
            mark = engine.market.mark(_listed(engine, ETH_INV)) or 0.0
            now = sim.exchange.now_ms
            sim.push(FundingObserved(now, ETH_INV, 0.001, now, 8.0))  # settles now: a short receives ETH
            funding = engine.account.funding_total
            settled = await eventually(lambda: funding_rows(tmp_path), "the funding journaled", process)
            code, _, err = await stopped(process)
        assert code == 0, err
        orders_sent = len(engine.orders())
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            second = await status_when(control, process, hedged(sim), "the restarted daemon's reconciled book")
            code, _, err = await stopped(process)
        positions = exchange_positions(sim)
        orders_after_restart = len(engine.orders())

    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journal_positions = journal.positions()
        fills = journal.rows("fills")
    finally:
        journal.close()
    assert code == 0, err
    contracts = first["positions"][ETH_INV]
    assert contracts == pytest.approx(-10.0 * mark / 10.0, rel=0.05)  # 10 ETH at ~2,000 = ~2,000 contracts short
    assert funding == pytest.approx(-contracts * 10.0 / mark * 0.001, rel=0.05)  # in ETH, paid to the short
    assert settled == [(ETH_INV, pytest.approx(funding), "ETH")]  # journaled in the coin, as the exchange paid it
    assert second["positions"] == first["positions"]  # restarted and reconciled: nothing traded again
    assert orders_after_restart == orders_sent
    assert second["coin_account"]["currency"] == "ETH"
    assert second["coin_account"]["self_balancing"]
    assert {s: q for s, q in journal_positions.items() if q} == positions
    assert all(row["fee_currency"] == "ETH" for row in fills)


def test_a_live_config_with_inverse_legs_is_accepted_on_binancecoinm_and_refused_on_binanceusdm() -> None:
    base = {"bot": {"mode": "live"}, "market": {"source": "exchange"}, "prices": {"exchange": "binance"},
            "portfolio": {"holdings": {"BTC": 1.0}}, "hedge": {"instruments": ["BTC/USD:BTC"]}}  # fmt: skip
    accepted = parse_config({**base, "venue": {"exchange": "binancecoinm"}})
    with pytest.raises(ConfigError, match=r"trade live on Binance COIN-M \(venue.exchange = 'binancecoinm'\)"):
        parse_config(base)
    assert accepted.settlement_currency == "BTC"
