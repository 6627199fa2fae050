"""`hedgebot run` on the exchange's streams: live mode trading through the real ccxt client, and paper mode on live
prices, against the loopback exchange (bot/exchange_sim) on 127.0.0.1; warm-up history and start-up checks.

The end-to-end tests run the real `hedgebot run` as a subprocess, on the wall clock, against an in-test exchange
that plays prices in real time; they wait for conditions by asking the daemon's control API (a Unix socket),
never for a fixed time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from bot.config import ConfigError, parse_config
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, PriceObserved, parse_duration_ms
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.live.exchange_plan import candle_timeframe, warmup_history
from bot.store.journal import Journal
from bot.testing.loopback import running_sim
from bot.testing.processes import (
    ETH,
    ETH_PERP,
    exchange_in_real_time,
    hedgebot_run,
    hedged_status,
    lots,
    lots_of,
    status_when,
    stopped,
    walk,
    write_config,
)
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff

TOKEN = "live-run-test-token-0123456789abcdef"


# ---- end to end ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_hedgebot_run_in_live_mode_hedges_through_ccxt_and_its_positions_are_the_exchanges(
    tmp_path: Path,
) -> None:
    async with exchange_in_real_time() as sim:
        config = write_config(tmp_path / "live.toml", sim, "live", tmp_path)
        keys = {"HEDGEBOT_API_KEY": DEFAULT_API_KEY, "HEDGEBOT_API_SECRET": DEFAULT_API_SECRET}
        async with (
            hedgebot_run(config, {**keys, "HEDGEBOT_TOKEN": TOKEN}) as process,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):
            status = await hedged_status(control, sim, process)
            code, out, err = await stopped(process)
        sent = sim.sent_client_order_ids()
        trades = {str(t.trade_id) for t in sim.exchange.trades()}
        exchange_positions = lots(sim)

    journal = Journal(tmp_path / "journal.sqlite")
    try:
        orders, fills, valuations = journal.rows("orders"), journal.rows("fills"), journal.valuations()
        journal_positions = journal.positions()
    finally:
        journal.close()
    assert code == 0, err
    assert len(sent) == len(set(sent)) >= 2  # two clips, each client id sent once
    assert sent == [row["client_id"] for row in orders]  # the daemon's ids, journaled before they were sent
    assert all(row["status"] == "filled" for row in orders)
    assert {row["trade_id"] for row in fills} == trades  # every execution came back, once
    assert status["positions"][ETH_PERP] == pytest.approx(-10.0, abs=0.01)  # beta 1 on 10 ETH
    assert lots_of(journal_positions) == exchange_positions
    assert valuations[0].collateral == pytest.approx(100_000.0)  # P&L measured from the account, not paper.collateral
    assert DEFAULT_API_SECRET not in out + err


@pytest.mark.asyncio
async def test_hedgebot_run_in_paper_mode_trades_the_exchanges_public_streams_with_no_key(tmp_path: Path) -> None:
    async with exchange_in_real_time() as sim:
        config = write_config(tmp_path / "paper.toml", sim, "paper", tmp_path)
        no_keys = {"HEDGEBOT_API_KEY": "", "HEDGEBOT_API_SECRET": "", "HEDGEBOT_TOKEN": TOKEN}
        async with (
            hedgebot_run(config, no_keys) as process,
            ControlClient(parse_listen(f"unix:{tmp_path / 'control.sock'}"), TOKEN) as control,
        ):
            status = await paper_hedged(control, process)
            code, _, err = await stopped(process)
        orders_received = list(sim.order_requests)

    assert code == 0, err
    assert status["positions"][ETH_PERP] == pytest.approx(-10.0, abs=0.01)  # paper fills on the exchange's prices
    assert status["prices"][ETH_PERP] > 0
    assert orders_received == []  # the exchange heard public requests only


async def paper_hedged(control: ControlClient, process: asyncio.subprocess.Process) -> dict[str, Any]:
    def hedged(status: dict[str, Any]) -> bool:
        return bool(status["positions"]) and not status["working_parents"] and status["open_orders"] == 0

    return await status_when(control, process, hedged, "a paper hedge")


# ---- start-up refusals -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_live_mode_without_api_keys_exits_two_naming_the_variables_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HEDGEBOT_API_KEY", raising=False)
    monkeypatch.delenv("HEDGEBOT_API_SECRET", raising=False)
    monkeypatch.setenv("HEDGEBOT_TOKEN", TOKEN)
    async with running_sim() as sim:
        state = tmp_path / "state"
        config = write_config(tmp_path / "live.toml", sim, "live", state)
        code = await asyncio.to_thread(main, ["run", "--config", str(config)])
        requests = sim.order_requests
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "HEDGEBOT_API_KEY" in err
    assert "HEDGEBOT_API_SECRET" in err
    assert not state.exists()  # no journal, no log: nothing was started
    assert requests == []


def test_live_mode_on_synthetic_prices_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match=r"bot.mode = 'live' needs market.source = 'exchange' \(got 'synthetic'\)"):
        parse_config({"bot": {"mode": "live"}})


# ---- warm-up history -------------------------------------------------------------------------------------

TIMEFRAMES = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]


@given(st.sampled_from(["1m", "2m", "5m", "10m", "15m", "45m", "1h", "90m", "2h", "8h", "1d", "7d"]))
def test_the_warm_up_candle_is_the_longest_of_a_minute_or_more_that_divides_the_sampling_step(sample: str) -> None:
    sample_ms = parse_duration_ms(sample)
    chosen = candle_timeframe(TIMEFRAMES, sample_ms)
    assert chosen is not None
    name, length = chosen
    assert sample_ms % length == 0
    assert length >= MS_PER_MINUTE
    longer = [t for t in TIMEFRAMES if t != "1M" and parse_duration_ms(t) > length]
    assert all(sample_ms % parse_duration_ms(t) for t in longer)
    assert parse_duration_ms(name) == length


def test_a_sampling_step_below_a_minute_has_no_warm_up_candle() -> None:
    assert candle_timeframe(TIMEFRAMES, 30_000) is None


@pytest.mark.asyncio
async def test_warm_up_reads_closed_mark_candles_stamped_at_their_close_and_nothing_after_the_start() -> None:
    start = 1_767_225_600_000 + MS_PER_HOUR  # a whole hour after the first price
    tape = walk(start - 70 * MS_PER_MINUTE, start + 30_000, MS_PER_MINUTE // 2, seed=9)
    config = parse_config(
        {"portfolio": {"holdings": {"ETH": 1.0}}, "hedge": {"window": "1h", "sample": "1m", "instruments": [ETH_PERP]}}
    )
    async with running_sim(events=tape) as sim:
        client = make_client(
            config.venue.model_copy(update={"endpoint": sim.base_url}), overrides={"timeout_on_exit": 0}
        )
        try:
            history = await warmup_history(client, config, start, backoff=Backoff(initial_s=0.01, cap_s=0.05))
        finally:
            await client.close()
    closes = {(e.symbol, e.ts): e.price for e in history}
    last_minute = start - MS_PER_MINUTE  # the candle [start − 1m, start) closes at start − 1 ms
    prices = {(e.symbol, e.ts): e.price for e in tape if isinstance(e, PriceObserved)}
    assert max(e.ts for e in history) == start - 1  # the candle still open at the start is not read
    assert closes[(ETH_PERP, start - 1)] == prices[(ETH_PERP, last_minute + 30_000)]  # its last price
    assert closes[(ETH, start - 1)] == closes[(ETH_PERP, start - 1)]  # spot is warmed by its perpetual's mark
    assert {ts for _, ts in closes} == {start - 1 - n * MS_PER_MINUTE for n in range(61)}  # window + one step
    assert [e.ts for e in history] == sorted(e.ts for e in history)
