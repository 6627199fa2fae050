"""Fault injection: the rules themselves, and the exception each fault makes the real ccxt client raise."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.faults import FaultKind, Faults, Phase

PERP = "BTC/USDT:USDT"
ORDER = {"clientOrderId": "faulty"}


def test_a_rule_applies_to_the_next_n_matching_requests_then_is_gone() -> None:
    faults = Faults().rate_limit(times=2, path="/fapi/v1/order")
    taken = [faults.take(Phase.BEFORE, "POST", "/fapi/v1/order") for _ in range(3)]
    assert [rule.kind if rule else None for rule in taken] == [
        FaultKind.RATE_LIMIT,
        FaultKind.RATE_LIMIT,
        None,
    ]
    assert faults.pending == ()


def test_a_rule_without_times_applies_until_cleared_and_only_to_rest_paths_by_default() -> None:
    faults = Faults().unavailable(times=None)
    assert faults.take(Phase.BEFORE, "GET", "/market/ws/0") is None
    assert all(faults.take(Phase.BEFORE, "GET", "/fapi/v1/time") for _ in range(5))
    faults.clear()
    assert faults.take(Phase.BEFORE, "GET", "/fapi/v1/time") is None


def test_after_rules_and_before_rules_are_taken_in_their_own_phase() -> None:
    faults = Faults().timeout_after_accept().margin_insufficient()
    assert faults.take(Phase.AFTER, "GET", "/fapi/v1/order") is None  # method filter: creates only
    before = faults.take(Phase.BEFORE, "POST", "/fapi/v1/order")
    after = faults.take(Phase.AFTER, "POST", "/fapi/v1/order")
    assert (before and before.kind, after and after.kind) == (
        FaultKind.MARGIN_INSUFFICIENT,
        FaultKind.TIMEOUT,
    )


def test_times_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Faults().rate_limit(times=0)


asyncio_test = pytest.mark.asyncio  # the rule tests above are plain functions


@asyncio_test
async def test_margin_insufficient_raises_insufficient_funds_and_creates_no_order(
    sim: ExchangeSim, clients: Any
) -> None:
    sim.faults.margin_insufficient()
    ex = clients(sim)
    with pytest.raises(ccxt_async.InsufficientFunds, match="-2019"):
        await ex.create_order(PERP, "market", "buy", 0.01, None, ORDER)
    assert sim.exchange.orders() == []
    assert sim.sent_client_order_ids() == ["faulty"]


@asyncio_test
async def test_a_real_margin_shortfall_raises_insufficient_funds_too(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    with pytest.raises(ccxt_async.InsufficientFunds):
        await ex.create_order(PERP, "market", "buy", 100.0, None, ORDER)  # 3 M USDT on 100 k collateral


@asyncio_test
@pytest.mark.parametrize("ban", [False, True])
async def test_rate_limits_raise_ddos_protection_then_requests_pass_again(
    sim: ExchangeSim, clients: Any, ban: bool
) -> None:
    sim.faults.rate_limit(times=2, ban=ban)
    ex = clients(sim)
    for _ in range(2):
        with pytest.raises(ccxt_async.DDoSProtection, match="429" if not ban else "418"):
            await ex.fetch_ticker(PERP)  # load_markets is the first request refused, then the ticker
    assert (await ex.fetch_ticker(PERP))["last"] == 30_000.0


@asyncio_test
async def test_a_503_without_a_body_raises_exchange_not_available(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.load_markets()
    sim.faults.unavailable(path="/fapi/v3/account")
    with pytest.raises(ccxt_async.ExchangeNotAvailable):
        await ex.fetch_balance()
    assert (await ex.fetch_balance())["USDT"]["total"] == 100_000.0


@asyncio_test
async def test_a_503_with_code_1001_raises_operation_failed(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.load_markets()
    sim.faults.unavailable(json_body=True)
    with pytest.raises(ccxt_async.OperationFailed, match="-1001"):
        await ex.fetch_open_orders()


@asyncio_test
async def test_a_rejected_order_raises_invalid_order(sim: ExchangeSim, clients: Any) -> None:
    sim.faults.reject_orders()
    ex = clients(sim)
    with pytest.raises(ccxt_async.InvalidOrder, match="-2010"):
        await ex.create_order(PERP, "market", "buy", 0.01, None, ORDER)
    assert sim.exchange.orders() == []


@asyncio_test
async def test_a_timeout_after_accept_raises_request_timeout_and_the_order_exists(
    sim: ExchangeSim, clients: Any
) -> None:
    ex = clients(sim, timeout_ms=300)
    await ex.load_markets()
    sim.faults.timeout_after_accept()
    with pytest.raises(ccxt_async.RequestTimeout):
        await ex.create_order(PERP, "market", "buy", 0.01, None, ORDER)
    found = await ex.fetch_order(None, PERP, {"origClientOrderId": "faulty"})
    assert (found["status"], found["filled"]) == ("closed", 0.01)
    assert sim.sent_client_order_ids() == ["faulty"]


@asyncio_test
async def test_a_delayed_answer_within_the_client_timeout_arrives_intact(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.load_markets()
    sim.faults.delay_after_accept(seconds=0.05)
    placed = await ex.create_order(PERP, "market", "buy", 0.01, None, ORDER)
    assert placed["status"] == "closed"


@asyncio_test
async def test_releasing_held_requests_answers_them(sim: ExchangeSim, clients: Any) -> None:
    ex = clients(sim)
    await ex.load_markets()
    sim.faults.timeout_after_accept()
    creating = asyncio.create_task(ex.create_order(PERP, "market", "buy", 0.01, None, ORDER))
    await asyncio.wait_for(sim.faults.wait_holding(1), 5)
    assert [o.client_id for o in sim.exchange.orders()] == ["faulty"]  # accepted before its answer is held
    sim.faults.release()
    assert (await asyncio.wait_for(creating, 5))["clientOrderId"] == "faulty"


@asyncio_test
async def test_a_refused_websocket_handshake_is_a_network_error(sim: ExchangeSim, clients: Any) -> None:
    import ccxt.pro as ccxt_pro

    sim.faults.unavailable(path="/market/ws/0")
    ex = clients(sim, pro=True)
    with pytest.raises(ccxt_pro.NetworkError):
        await asyncio.wait_for(ex.watch_mark_price(PERP), 10)


@asyncio_test
@pytest.mark.parametrize(
    ("json_body", "raised", "said"),
    [(False, ccxt_async.ExchangeNotAvailable, "Service Unavailable"), (True, ccxt_async.OperationFailed, "-1001")],
)
async def test_a_503_after_processing_replaces_the_answer_of_an_order_that_exists(
    sim: ExchangeSim, clients: Any, json_body: bool, raised: type[Exception], said: str
) -> None:
    ex = clients(sim)
    await ex.load_markets()
    sim.faults.unavailable(json_body=json_body, method="POST", path="/fapi/v1/order", after_processing=True)
    with pytest.raises(raised, match=said):
        await ex.create_order(PERP, "market", "buy", 0.01, None, ORDER)
    found = await ex.fetch_order(None, PERP, {"origClientOrderId": "faulty"})
    assert (found["status"], found["filled"]) == ("closed", 0.01)
    assert sim.faults.pending == ()
