"""The live venue, driven through the real ccxt client against the loopback exchange (bot/exchange_sim)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeVar

import pytest
import pytest_asyncio

from bot.clock import EventClock
from bot.config import Config, VenueSection, parse_config
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    ClientOrderId,
    Fill,
    FundingObserved,
    FundingSettled,
    InstrumentKind,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PriceObserved,
    Side,
    Symbol,
    VenueEvent,
)
from bot.exchange_sim import ExchangeSim
from bot.execution.venue_errors import (
    Fatal,
    InsufficientMargin,
    OrderNotFound,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOutcome,
)
from bot.secrets import register
from bot.testing.live import until
from bot.testing.loopback import T0
from bot.venues.ccxt_client import make_client
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings, open_ccxt_venue

pytestmark = pytest.mark.asyncio

PERP, ETH_PERP, MARCH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT"), Symbol("BTC/USDT:USDT-260327")
FAST = Backoff(initial_s=0.005, cap_s=0.05)  # reconnects and query retries without slowing the tests
NO_THROTTLE = {"enableRateLimit": False, "timeout_on_exit": 0}  # loopback: no client-side pacing or close wait
GUARD_S = 10.0  # a broken stream fails the test instead of hanging it; never a synchronisation delay
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, GUARD_S)


VenueFactory = Callable[..., Awaitable[CcxtVenue]]


@pytest_asyncio.fixture
async def venues() -> AsyncIterator[VenueFactory]:
    """make(sim, key=None, secret=None, timeout_ms=10_000, margin_mode="cross", start=True) -> a CcxtVenue."""
    made: list[CcxtVenue] = []

    async def make(
        simulator: ExchangeSim,
        *,
        key: str | None = None,
        secret: str | None = None,
        timeout_ms: int = 10_000,
        margin_mode: Literal["cross", "isolated"] = "cross",
        start: bool = True,
    ) -> CcxtVenue:
        api_key, api_secret = key or simulator.settings.api_key, secret or simulator.settings.api_secret
        venue_section = VenueSection(endpoint=simulator.base_url)
        client = make_client(
            venue_section, api_key=api_key, secret=api_secret, timeout_ms=timeout_ms, overrides=NO_THROTTLE
        )
        settings = CcxtVenueSettings(margin_mode=margin_mode, leverage=5, backoff=FAST)
        venue = CcxtVenue(client, [PERP, ETH_PERP], settings, clock=EventClock(T0))
        made.append(venue)
        if start:
            await venue.start()
        return venue

    yield make
    for venue in made:
        await venue.close()


async def events_until(venue: CcxtVenue, done: Callable[[list[VenueEvent]], bool]) -> list[VenueEvent]:
    """Everything drained until `done(all drained so far)` holds."""
    drained: list[VenueEvent] = []
    while not done(drained):
        await guarded(venue.wait_for_events())
        drained.extend(venue.drain())
    return drained


def fills_of(events: list[VenueEvent], client_id: str) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill) and e.client_id == client_id]


def market(client_id: str, side: Side = Side.BUY, qty: float = 0.01, **options: Any) -> OrderRequest:
    return OrderRequest(ClientOrderId(client_id), options.pop("symbol", PERP), side, qty, **options)


# ---- configuration, markets, start-up -----------------------------------------------------------------


def live_config(sim: ExchangeSim, **venue: Any) -> Config:
    instruments = [PERP, MARCH]
    return parse_config({"venue": {"endpoint": sim.base_url, **venue}, "hedge": {"instruments": instruments}})


async def test_open_ccxt_venue_loads_perpetual_and_dated_contracts_with_their_steps_and_minimums(
    sim: ExchangeSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", sim.settings.api_key)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", sim.settings.api_secret)
    venue = await open_ccxt_venue(live_config(sim), overrides=NO_THROTTLE)
    try:
        perp, march = venue.instruments[PERP], venue.instruments[MARCH]
    finally:
        await venue.close()
    assert (perp.kind, perp.settle, perp.inverse, perp.contract_size) == (InstrumentKind.PERPETUAL, "USDT", False, 1.0)
    assert (perp.lot_step, perp.tick_size, perp.min_qty, perp.min_notional) == (0.001, 0.1, 0.001, 100.0)
    assert (march.kind, march.expiry_ms) == (InstrumentKind.FUTURE, 1_774_598_400_000)


async def test_live_mode_without_keys_is_fatal_and_names_the_variables(
    sim: ExchangeSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEBOT_API_KEY", raising=False)
    monkeypatch.delenv("HEDGEBOT_API_SECRET", raising=False)
    with pytest.raises(Fatal, match="HEDGEBOT_API_KEY and HEDGEBOT_API_SECRET"):
        await open_ccxt_venue(live_config(sim))


async def test_a_symbol_the_exchange_does_not_list_is_fatal(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim, start=False)
    with pytest.raises(Fatal, match="SOL/USDT:USDT is not listed"):
        await venue.load_instruments([Symbol("SOL/USDT:USDT")])


async def test_start_sets_the_configured_leverage(sim: ExchangeSim, venues: VenueFactory) -> None:
    assert sim.exchange.account.leverage == 20
    await venues(sim)  # cross margin, which the simulator always has, is accepted as already set
    assert sim.exchange.account.leverage == 5


async def test_a_margin_mode_the_exchange_refuses_is_fatal_at_start(sim: ExchangeSim, venues: VenueFactory) -> None:
    cross = await venues(sim)
    await cross.create_order(market("hb-open-1"))  # Binance refuses a margin type change while a position is open
    with pytest.raises(Fatal, match=r"cannot set isolated margin and leverage 5 on BTC/USDT:USDT: .*-4048"):
        await venues(sim, margin_mode="isolated")


async def test_isolated_margin_from_the_config_is_set_per_symbol_at_start_and_the_venue_trades_on_it(
    sim: ExchangeSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", sim.settings.api_key)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", sim.settings.api_secret)
    config = live_config(sim, margin_mode="isolated", leverage=4)
    venue = await open_ccxt_venue(config, overrides=NO_THROTTLE)
    try:
        await guarded(venue.start())
        bought = await venue.create_order(market("hb-iso-1", qty=0.02))
        sold = await venue.create_order(market("hb-iso-2", Side.SELL, qty=0.005, reduce_only=True))
        snapshot = await venue.fetch_account()
    finally:
        await venue.close()
    account = sim.exchange.account
    assert [account.margin_mode(s) for s in (PERP, MARCH, ETH_PERP)] == ["isolated", "isolated", "cross"]
    assert (bought.status, sold.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert [(p.symbol, p.qty) for p in snapshot.positions] == [(PERP, 0.015)]
    # the position holds its own margin: what was left of 0.02 × fill price / 4 after a quarter was sold
    assert account.isolated_wallet(PERP) == pytest.approx(0.015 * bought.avg_price / 4)
    assert account.cross_wallet_balance == pytest.approx(account.wallet_balance - account.isolated_wallet(PERP))


async def test_a_wrong_secret_is_fatal_and_the_secret_never_appears_in_the_error(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    wrong = register("not-the-simulators-secret")
    venue = await venues(sim, secret=wrong, start=False)
    with pytest.raises(Fatal) as raised:
        await venue.start()
    assert "-1022" in str(raised.value)
    assert wrong not in str(raised.value)


async def test_an_unknown_api_key_is_fatal(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim, key="nobody-knows-this-key", start=False)
    with pytest.raises(Fatal, match="-2015"):
        await venue.start()


# ---- orders -------------------------------------------------------------------------------------


async def test_a_market_order_fills_and_its_fill_arrives_on_the_user_stream(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    update = await venue.create_order(market("hb-1"))
    events = await events_until(venue, lambda evs: bool(fills_of(evs, "hb-1")))
    events += await events_until(venue, lambda evs: any(isinstance(e, AccountSnapshot) and e.positions for e in evs))
    assert (update.status, update.filled_qty, update.avg_price, update.client_id) == (
        OrderStatus.FILLED,
        0.01,
        30_000.0,
        "hb-1",
    )
    [fill] = fills_of(events, "hb-1")
    assert (fill.symbol, fill.side, fill.qty, fill.price, fill.fee_currency) == (PERP, Side.BUY, 0.01, 30_000.0, "USDT")
    assert fill.fee == pytest.approx(0.01 * 30_000.0 * 4 / 1e4)
    snapshot = next(e for e in reversed(events) if isinstance(e, AccountSnapshot))
    assert [(p.symbol, p.qty, p.entry_price) for p in snapshot.positions] == [(PERP, 0.01, 30_000.0)]
    assert not [e for e in events if isinstance(e, OrderUpdate) and e.client_id == "hb-1"]  # create said it all
    assert venue.stats["my_trades"].updates >= 1  # it came on the stream


async def test_a_reduce_only_limit_order_rests_and_is_cancelled_by_client_order_id(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await venue.create_order(market("long"))
    resting = await venue.create_order(
        market("close", Side.SELL, order_type=OrderType.LIMIT, price=31_000.0, reduce_only=True)
    )
    open_orders = await venue.fetch_open_orders()
    cancelled = await venue.cancel_order(ClientOrderId("close"), PERP)
    fetched = await venue.fetch_order(ClientOrderId("close"), PERP)
    sent = [r for r in sim.order_requests if r.client_order_id == "close" and r.method == "POST"]
    assert resting.status is OrderStatus.ACCEPTED
    assert [o.client_id for o in open_orders] == ["close"]
    assert (cancelled.status, fetched.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)
    assert [(r.params["reduceOnly"], r.params["price"], r.params["type"]) for r in sent] == [("true", "31000", "LIMIT")]


async def test_an_order_off_the_lot_step_is_rejected_before_anything_is_sent(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    with pytest.raises(Rejected, match="lot step") as raised:
        await venue.create_order(market("dust", qty=0.0105))
    assert raised.value.code == "local"
    assert sim.order_requests == []


async def test_a_timed_out_create_is_an_unknown_outcome_resolved_by_client_id_without_a_duplicate(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim, timeout_ms=300)
    sim.faults.timeout_after_accept()
    with pytest.raises(UnknownOutcome, match="resolve it by client order id"):
        await venue.create_order(market("lost-answer"))
    resolved = await venue.fetch_order(ClientOrderId("lost-answer"), PERP)
    assert (resolved.status, resolved.filled_qty) == (OrderStatus.FILLED, 0.01)
    assert sim.sent_client_order_ids() == ["lost-answer"]


async def test_a_rate_limited_create_raises_rate_limited_with_the_wait_and_is_not_retried(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    sim.faults.rate_limit(path="/fapi/v1/order", method="POST")
    with pytest.raises(RateLimited) as raised:
        await venue.create_order(market("too-fast"))
    assert raised.value.retry_after_s == 1.0
    assert sim.sent_client_order_ids() == ["too-fast"]
    assert sim.exchange.orders() == []


async def test_insufficient_margin_is_its_own_rejection(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim)
    sim.faults.margin_insufficient()
    with pytest.raises(InsufficientMargin) as raised:
        await venue.create_order(market("broke"))
    assert raised.value.code == "-2019"


async def test_an_order_the_exchange_never_saw_is_order_not_found(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim)
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(ClientOrderId("never-sent"), PERP)


async def test_a_query_that_meets_a_503_is_retried_and_answers(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim)
    sim.faults.unavailable(path="/fapi/v1/openOrders")
    assert await venue.fetch_open_orders() == []


async def test_a_rate_limited_query_with_a_long_retry_after_reaches_the_caller(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    sim.faults.rate_limit(path="/fapi/v1/openOrders")  # Retry-After: 1 s, beyond the 0.05 s backoff cap
    with pytest.raises(RateLimited) as raised:
        await venue.fetch_open_orders()
    assert isinstance(raised.value, Retryable)
    assert raised.value.retry_after_s == 1.0


# ---- fills, account, funding ------------------------------------------------------------------------


async def test_fetch_fills_reports_our_executions_with_their_client_ids_after_downtime(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    first = await venues(sim)
    await first.create_order(market("before-restart"))
    await first.create_order(market("eth", qty=0.5, symbol=ETH_PERP))
    restarted = await venues(sim, start=False)  # knows nothing of those orders
    fills = await restarted.fetch_fills(T0 - 1)
    assert [(f.client_id, f.symbol, f.qty) for f in fills] == [("before-restart", PERP, 0.01), ("eth", ETH_PERP, 0.5)]


async def test_fetch_account_reports_wallet_equity_margins_and_positions(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await venue.create_order(market("short", Side.SELL, qty=0.1))
    sim.push(PriceObserved(T0 + 1, PERP, 29_000.0))
    account = await venue.fetch_account()
    fee = 0.1 * 30_000.0 * 4 / 1e4
    assert account.currency == "USDT"
    assert account.wallet_balance == pytest.approx(100_000.0 - fee)
    assert account.equity == pytest.approx(100_000.0 - fee + 100.0)  # short 0.1 from 30,000 to 29,000
    assert account.maintenance_margin == pytest.approx(0.1 * 29_000.0 * 0.004)  # BTCUSDT's first bracket: 0.4 %
    assert [(p.symbol, p.qty) for p in account.positions] == [(PERP, -0.1)]


async def test_funding_rates_are_read_for_the_perpetuals(sim: ExchangeSim, venues: VenueFactory) -> None:
    venue = await venues(sim)
    sim.push(FundingObserved(T0 + 1, PERP, 0.0003, T0 + 8 * MS_PER_HOUR))
    rates = {f.symbol: f for f in await venue.fetch_funding_rates()}
    assert (rates[PERP].rate, rates[PERP].next_funding_ts) == (0.0003, T0 + 8 * MS_PER_HOUR)
    assert set(rates) == {PERP, ETH_PERP}


async def test_funding_settled_on_a_position_arrives_from_the_user_stream(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    await venue.create_order(market("long"))
    sim.push(FundingObserved(T0 + 10, PERP, 0.0004, T0 + 20))
    sim.push(PriceObserved(T0 + 30, PERP, 30_100.0))  # market time passes the settlement
    events = await events_until(venue, lambda evs: any(isinstance(e, FundingSettled) for e in evs))
    [settled] = [e for e in events if isinstance(e, FundingSettled)]
    assert (settled.ts, settled.symbol, settled.rate, settled.mark_price) == (T0 + 20, PERP, 0.0004, 30_000.0)
    assert (settled.position_qty, settled.currency) == (0.01, "USDT")
    assert settled.amount == pytest.approx(-0.12)
    assert venue.stats["balance"].updates >= 1  # the FUNDING_FEE account update brought it


async def test_funding_settled_while_the_user_stream_was_down_is_caught_up_on_connection(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    first = await venues(sim)
    await first.create_order(market("long"))
    sim.push(FundingObserved(T0 + 10, PERP, 0.0004, T0 + 20))
    sim.push(PriceObserved(T0 + 30, PERP, 30_100.0))
    await first.close()
    restarted = await venues(sim)
    events = await events_until(restarted, lambda evs: any(isinstance(e, FundingSettled) for e in evs))
    [settled] = [e for e in events if isinstance(e, FundingSettled)]
    assert settled.ts == T0 + 20
    assert settled.amount == pytest.approx(-0.12)


# ---- the user stream through outages --------------------------------------------------------------


async def test_a_fill_during_a_user_stream_outage_arrives_once_by_rest_resync_and_the_stream_resumes(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    sim.faults.unavailable(times=None, path="/private/ws")  # reconnecting fails until cleared
    await sim.faults.drop_websockets()
    await venue.create_order(market("in-outage"))  # its stream message goes nowhere
    sim.faults.clear()
    during = await events_until(venue, lambda evs: bool(fills_of(evs, "in-outage")))
    await guarded(venue.wait_user_stream_live())
    await venue.create_order(market("after"))
    after = await events_until(venue, lambda evs: bool(fills_of(evs, "after")))
    trades = venue.stats["my_trades"]
    assert len(fills_of(during + after, "in-outage")) == 1
    assert trades.reconnects >= 1
    assert trades.resyncs >= 2  # the first connection's, and the one that found the missed fill
    assert trades.updates >= 1  # "after" came on the stream again


async def test_the_venue_says_since_when_and_why_its_user_stream_is_down_until_it_is_live_again(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    before = venue.user_stream_down()
    sim.faults.unavailable(times=None, path="/private/ws")  # reconnecting fails until cleared
    await sim.faults.drop_websockets()

    def outage() -> tuple[int, str] | None:
        down = venue.user_stream_down()
        return down if down is not None and down[1].startswith("503") else None  # the reconnect refused

    since, error = await until(outage, "the outage told, with its error")
    sim.faults.clear()
    await guarded(venue.wait_user_stream_live())
    assert before is None
    assert since == T0  # the venue's clock when it went down
    assert "listenKey=***" in error  # it gives read access to the account's stream: never in a status or alert
    assert venue.user_stream_down() is None


async def test_an_expired_listen_key_is_replaced_and_fills_keep_arriving(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    assert await sim.faults.expire_listen_key() == 1
    await venue.create_order(market("after-expiry"))
    events = await events_until(venue, lambda evs: bool(fills_of(evs, "after-expiry")))
    assert len(fills_of(events, "after-expiry")) == 1
    assert venue.stats["orders"].reconnects >= 1


async def test_a_key_revoked_while_streaming_ends_the_user_stream_with_fatal_raised_by_drain(
    sim: ExchangeSim, venues: VenueFactory
) -> None:
    venue = await venues(sim)
    await guarded(venue.wait_user_stream_live())
    sim.settings = dataclasses.replace(sim.settings, api_key="a-rotated-key")  # the simulator has no revoke fault
    await sim.faults.drop_websockets()
    with pytest.raises(Fatal, match="-2015"):
        await events_until(venue, lambda evs: False)
    with pytest.raises(Fatal):
        await venue.create_order(market("after-revocation"))
