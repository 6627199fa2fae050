"""A reserve top-up into a coin-margined account, live: `hedgebot run` on Binance COIN-M (the real ccxt
`binancecoinm` against the loopback exchange) hedges ETH with ETHUSD_PERP on a thin ETH wallet and, when the
buffer falls below the top-up step, moves ETH (not stablecoins) from the spot wallet into the COIN-M ETH wallet by
Binance's universal transfer MAIN_CMFUTURE; `[risk.reserve]` is in ETH. Conditions are awaited through the
daemon's control API, never for a fixed time.
"""

from __future__ import annotations

from decimal import Decimal
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

TOKEN = "topup-coinm-test-token-0123456789abcdef"
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}
ETH_INV = Symbol("ETH/USD:ETH")
THIN_ETH = SimSettings(coinm_bases=("ETH",), coinm_collateral=2.0)  # 2 ETH against a ~20,000 USD short
SPOT_ETH = 5  # the reserve: ETH in the spot wallet


def thin_config(tmp_path: Path, sim: ExchangeSim) -> Path:
    """8 ETH held and the 2 ETH of the COIN-M wallet (a holding too), hedged 1:1 by ETHUSD_PERP: liquidation
    ~24 % away, under the top-up step (30 %); up to 5 ETH may be moved in from the spot wallet."""
    sections: dict[str, dict[str, Any]] = {
        "portfolio": {"quote": "USDT"},
        "portfolio.holdings": {"ETH": 8.0},
        "hedge": {"instruments": [ETH_INV], "proxy": ETH_INV, "policy": "fixed", "ratio": 1.0},
        "risk": {"max_price_age": "30s", "max_leverage": 20.0, "max_hedge_loss": 1.0, "max_hedge_daily_loss": 1.0},
        "risk.reserve": {"amount": 5.0, "wallet": "spot", "max_transfer": 5.0, "max_daily": 5.0},
        "venue": {"exchange": "binancecoinm", "endpoint": f"{sim.base_url}/coinm", "leverage": 20},
        "prices": {"exchange": "binance"},
        "prices.endpoints": {"binance": f"{sim.base_url}/spot"},
        "prices.sources": {"ETH": ["binance:ETH/USDT"]},
    }
    return write_config(tmp_path / "coinm-thin.toml", sim, "live", tmp_path, **sections)


def top_ups(state: Path) -> dict[str, dict[str, Any]]:
    journal = Journal(state / "journal.sqlite")
    try:
        latest: dict[str, dict[str, Any]] = {}
        for _, _, key, record in journal.executions("top_up"):
            latest[key] = {**latest.get(key, {}), **record}
        return latest
    finally:
        journal.close()


def hedged_and_topped_up(status: dict[str, Any]) -> bool:
    reserve, buffer = status["collateral"]["reserve"], status["collateral"]["buffer"]
    hedged = bool(status["positions"].get(ETH_INV)) and not status["working_parents"]
    return hedged and reserve["moved"] > 0 and reserve["in_flight"] is None and (buffer is None or buffer >= 0.30)


@pytest.mark.asyncio
async def test_a_coin_margined_account_is_topped_up_with_eth_from_the_spot_wallet_by_main_cmfuture(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time(THIN_ETH) as sim:
        sim.exchange.wallets.credit("MAIN", "ETH", SPOT_ETH)
        config = thin_config(tmp_path, sim)
        control_at = parse_listen(f"unix:{tmp_path / 'control.sock'}")
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            status = await status_when(control, process, hedged_and_topped_up, "the COIN-M account topped up")
            code, _, err = await stopped(process)
        history = list(sim.exchange.transfers.history)
        spot_left = sim.exchange.wallets.free("MAIN", "ETH")
        wallet = sim.coinm.desk.engines["ETH"].account.wallet_balance

    assert code == 0, err
    assert history
    assert all((r.type, r.asset) == ("MAIN_CMFUTURE", "ETH") for r in history)  # coin, into the COIN-M wallet
    moved = sum(r.amount for r in history)
    assert Decimal(0) < moved <= Decimal(SPOT_ETH)
    assert spot_left == Decimal(SPOT_ETH) - moved
    assert wallet == pytest.approx(2.0 + float(moved), abs=0.01)  # less the fees paid in ETH
    executed = {r["venue_id"] for r in top_ups(tmp_path).values() if r["status"] == "executed"}
    assert executed == {str(r.tran_id) for r in history}  # each transfer journaled with the exchange's id
    assert status["collateral"]["reserve"]["moved"] == pytest.approx(float(moved))  # in ETH, as configured
    assert status["coin_account"]["currency"] == "ETH"
