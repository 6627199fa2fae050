"""Holdings read from an exchange account, live against the loopback exchange: a deposit at the exchange
mid-run becomes a holdings change (a transfer, never P&L), and an account that cannot be read holds trading
at `reducing` once its last read is older than its age limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import Reload
from bot.config import Config, with_overrides
from bot.domain import MS_PER_MINUTE, PriceObserved
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.feeds.spot import PricedFeed
from bot.testing.live import START, Live, trading, until
from bot.testing.loopback import priced, running_sim
from bot.testing.spot import SOL, spot_history, template_on

pytestmark = pytest.mark.asyncio
ACCOUNT_PATH = "/api/v3/account"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    async with running_sim(SimSettings(spot_only=("SOL",)), spot_history()) as simulator:
        simulator.exchange.wallets.credit("MAIN", "SOL", Decimal("100"))  # on the exchange, beside 250 cold
        yield simulator


def with_account(
    sim: ExchangeSim,
    tmp_path: Path,
    wallets: tuple[str, ...] = ("spot",),
    *,
    interval: str = "1m",
    max_age: str = "5m",
    stream: bool = False,
) -> Config:
    """The live template on the loopback exchange, its SOL also read from the exchange's account (`wallets`);
    without `stream`, only when a test says (`read`) or on the schedule."""
    config = template_on(sim, tmp_path)
    account = {
        "wallets": list(wallets), "stream": stream,
        "exchange": "binance", "assets": ["SOL"], "endpoint": f"{sim.base_url}/spot", "interval": interval,
        "max_age": max_age, "api_key_env": "HEDGEBOT_SPOT_TEST_KEY", "api_secret_env": "HEDGEBOT_SPOT_TEST_SECRET",
        "api_key_file": str(tmp_path / "api-key"), "api_secret_file": str(tmp_path / "api-secret"),
    }  # fmt: skip
    return with_overrides(config, portfolio={"accounts": [account]})


async def read(live: Live) -> None:
    """One more read of the account, now (rather than at its next interval), handled."""
    assert isinstance(live.plan.feed, PricedFeed)
    reader = live.plan.feed.accounts[0]
    reads = reader.reads
    reader.read_now()
    await until(lambda: reader.reads > reads, "the account read")


def account_row(live: Live) -> dict[str, Any]:
    """The one account's row of the status (`ctl status`, the control API's /status)."""
    [row] = live.status()["accounts"]
    return dict(row)


async def scrape(live: Live) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The session's /metrics, over HTTP: (name, labels) -> value."""
    assert live.session.ops is not None
    url = f"http://127.0.0.1:{live.session.ops.metrics_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def at(live: Live, minutes: float) -> None:
    ts = START + int(minutes * MS_PER_MINUTE)
    for event in [*priced(ts, 30_000.0, 2_010.0), PriceObserved(ts, SOL, 100.0)]:
        live.sim.push(event)
    engine = live.daemon.running_engine()
    await until(lambda: engine.price_ts.get(SOL, 0) >= ts, f"prices at {ts}")
    live.clock.now = ts
    await live.daemon.tick()


async def test_a_deposit_at_the_exchange_mid_run_is_a_holdings_change_and_no_pnl(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = with_account(sim, tmp_path)
    async with trading(sim, config, tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 350.0, "the first read: 250 cold + 100 on the exchange")
        await until(lambda: engine.prices.get(SOL) == 100.0 and engine.price_ts[SOL] >= START, "SOL at START")
        value_net_of_transfers = engine.exposure().total - live.daemon.totals.transfers

        sim.exchange.wallets.credit("MAIN", "SOL", Decimal("50"))  # a deposit, not made by the bot
        await read(live)

        assert engine.holdings["SOL"] == 400.0
        assert engine.exposure().total - live.daemon.totals.transfers == pytest.approx(value_net_of_transfers)
        last = live.journal.transfers()[-1]
        assert (last["asset"], last["qty_before"], last["qty_after"], last["value"]) == ("SOL", 350.0, 400.0, 5_000.0)
        assert live.status()["state"] == "active"


async def test_a_deposit_is_followed_on_the_user_stream_before_the_next_scheduled_read(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = with_account(sim, tmp_path, interval="1h", max_age="2h", stream=True)  # only the stream reads now
    config = with_overrides(config, metrics={"enabled": True, "listen": "127.0.0.1:0"})  # scraped below
    async with trading(sim, config, tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 350.0, "the first read: 250 cold + 100 on the exchange")
        await until(lambda: engine.prices.get(SOL) == 100.0 and engine.price_ts[SOL] >= START, "SOL at START")
        await sim.spot.ws_api.wait_subscriptions(1)
        await until(lambda: account_row(live)["stream"]["live"], "the account's stream live in the status")
        value_net_of_transfers = engine.exposure().total - live.daemon.totals.transfers

        sim.spot.deposit("SOL", Decimal("50"))  # told on the spot user stream (the WebSocket API) at once
        await until(lambda: engine.holdings.get("SOL") == 400.0, "the deposit, followed on the user stream")

        assert engine.exposure().total - live.daemon.totals.transfers == pytest.approx(value_net_of_transfers)
        last = live.journal.transfers()[-1]
        assert (last["asset"], last["qty_before"], last["qty_after"], last["value"]) == ("SOL", 350.0, 400.0, 5_000.0)
        assert live.status()["state"] == "active"

        await sim.spot.ws_api.drop_all()  # a network loss: the stream reconnects, counted for the operator
        await until(lambda: account_row(live)["stream"]["reconnects"] >= 1, "the account stream's reconnect")
        await until(lambda: account_row(live)["stream"]["live"], "the account's stream live again")
        await live.daemon.tick()  # the gauges, published as every live tick does
        samples = await scrape(live)
        row = account_row(live)

    name = config.portfolio.accounts[0].name
    assert (row["name"], row["exchange"], row["wallets"], row["stale"], row["held"]) == (
        name, "binance", ["spot"], False, None
    )  # fmt: skip
    assert row["read_age_s"] is not None
    assert row["read_age_s"] >= 0
    assert samples[("hedgebot_reconnects_total", frozenset({("stream", f"account.{name}")}))] >= 1
    assert samples[("hedgebot_account_read_age_seconds", frozenset({("account", name)}))] >= 0
    assert samples[("hedgebot_account_stream_live", frozenset({("account", name)}))] == 1.0
    assert samples[("hedgebot_account_stale", frozenset({("account", name)}))] == 0.0


async def test_a_reload_keeps_what_the_accounts_hold_beside_the_static_holdings(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    config = with_account(sim, tmp_path)
    async with trading(sim, config, tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 350.0, "the first read: 250 cold + 100 on the exchange")
        live.daemon.reloader = lambda: with_overrides(config, portfolio={"holdings": {"ETH": 10.0, "SOL": 200.0}})
        await live.daemon.command(Reload(), {})
        assert engine.holdings["SOL"] == 300.0  # 200 cold now, and still the 100 on the exchange


async def test_an_account_that_cannot_be_read_past_its_age_limit_holds_trading_until_it_is_read_again(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, with_account(sim, tmp_path), tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 350.0, "the first read")
        sim.faults.unavailable(times=None, path=ACCOUNT_PATH)
        await at(live, 4)
        await read(live)  # failed, but the last good one is 4 minutes old: within 5
        assert live.status()["state"] == "active"
        await at(live, 6)
        await read(live)
        assert live.status()["state"] == "reducing"
        assert "balances of account binance@" in engine.governor.reason
        assert engine.holdings["SOL"] == 350.0  # a failed read changes no holding
        row = account_row(live)  # what `ctl status` shows the operator of it
        assert (row["stale"], row["held"], row["read_age_s"]) == (True, "reducing", 360.0)
        assert row["last_error"]

        sim.faults.clear()
        await read(live)
        assert live.status()["state"] == "active"


async def test_with_its_stream_down_an_unreadable_account_holds_trading_at_its_age_limit_as_without_one(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    async with trading(sim, with_account(sim, tmp_path, stream=True), tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 350.0, "the first read")
        await sim.spot.ws_api.wait_subscriptions(1)
        sim.spot.ws_api.refusing = True  # the stream goes down and stays down ...
        await sim.spot.ws_api.drop_all()
        sim.faults.unavailable(times=None, path=ACCOUNT_PATH)  # ... and so does the account's REST
        await at(live, 4)
        await read(live)  # the schedule's read (asked now): failed, the last good one within max_age
        assert live.status()["state"] == "active"
        await at(live, 6)
        await read(live)
        assert live.status()["state"] == "reducing"
        assert "balances of account binance@" in engine.governor.reason

        sim.faults.clear()
        sim.spot.ws_api.refusing = False
        sim.spot.deposit("SOL", Decimal("5"))  # made while the stream is still reconnecting: read once it is live
        await until(lambda: engine.holdings.get("SOL") == 355.0, "the read when the stream is back")
        assert live.status()["state"] == "active"


async def test_the_funding_wallet_adds_to_the_holding_when_the_account_lists_it(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.exchange.wallets.credit("FUNDING", "SOL", Decimal("20"))
    async with trading(sim, with_account(sim, tmp_path, ("spot", "funding")), tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 370.0, "250 cold + 100 spot + 20 funding")


async def test_earn_positions_add_to_the_holding_and_the_journal_names_the_locked_part(
    sim: ExchangeSim, tmp_path: Path
) -> None:
    sim.exchange.earn.credit("flexible", "SOL", "20")  # Simple Earn: redeemable at any time
    sim.exchange.earn.credit("locked", "SOL", "5")  # staked for a term: locked, held all the same
    async with trading(sim, with_account(sim, tmp_path, ("spot", "earn")), tmp_path) as live:
        engine = live.daemon.running_engine()
        await until(lambda: engine.holdings.get("SOL") == 375.0, "250 cold + 100 spot + 20 flexible + 5 locked")
        assert isinstance(live.plan.feed, PricedFeed)
        reader = live.plan.feed.accounts[0]
        await until(lambda: reader.reads == 1, "the first read handled (none in flight when the next is asked)")
        sim.exchange.earn.credit("locked", "SOL", "10")  # more staked from elsewhere: a holdings change
        await read(live)

        assert engine.holdings["SOL"] == 385.0
        last = live.journal.transfers()[-1]
        assert (last["asset"], last["qty_before"], last["qty_after"]) == ("SOL", 375.0, 385.0)
        command = live.journal.recent("commands", 1)[-1]
        assert (command["via"], json.loads(command["args"])["locked"]) == ("account", 15.0)
