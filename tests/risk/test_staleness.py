"""Staleness gates close on an input older than its limit (or never seen) and reopen by themselves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.config import RiskSection
from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, Symbol
from bot.risk.governance import Governance, StaleNotice
from bot.risk.staleness import SOURCE, Input, StalenessLimits, check_staleness
from bot.risk.state import Governor, TradingState

LIMITS = StalenessLimits(
    max_price_age_ms=5 * MS_PER_MINUTE, max_funding_age_ms=9 * MS_PER_HOUR, max_account_age_ms=2 * MS_PER_HOUR
)
NOW = 100 * MS_PER_HOUR
BTC = Symbol("BTC/USDT:USDT")


def _gate(price_age: int = 0, funding_age: int = 0, account_age: int | None = 0) -> tuple[Input, ...]:
    account_ts = None if account_age is None else NOW - account_age
    gate = check_staleness(NOW, LIMITS, {BTC: NOW - price_age}, {BTC: NOW - funding_age}, account_ts)
    return tuple(item.kind for item in gate.stale)


def test_fresh_inputs_leave_the_gate_open() -> None:
    gate = check_staleness(NOW, LIMITS, {BTC: NOW}, {BTC: NOW}, NOW)
    assert gate.open
    assert gate.hold_state is None


def test_each_input_closes_the_gate_once_older_than_its_own_limit() -> None:
    assert _gate(price_age=5 * MS_PER_MINUTE) == ()  # at the limit is still fresh
    assert _gate(price_age=5 * MS_PER_MINUTE + 1) == (Input.PRICE,)
    assert _gate(funding_age=9 * MS_PER_HOUR + 1) == (Input.FUNDING,)
    assert _gate(account_age=2 * MS_PER_HOUR + 1) == (Input.ACCOUNT,)


def test_an_input_never_seen_is_stale() -> None:
    gate = check_staleness(NOW, LIMITS, {BTC: None}, {}, None)
    assert [item.describe() for item in gate.stale] == [
        "price of BTC/USDT:USDT never seen (limit 5m)",
        "account of hedge account never seen (limit 2.0h)",
    ]


def test_a_closed_gate_holds_trading_to_reducing_and_says_which_input_and_how_old() -> None:
    gate = check_staleness(NOW, LIMITS, {BTC: NOW - 400_000}, {}, NOW)
    assert gate.hold_state is TradingState.REDUCING
    assert gate.reason == "stale: price of BTC/USDT:USDT 7m old (limit 5m)"


def test_the_gate_reopens_by_itself_when_fresh_data_returns() -> None:
    governor = Governor()
    for now, price_ts in ((NOW, NOW - 10 * MS_PER_MINUTE), (NOW + 1_000, NOW + 1_000)):
        gate = check_staleness(now, LIMITS, {BTC: price_ts}, {}, now)
        if gate.hold_state is None:
            governor.release(SOURCE, now, gate.reason)
        else:
            governor.hold(SOURCE, gate.hold_state, gate.reason, now)
        expected = TradingState.REDUCING if now == NOW else TradingState.ACTIVE
        assert governor.state is expected


@given(
    price_age=st.integers(-MS_PER_MINUTE, 10 * MS_PER_MINUTE),
    funding_age=st.integers(-MS_PER_HOUR, 12 * MS_PER_HOUR),
    account_age=st.one_of(st.none(), st.integers(-MS_PER_HOUR, 3 * MS_PER_HOUR)),
)
def test_the_gate_is_open_exactly_when_every_input_is_within_its_limit(
    price_age: int, funding_age: int, account_age: int | None
) -> None:
    fresh = (
        price_age <= LIMITS.max_price_age_ms
        and funding_age <= LIMITS.max_funding_age_ms
        and account_age is not None
        and account_age <= LIMITS.max_account_age_ms
    )
    assert (_gate(price_age, funding_age, account_age) == ()) is fresh


def test_governance_tells_each_input_gone_stale_once_and_all_fresh_again_once() -> None:
    governance = Governance(RiskSection(max_price_age="5m"), Governor())
    eth = Symbol("ETH/USDT:USDT")

    def check(now: int, btc_ts: int, eth_ts: int) -> list[StaleNotice]:
        _change, notices = governance.on_time(now, {BTC: btc_ts, eth: eth_ts}, {}, now)
        return notices

    assert check(NOW, NOW, NOW) == []
    assert check(NOW + 6 * MS_PER_MINUTE, NOW, NOW + 6 * MS_PER_MINUTE) == [
        StaleNotice(f"price {BTC}", f"price of {BTC} 6m old (limit 5m)")
    ]
    assert check(NOW + 7 * MS_PER_MINUTE, NOW, NOW) == [
        StaleNotice(f"price {eth}", f"price of {eth} 7m old (limit 5m)")
    ]
    assert check(NOW + 8 * MS_PER_MINUTE, NOW, NOW + 8 * MS_PER_MINUTE) == []  # BTC still stale: told already
    assert check(NOW + 9 * MS_PER_MINUTE, NOW + 9 * MS_PER_MINUTE, NOW + 9 * MS_PER_MINUTE) == [
        StaleNotice("ok", "prices, funding and account fresh again")
    ]
    assert check(NOW + 10 * MS_PER_MINUTE, NOW + 10 * MS_PER_MINUTE, NOW + 10 * MS_PER_MINUTE) == []
