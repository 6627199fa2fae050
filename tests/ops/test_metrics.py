"""Prometheus metrics: what the daemon sets is what a scraper reads over HTTP on loopback."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from bot.ops.metrics import Metrics, MetricsSection, bound_port, parse_host_port, start_metrics_server

STATES = ("active", "reducing", "halted")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(exposition: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped[(name, frozenset(labels.items()))]


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Metrics, str]]:
    metrics = Metrics()
    runner = await start_metrics_server(metrics, "127.0.0.1", 0)
    try:
        yield metrics, f"http://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


@pytest.mark.asyncio
async def test_a_scrape_reads_every_value_the_daemon_set(served: tuple[Metrics, str]) -> None:
    metrics, base = served
    metrics.set_hedge_ratio("BTC/USDT:USDT", target=0.8, actual=0.75)
    metrics.set_exposure(50_000.0)
    metrics.set_equity(12_345.5)
    metrics.set_margin_ratio(42.0)
    metrics.set_drawdown(1_250.0)
    metrics.set_feed_age("prices", 2.5)
    for outcome in ("filled", "filled", "rejected"):
        metrics.order_outcome(outcome)
    metrics.fill()
    metrics.fill()
    metrics.reconnect("binanceusdm.trades")
    metrics.observe_decision_latency(0.003)

    status, content_type, text = await get(f"{base}/metrics")

    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    scraped = samples(text)
    assert value(scraped, "hedgebot_hedge_ratio_target", symbol="BTC/USDT:USDT") == 0.8
    assert value(scraped, "hedgebot_hedge_ratio_actual", symbol="BTC/USDT:USDT") == 0.75
    assert value(scraped, "hedgebot_exposure_quote") == 50_000.0
    assert value(scraped, "hedgebot_equity_quote") == 12_345.5
    assert value(scraped, "hedgebot_margin_ratio") == 42.0
    assert value(scraped, "hedgebot_drawdown_quote") == 1_250.0
    assert value(scraped, "hedgebot_feed_age_seconds", feed="prices") == 2.5
    assert value(scraped, "hedgebot_orders_total", outcome="filled") == 2
    assert value(scraped, "hedgebot_orders_total", outcome="rejected") == 1
    assert value(scraped, "hedgebot_fills_total") == 2
    assert value(scraped, "hedgebot_reconnects_total", stream="binanceusdm.trades") == 1
    assert value(scraped, "hedgebot_decision_latency_seconds_count") == 1
    assert value(scraped, "hedgebot_decision_latency_seconds_bucket", le="0.005") == 1
    assert value(scraped, "hedgebot_decision_latency_seconds_bucket", le="0.0025") == 0


@pytest.mark.asyncio
async def test_every_metric_name_starts_with_hedgebot(served: tuple[Metrics, str]) -> None:
    _metrics, base = served
    _status, _type, text = await get(f"{base}/metrics")
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names
    assert all(name.startswith("hedgebot_") for name in names)


@pytest.mark.asyncio
async def test_exactly_one_trading_state_is_one_and_the_others_are_zero(served: tuple[Metrics, str]) -> None:
    metrics, base = served
    metrics.set_trading_state("reducing")
    scraped = samples((await get(f"{base}/metrics"))[2])
    states = {state: value(scraped, "hedgebot_trading_state", state=state) for state in STATES}
    assert states == {"active": 0.0, "reducing": 1.0, "halted": 0.0}


def test_a_fresh_daemon_reports_the_active_state_and_not_ready() -> None:
    scraped = samples(Metrics().exposition().decode())
    assert value(scraped, "hedgebot_trading_state", state="active") == 1.0
    assert value(scraped, "hedgebot_trading_state", state="halted") == 0.0
    assert value(scraped, "hedgebot_ready") == 0.0


def test_funding_received_and_paid_are_counted_apart_and_both_only_grow() -> None:
    metrics = Metrics()
    for amount in (12.5, -4.0, 0.0, 2.5, -1.0):
        metrics.funding(amount)
    scraped = samples(metrics.exposition().decode())
    assert value(scraped, "hedgebot_funding_received_quote_total") == 15.0
    assert value(scraped, "hedgebot_funding_paid_quote_total") == 5.0


def test_a_margin_ratio_without_positions_is_exposed_as_infinity() -> None:
    metrics = Metrics()
    metrics.set_margin_ratio(math.inf)
    assert value(samples(metrics.exposition().decode()), "hedgebot_margin_ratio") == math.inf


def test_the_collateral_buffer_is_exposed_as_the_move_that_would_liquidate() -> None:
    metrics = Metrics()
    metrics.set_collateral_buffer(0.25)
    assert value(samples(metrics.exposition().decode()), "hedgebot_collateral_buffer") == 0.25


def test_an_account_read_as_holdings_exposes_its_read_age_staleness_and_stream_and_counts_its_reconnects() -> None:
    metrics = Metrics()
    metrics.set_account("main", 12.0, stale=False, stream_live=True)
    metrics.set_account("cold", None, stale=True, stream_live=False)  # not read yet: no age, stale says
    metrics.reconnect("account.main")

    scraped = samples(metrics.exposition().decode())

    assert value(scraped, "hedgebot_account_read_age_seconds", account="main") == 12.0
    assert ("hedgebot_account_read_age_seconds", frozenset({("account", "cold")})) not in scraped
    assert value(scraped, "hedgebot_account_stale", account="cold") == 1.0
    assert value(scraped, "hedgebot_account_stream_live", account="main") == 1.0
    assert value(scraped, "hedgebot_account_stream_live", account="cold") == 0.0
    assert value(scraped, "hedgebot_reconnects_total", stream="account.main") == 1.0


def test_two_metrics_objects_in_one_process_do_not_share_values() -> None:
    first, second = Metrics(), Metrics()
    first.fill()
    assert value(samples(first.exposition().decode()), "hedgebot_fills_total") == 1
    assert value(samples(second.exposition().decode()), "hedgebot_fills_total") == 0


@pytest.mark.asyncio
async def test_healthz_answers_ok_while_the_loop_runs(served: tuple[Metrics, str]) -> None:
    _metrics, base = served
    status, _type, text = await get(f"{base}/healthz")
    assert (status, text) == (200, "ok\n")


@pytest.mark.asyncio
async def test_readyz_is_503_until_the_daemon_says_ready_and_again_after_it_withdraws(
    served: tuple[Metrics, str],
) -> None:
    metrics, base = served
    assert (await get(f"{base}/readyz"))[0] == 503
    metrics.set_ready(True)
    status, _type, text = await get(f"{base}/readyz")
    assert (status, text) == (200, "ready\n")
    assert value(samples((await get(f"{base}/metrics"))[2]), "hedgebot_ready") == 1.0
    metrics.set_ready(False)
    assert (await get(f"{base}/readyz"))[0] == 503


@pytest.mark.asyncio
async def test_readyz_is_503_with_the_reason_while_trading_is_halted_and_healthz_stays_ok(
    served: tuple[Metrics, str],
) -> None:
    metrics, base = served
    metrics.set_ready(True)
    metrics.set_trading_state("halted", "reconcile: reconciliation failed, venue unreachable: 503")
    assert await get(f"{base}/readyz") == (
        503,
        "text/plain; charset=utf-8",
        "not ready: trading halted: reconcile: reconciliation failed, venue unreachable: 503\n",
    )
    assert (await get(f"{base}/healthz"))[0] == 200  # alive: halted wants a look, not a restart
    assert value(samples((await get(f"{base}/metrics"))[2]), "hedgebot_ready") == 0.0
    metrics.set_trading_state("reducing", "staleness: stale: price of BTC/USDT:USDT 7m old (limit 5m)")
    assert (await get(f"{base}/readyz"))[:1] == (200,)  # reducing still hedges (it may cut risk)
    assert value(samples((await get(f"{base}/metrics"))[2]), "hedgebot_ready") == 1.0


@pytest.mark.asyncio
async def test_readyz_says_starting_before_the_session_is_ready_and_stopping_after(
    served: tuple[Metrics, str],
) -> None:
    metrics, base = served
    assert (await get(f"{base}/readyz"))[2] == "not ready: starting\n"
    metrics.set_ready(True)
    metrics.set_ready(False)
    assert (await get(f"{base}/readyz"))[2] == "not ready: stopping\n"


@pytest.mark.asyncio
async def test_an_unknown_path_is_404(served: tuple[Metrics, str]) -> None:
    _metrics, base = served
    assert (await get(f"{base}/status"))[0] == 404


@pytest.mark.asyncio
async def test_a_port_in_use_fails_at_start_and_leaves_nothing_running(served: tuple[Metrics, str]) -> None:
    _metrics, base = served
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="address already in use"):
        await start_metrics_server(Metrics(), "127.0.0.1", port)


def test_the_metrics_section_defaults_to_loopback_9108_and_enabled() -> None:
    section = MetricsSection()
    assert section.enabled
    assert parse_host_port(section.listen) == ("127.0.0.1", 9108)


@pytest.mark.parametrize("listen", ["9108", "127.0.0.1", "127.0.0.1:99999", "host:port", ":9108"])
def test_a_listen_address_that_is_not_host_and_port_is_refused_naming_it(listen: str) -> None:
    with pytest.raises(ValidationError, match="is not 'host:port'"):
        MetricsSection(listen=listen)


def test_an_ipv6_listen_address_is_understood() -> None:
    assert parse_host_port("[::1]:9108") == ("::1", 9108)
