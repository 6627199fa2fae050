"""Max loss is measured from the peak, not the start, daily and overall, on the hedge account and portfolio."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import MS_PER_DAY, MS_PER_HOUR
from bot.risk.drawdown import SOURCE, Account, Breach, DrawdownMonitor, LossLimits, Period
from bot.risk.state import Governor, TradingState

LIMITS = LossLimits(portfolio_daily=0.10, portfolio_overall=0.25, hedge_daily=0.30, hedge_overall=0.50)
HEDGE = 50_000.0  # hedge-account equity held steady where a test is about the portfolio


def _run(values: list[float], limits: LossLimits = LIMITS, step_ms: int = MS_PER_HOUR) -> list[Breach | None]:
    monitor = DrawdownMonitor(limits)
    return [monitor.update(i * step_ms, HEDGE, value) for i, value in enumerate(values)]


def test_a_loss_is_measured_from_the_peak_not_from_the_start() -> None:
    # up 50 % from the start, then down 27 % from that peak: still 10 % above the start, yet a breach
    breach = _run([100_000.0, 150_000.0, 110_000.0], step_ms=2 * MS_PER_DAY)[-1]
    assert breach is not None
    assert (breach.account, breach.period) == (Account.PORTFOLIO, Period.OVERALL)
    assert (breach.peak, breach.value, breach.loss) == (150_000.0, 110_000.0, 40_000.0)
    assert breach.reason == (
        "max overall loss: portfolio lost 40,000.00 (26.7%) from its all-time peak 150,000.00, limit 25.0%"
    )


def test_a_daily_loss_is_measured_from_the_highest_value_of_the_last_24_hours() -> None:
    breaches = _run([100_000.0, 104_000.0, 95_000.0, 93_500.0])
    assert breaches[:3] == [None, None, None]  # 8.7 % below the peak of 104,000
    breach = breaches[3]
    assert breach is not None
    assert (breach.period, breach.peak, breach.peak_ts) == (Period.DAILY, 104_000.0, MS_PER_HOUR)


def test_a_slow_decline_breaches_overall_but_not_daily() -> None:
    values = [100_000.0 * (1 - 0.02 * day) for day in range(15)]  # −2 % of the start a day for two weeks
    breach = _run(values, step_ms=MS_PER_DAY)[-1]
    assert breach is not None
    assert breach.period is Period.OVERALL


def test_the_hedge_account_has_its_own_limits() -> None:
    monitor = DrawdownMonitor(LIMITS)
    monitor.update(0, 50_000.0, 100_000.0)
    assert monitor.update(MS_PER_HOUR, 36_000.0, 100_000.0) is None  # hedge −28 %: under its 30 % daily limit
    breach = monitor.update(2 * MS_PER_HOUR, 34_000.0, 100_000.0)
    assert breach is not None
    assert (breach.account, breach.period) == (Account.HEDGE, Period.DAILY)


def test_a_breach_is_new_only_on_the_update_that_found_it() -> None:
    monitor = DrawdownMonitor(LIMITS)
    monitor.update(0, HEDGE, 100_000.0)
    first = monitor.update(1, HEDGE, 70_000.0)
    again = monitor.update(2, HEDGE, 69_000.0)
    assert first is not None
    assert first.new
    assert again is not None
    assert not again.new
    assert again.since_ts == 1


def test_the_worst_breach_is_the_one_furthest_past_its_limit() -> None:
    monitor = DrawdownMonitor(LIMITS)
    monitor.update(0, HEDGE, 100_000.0)
    breach = monitor.update(1, HEDGE, 70_000.0)  # 30 %: three times the daily limit, 1.2 times the overall one
    assert breach is not None
    assert breach.period is Period.DAILY
    assert {(b.account, b.period) for b in monitor.breaches} == {
        (Account.PORTFOLIO, Period.DAILY),
        (Account.PORTFOLIO, Period.OVERALL),
    }


def test_a_daily_breach_lifts_by_itself_once_its_peak_leaves_the_window() -> None:
    monitor = DrawdownMonitor(LIMITS)
    monitor.update(0, HEDGE, 100_000.0)
    assert monitor.update(MS_PER_HOUR, HEDGE, 88_000.0) is not None
    assert monitor.update(MS_PER_DAY - 1, HEDGE, 88_000.0) is not None  # the peak is still in the window
    assert monitor.update(MS_PER_DAY, HEDGE, 88_000.0) is None  # 24 h on: the peak is 88,000 itself


def test_a_daily_breach_does_not_flap_while_the_loss_hovers_at_the_limit() -> None:
    values = [100_000.0, 89_900.0, 90_100.0, 89_900.0, 91_500.0, 92_100.0]
    in_force = [b is not None for b in _run(values)]
    assert in_force == [False, True, True, True, True, False]  # lifts only under 80 % of the limit: 8 %


def test_an_overall_breach_stays_until_an_operator_acknowledges_it() -> None:
    monitor = DrawdownMonitor(LIMITS)
    monitor.update(0, HEDGE, 100_000.0)
    monitor.update(MS_PER_DAY, HEDGE, 90_000.0)
    assert monitor.update(2 * MS_PER_DAY, HEDGE, 74_000.0) is not None
    assert monitor.update(5 * MS_PER_DAY, HEDGE, 80_000.0) is not None  # back to −20 %: it holds
    monitor.acknowledge(5 * MS_PER_DAY)
    assert monitor.update(5 * MS_PER_DAY + 1, HEDGE, 79_000.0) is None  # measured from 80,000 now


def test_a_breach_holds_the_configured_state_on_the_governor_and_releasing_it_resumes() -> None:
    governor = Governor()
    monitor = DrawdownMonitor(LossLimits(0.10, 0.25, 0.30, 0.50, on_breach=TradingState.HALTED))
    for ts, value in enumerate([100_000.0, 85_000.0]):
        breach = monitor.update(ts, HEDGE, value)
        if breach is None:
            governor.release(SOURCE, ts)
        else:
            governor.hold(SOURCE, breach.state, breach.reason, ts)
    assert governor.state is TradingState.HALTED
    assert "max daily loss: portfolio lost 15,000.00" in governor.reason


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        DrawdownMonitor(LIMITS).update(0, float("nan"), 100_000.0)


@given(st.lists(st.floats(1_000, 1_000_000), min_size=1, max_size=60), st.integers(1, 3 * MS_PER_HOUR))
def test_an_overall_breach_is_in_force_whenever_the_loss_from_the_running_peak_reaches_its_limit(
    values: list[float], step_ms: int
) -> None:
    monitor = DrawdownMonitor(LIMITS)
    peak = 0.0
    for i, value in enumerate(values):
        monitor.update(i * step_ms, HEDGE, value)
        peak = max(peak, value)
        overall = {b.period for b in monitor.breaches if b.account is Account.PORTFOLIO}
        if (peak - value) / peak >= LIMITS.portfolio_overall:
            assert Period.OVERALL in overall
        for breach in monitor.breaches:
            assert breach.state is TradingState.REDUCING
            assert breach.peak >= breach.value


def test_value_taken_out_of_the_portfolio_by_the_operator_is_no_loss_and_a_later_fall_still_is() -> None:
    monitor = DrawdownMonitor(LIMITS)
    assert monitor.update(0, HEDGE, 100_000.0) is None
    monitor.transfer(Account.PORTFOLIO, -40_000.0)  # spot sold and moved away: 60,000 left
    assert monitor.update(MS_PER_HOUR, HEDGE, 60_000.0) is None
    breach = monitor.update(2 * MS_PER_HOUR, HEDGE, 53_000.0)  # a real fall of 11.7 % from 60,000
    assert breach is not None
    assert (breach.period, breach.peak) == (Period.DAILY, 60_000.0)
