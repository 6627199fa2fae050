"""`hedgebot run` in live mode on Bybit: the real ccxt `bybit` client against the loopback exchange speaking
Bybit's v5 API (bot/exchange_sim/bybit), on the wall clock; conditions are awaited through the daemon's
control API, never for a fixed time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.exchange_sim.bybit import BybitSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.store.journal import Journal
from bot.testing.processes import (
    ETH_PERP,
    exchange_in_real_time,
    hedgebot_run,
    hedged_status,
    lots,
    lots_of,
    stopped,
    write_config,
)

TOKEN = "live-bybit-test-token-0123456789abcdef"
KEYS = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET, "HEDGEBOT_TOKEN": TOKEN}


@pytest.mark.asyncio
async def test_hedgebot_live_on_bybit_hedges_fills_and_after_a_restart_reconciles_adopting_nothing_twice(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time(dialect=BybitSim) as sim:
        config = write_config(tmp_path / "bybit.toml", sim, "live", tmp_path, venue={"exchange": "bybit"})
        control_at = parse_listen(f"unix:{tmp_path / 'control.sock'}")
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            first = await hedged_status(control, sim, process)
            code, _, err = await stopped(process)
        assert code == 0, err
        orders_sent = len(sim.exchange.orders())
        async with hedgebot_run(config, KEYS) as process, ControlClient(control_at, TOKEN) as control:
            second = await hedged_status(control, sim, process)
            code, _, err = await stopped(process)
        sent = sim.sent_client_order_ids()
        trades = {str(t.trade_id) for t in sim.exchange.trades()}
        exchange_positions = lots(sim)
        orders_after_restart = len(sim.exchange.orders())

    journal = Journal(tmp_path / "journal.sqlite")
    try:
        orders, fills, journal_positions = journal.rows("orders"), journal.rows("fills"), journal.positions()
    finally:
        journal.close()
    assert code == 0, err
    assert first["positions"][ETH_PERP] == pytest.approx(-10.0, abs=0.01)  # beta 1 on 10 ETH, on Bybit
    assert lots_of(second["positions"]) == lots_of(first["positions"])  # restarted: nothing traded again
    assert orders_after_restart == orders_sent
    assert len(sent) == len(set(sent)) >= 2  # two clips, each orderLinkId sent once
    assert sent == [row["client_id"] for row in orders]  # hedgebot's deterministic ids round-trip as orderLinkId
    assert all(row["status"] == "filled" for row in orders)
    assert sorted(row["trade_id"] for row in fills) == sorted(trades)  # every execution journaled once
    assert lots_of(journal_positions) == exchange_positions
