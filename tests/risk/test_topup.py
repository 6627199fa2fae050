"""The top-up planner: how much of the reserve to move in, within its caps, one transfer at a time."""

from __future__ import annotations

import pytest

from bot.domain import MS_PER_DAY, MS_PER_HOUR, Symbol
from bot.risk import buffer as buffers
from bot.risk.brackets import table_for
from bot.risk.topup import ReserveLimits, ReservePlanner, needed

DAY = 20_000 * MS_PER_DAY
SHORT = (buffers.Leg(Symbol("ETH/USDT:USDT"), -20_000.0, 2_000.0, table_for("ETH")),)
TARGET = 0.3535


def test_the_amount_needed_lifts_the_buffer_exactly_to_the_target() -> None:
    added = needed(2_500.0, SHORT, TARGET)
    assert buffers.account_buffer(2_500.0 + added, SHORT) == pytest.approx(TARGET, abs=1e-6)
    assert needed(2_500.0 + added + 1.0, SHORT, TARGET) == 0.0


def test_a_top_up_is_capped_per_transfer_and_asked_in_whole_units() -> None:
    planner = ReservePlanner(ReserveLimits(amount=50_000.0, max_transfer=3_000.0, max_daily=10_000.0))
    top_up = planner.plan(DAY, 2_500.0, SHORT, TARGET, "rally")
    assert top_up is not None
    assert (top_up.amount, top_up.transfer_id) == (3_000.0, f"hb-tu-{DAY:x}-1")
    assert "top up 3,000 from the spot wallet" in top_up.reason


def test_no_second_transfer_is_asked_while_one_is_in_flight_and_its_credit_counts_as_equity() -> None:
    planner = ReservePlanner(ReserveLimits(amount=50_000.0, max_transfer=3_000.0))
    first = planner.plan(DAY, 2_500.0, SHORT, TARGET, "rally")
    assert first is not None
    assert planner.plan(DAY + 1, 2_500.0, SHORT, TARGET, "rally") is None
    assert planner.credit == 3_000.0
    planner.settled(first.transfer_id, True, DAY + 2)
    second = planner.plan(DAY + 3, 2_500.0, SHORT, TARGET, "rally")  # the snapshot does not show the first yet
    assert second is not None
    assert second.amount < 3_000.0  # only what the first did not cover
    planner.account_seen()
    assert planner.credit == second.amount


def test_the_daily_cap_stops_top_ups_until_the_next_utc_day() -> None:
    planner = ReservePlanner(ReserveLimits(amount=50_000.0, max_transfer=3_000.0, max_daily=4_000.0))
    moved = []
    for ts in (DAY, DAY + 1, DAY + 2):
        top_up = planner.plan(ts, 1_000.0, SHORT, TARGET, "rally")
        if top_up is not None:
            planner.settled(top_up.transfer_id, True, ts)
            planner.account_seen()  # a fresh snapshot that still shows the old equity: the rally goes on
            moved.append(top_up.amount)
    assert moved == [3_000.0, 1_000.0]
    assert planner.plan(DAY + MS_PER_DAY, 1_000.0, SHORT, TARGET, "rally") is not None


def test_a_refused_transfer_waits_before_asking_again_and_a_lost_one_is_asked_again_at_once() -> None:
    planner = ReservePlanner(ReserveLimits(amount=50_000.0))
    refused = planner.plan(DAY, 2_500.0, SHORT, TARGET, "rally")
    assert refused is not None
    planner.settled(refused.transfer_id, False, DAY)
    assert planner.credit == 0.0
    assert planner.plan(DAY + MS_PER_HOUR - 1, 2_500.0, SHORT, TARGET, "rally") is None
    lost = planner.plan(DAY + MS_PER_HOUR, 2_500.0, SHORT, TARGET, "rally")
    assert lost is not None
    planner.settled(lost.transfer_id, False, DAY + MS_PER_HOUR, refused=False)
    again = planner.plan(DAY + MS_PER_HOUR + 1, 2_500.0, SHORT, TARGET, "rally")
    assert again is not None
    assert again.transfer_id.endswith("-3")


def test_without_a_reserve_nothing_is_ever_asked() -> None:
    planner = ReservePlanner(ReserveLimits())
    assert planner.plan(DAY, 100.0, SHORT, TARGET, "rally") is None


def test_a_restart_counts_what_was_moved_and_continues_the_id_sequence() -> None:
    planner = ReservePlanner(ReserveLimits(amount=5_000.0, max_transfer=3_000.0))
    planner.restore([(DAY, 3_000.0)], asked=4)
    top_up = planner.plan(DAY + 1, 1_000.0, SHORT, TARGET, "rally")
    assert top_up is not None
    assert (top_up.amount, top_up.transfer_id) == (2_000.0, f"hb-tu-{DAY + 1:x}-5")


def test_what_top_ups_could_still_bring_in_today_is_the_days_cap_or_the_amount_left_less_the_transfer_in_flight() -> (
    None
):
    planner = ReservePlanner(ReserveLimits(amount=12_000.0, max_transfer=3_000.0, max_daily=10_000.0))
    assert planner.available(DAY) == 10_000.0  # the day's cap, not one transfer's
    first = planner.plan(DAY, 2_500.0, SHORT, TARGET, "rally")
    assert first is not None
    assert planner.available(DAY) == 7_000.0  # the one in flight is credit already
    planner.settled(first.transfer_id, True, DAY + 1)
    assert planner.available(DAY + 1) == 7_000.0
    assert planner.available(DAY + MS_PER_DAY) == 9_000.0  # a new day: the 9,000 left over the run
    assert ReservePlanner(ReserveLimits()).available(DAY) == 0.0  # no reserve configured


def test_a_coin_account_is_topped_up_in_its_coin_to_the_target_buffer_in_steps_of_a_ten_thousandth() -> None:
    from bot.risk import inverse

    eth_short = (inverse.CoinLeg(Symbol("ETH/USD:ETH"), -2_000.0, 10.0, 2_000.0, inverse.coinm_table("ETH")),)
    planner = ReservePlanner(ReserveLimits(amount=5.0, max_transfer=5.0, max_daily=5.0))  # in ETH
    top_up = planner.plan(DAY, 2.0, eth_short, TARGET, "rally")  # 20,000 USD short on 2 ETH: ~25 % from liquidation

    assert top_up is not None
    after, short_of_it = (inverse.account_buffer(2.0 + top_up.amount + d, eth_short) for d in (0.0, -0.0001))
    assert 0 < top_up.amount < 5.0
    assert top_up.amount == round(top_up.amount, 4)
    assert short_of_it is not None
    assert short_of_it < TARGET  # one step less falls short ...
    assert after is None or after >= TARGET  # ... this lifts it to the target (None: no rise liquidates it)
    assert f"top up {top_up.amount:,.4f} from the spot wallet" in top_up.reason
