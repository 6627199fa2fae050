"""What an operator sees of a live session against the loopback exchange: alerts at a local webhook, /metrics
scraped over HTTP, /readyz; from start-up reconciliation on (bot/ops/runtime.py wired by bot/live/session.py).

The session is the one `hedgebot run` wires (bot/testing/live.py), on market time the test moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config
from bot.exchange_sim import ExchangeSim, SimSettings
from bot.ops.observer import OpsObserver
from bot.testing.live import (
    ETH_PERP,
    GUARD_S,
    AlertInbox,
    Live,
    alert_inbox,
    config_for,
    exchange_with_history,
    trading,
    until,
)

pytestmark = pytest.mark.asyncio

T = TypeVar("T")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def alerting(sim: ExchangeSim, tmp_path: Path, inbox: AlertInbox, **sections: Any) -> Config:
    """`config_for`, with alerts going to the local webhook (no rate limit in the way of a test's few)."""
    alerts = {"enabled": True, "webhook_url": inbox.url, "max_per_minute": 100}
    return config_for(sim, tmp_path, alerts=alerts, **sections)


@asynccontextmanager
async def watched(
    tmp_path: Path,
    before: Callable[[ExchangeSim], None] = lambda _sim: None,
    exchange: SimSettings | None = None,
    **sections: Any,
) -> AsyncIterator[tuple[ExchangeSim, AlertInbox, Live]]:
    """A live session whose alerts go to a local webhook; `before` stages the exchange before it starts."""
    async with exchange_with_history(settings=exchange) as sim, alert_inbox() as inbox:
        before(sim)
        async with trading(sim, alerting(sim, tmp_path, inbox, **sections), tmp_path) as live:
            yield sim, inbox, live


async def polled(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """The first truthy answer of an async `probe`, asked every 10 ms for at most GUARD_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not (answer := await probe()):
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {GUARD_S:g}s waiting for {what}")
        await asyncio.sleep(0.01)  # a short pause between probes of a condition, not a synchronisation
    return answer


def metrics_base(live: Live) -> str:
    ops = live.session.ops
    assert ops is not None
    assert ops.metrics_port
    return f"http://127.0.0.1:{ops.metrics_port}"


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def scrape(live: Live) -> Samples:
    status, text = await get(f"{metrics_base(live)}/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: v for (sample, labels), v in samples.items() if sample == name}


# ---- start-up reconciliation is heard -----------------------------------------------------------------------


async def test_a_trade_made_outside_the_bot_found_at_start_up_reaches_the_webhook_as_a_reconciliation_difference(
    tmp_path: Path,
) -> None:
    def opened_outside_the_bot(sim: ExchangeSim) -> None:
        sim.exchange.new_order({"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "2"})

    async with watched(tmp_path, opened_outside_the_bot) as (_sim, inbox, _live):
        [text] = await until(lambda: inbox.containing("reconciliation_differences"), "the start-up alert")

    assert text.startswith("hedgebot WARNING reconciliation_differences [reconcile]: ")
    # made a moment before the start: its fill is read and applied once (older ones show as an adopted position)
    assert "missed fill 1 of sim-1000001: sell 2 ETH/USDT:USDT" in text
    assert "fill 1 on ETH/USDT:USDT is from an order hedgebot did not place" in text


async def test_a_failed_start_up_reconciliation_is_alerted_and_readyz_says_halted_until_a_retry_succeeds(
    tmp_path: Path,
) -> None:
    def cannot_list_open_orders(sim: ExchangeSim) -> None:
        sim.faults.unavailable(times=None, path="/fapi/v1/openOrders")

    async with watched(tmp_path, cannot_list_open_orders) as (sim, inbox, live):
        [failed] = await until(lambda: inbox.containing("reconciliation_failed"), "the failure alert")
        [halted] = await until(lambda: inbox.containing("trading_state [halted]"), "the halt alert")
        status, body = await get(f"{metrics_base(live)}/readyz")
        alive, _ = await get(f"{metrics_base(live)}/healthz")
        gauge = value(await scrape(live), "hedgebot_ready")

        sim.faults.clear()
        live.clock.now += 30_000  # reconcile_retry later: the retry is due
        await live.daemon.reconcile_job()
        [active] = await until(lambda: inbox.containing("trading_state [active]"), "the all-clear")
        recovered, ready_body = await get(f"{metrics_base(live)}/readyz")

    assert failed.startswith("hedgebot CRITICAL reconciliation_failed")
    assert "halted" in halted
    assert "reconciliation failed, venue unreachable" in halted
    assert (status, alive, gauge) == (503, 200, 0.0)
    assert body.startswith("not ready: trading halted: reconcile: reconciliation failed, venue unreachable: ")
    assert "reconciliation succeeded" in active
    assert (recovered, ready_body) == (200, "ready\n")


# ---- alerts of a running session ----------------------------------------------------------------------------


async def test_a_stale_feed_and_the_trading_state_it_forces_reach_the_webhook(tmp_path: Path) -> None:
    async with watched(tmp_path) as (sim, inbox, live):
        await live.at(1, eth=2_010.0)
        await live.hedged("the first hedge")
        sim.faults.silence(market=True, user=False)
        await live.at(3.5, eth=2_050.0, delivered=False)  # 2.5 minutes after the last price: past max_price_age
        [stale] = await until(lambda: inbox.containing("stale_feed [price ETH/USDT:USDT]"), "the stale alert")
        [reducing] = await until(lambda: inbox.containing("trading_state [reducing]"), "the state alert")

        sim.faults.speak()
        await live.at(4, eth=2_060.0)
        [fresh] = await until(lambda: inbox.containing("stale_feed [ok]"), "the feed fresh again")

    assert stale.startswith("hedgebot WARNING stale_feed")
    assert "stale_feed: price of ETH/USDT:USDT " in stale
    assert " old (limit 2m)" in stale
    assert "trading state active → reducing: staleness: stale: " in reducing
    assert fresh.startswith("hedgebot INFO stale_feed [ok]")


async def test_the_collateral_warn_step_reaches_the_webhook(tmp_path: Path) -> None:
    # 7,500 of collateral under a 10 ETH short at 2,010: liquidated by a rise of about 35 %, below the warn step
    # (40 %) and above top-up (30 %)
    async with watched(tmp_path, exchange=SimSettings(collateral=7_500.0)) as (_sim, inbox, live):
        await live.at(1, eth=2_010.0)
        await live.hedged("the first hedge")
        await live.at(61, eth=2_010.0)  # the hourly account refresh sees the margin the hedge uses
        [warned] = await until(lambda: inbox.containing("collateral [warn]"), "the collateral warning")

    assert warned.startswith("hedgebot WARNING collateral [warn]: collateral: liquidation ")


async def test_a_pre_trade_limit_that_shrinks_a_clip_is_alerted_once_keyed_by_instrument_and_limit(
    tmp_path: Path,
) -> None:
    risk = {"max_order_notional": 5_000.0}  # the hedge (about 20,000) goes out in clips of 5,000 at most
    async with watched(tmp_path, risk=risk) as (sim, inbox, live):
        await until(lambda: len(sim.sent_client_order_ids()) == 1, "the first clip, at START")
        await live.at(0.5, eth=2_010.0)  # clip_interval later: the next clip, shrunk again
        await until(lambda: len(sim.sent_client_order_ids()) == 2, "the second clip")
        observer = live.daemon.observer
        assert isinstance(observer, OpsObserver)
        assert observer.alerter is not None
        await observer.alerter.flush()  # every alert queued so far has reached the webhook
        breaches = inbox.containing("limit_breach")

    assert len(breaches) == 1  # the second shrink repeats the first within min_interval: suppressed
    assert breaches[0].startswith(
        "hedgebot WARNING limit_breach [ETH/USDT:USDT max_order_notional]: ETH/USDT:USDT: max_order_notional: "
        "clip shrunk from "
    )


# ---- metrics scraped from the running session ----------------------------------------------------------------


async def test_a_scrape_of_a_live_session_shows_every_metric_the_operator_needs(tmp_path: Path) -> None:
    async with exchange_with_history() as sim, trading(sim, config_for(sim, tmp_path), tmp_path) as live:
        await live.at(1, eth=2_010.0)
        hedge = await live.hedged("the first hedge")
        assert await sim.faults.drop_websockets() >= 2  # the market streams and the user stream
        await polled(lambda: _reconnected(live), "the feed's and the user stream's reconnects in the metric")
        await asyncio.wait_for(live.venue.wait_user_stream_live(), GUARD_S)
        await live.at(8 * 60 + 1, eth=2_010.0)  # past the 08:00 funding: the short hedge receives it
        await until(lambda: live.daemon.totals.funding, "the funding settlement")
        await live.daemon.tick()
        samples = await polled(lambda: _funding_counted(live), "every settlement counted")  # 00:00's may come late
        funding = live.daemon.totals.funding

    exposure = value(samples, "hedgebot_exposure_quote")
    assert exposure == pytest.approx(10 * 2_010.0)  # 10 ETH held
    target = value(samples, "hedgebot_hedge_ratio_target", symbol=ETH_PERP)
    actual = value(samples, "hedgebot_hedge_ratio_actual", symbol=ETH_PERP)
    assert 0.2 < target < 2.0
    assert actual == pytest.approx(-hedge[ETH_PERP] * 2_010.0 / exposure, rel=1e-3)
    assert value(samples, "hedgebot_equity_quote") > 50_000  # the exchange's 100,000 USDT wallet, give or take
    assert 1 < value(samples, "hedgebot_margin_ratio") < float("inf")
    assert value(samples, "hedgebot_drawdown_quote") >= 0
    assert labelled(samples, "hedgebot_trading_state", "state") == {"active": 1.0, "reducing": 0.0, "halted": 0.0}
    ages = labelled(samples, "hedgebot_feed_age_seconds", "feed")
    assert ETH_PERP in ages
    assert all(0 <= age < 120 for age in ages.values())
    assert value(samples, "hedgebot_orders_total", outcome="filled") >= 1
    assert value(samples, "hedgebot_fills_total") >= 1
    assert value(samples, "hedgebot_funding_received_quote_total") == pytest.approx(funding)
    assert funding > 0
    assert value(samples, "hedgebot_funding_paid_quote_total") == 0
    reconnects = labelled(samples, "hedgebot_reconnects_total", "stream")
    assert any(s.startswith("market.") and n >= 1 for s, n in reconnects.items()), reconnects
    assert any(s.startswith("user.") and n >= 1 for s, n in reconnects.items()), reconnects
    assert value(samples, "hedgebot_decision_latency_seconds_count") >= 1
    assert value(samples, "hedgebot_ready") == 1.0


async def _funding_counted(live: Live) -> Samples | None:
    samples = await scrape(live)
    received = value(samples, "hedgebot_funding_received_quote_total")
    return samples if received == pytest.approx(live.daemon.totals.funding) else None


async def _reconnected(live: Live) -> bool:
    reconnects = labelled(await scrape(live), "hedgebot_reconnects_total", "stream")
    return any(s.startswith("market.") for s in reconnects) and any(s.startswith("user.") for s in reconnects)
