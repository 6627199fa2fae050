"""The engine's trading state follows the collateral buffer, max loss from the peak and staleness."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.core.engine import DecisionMade, Engine, ParentClosed, PlaceOrder, RiskNotice
from bot.domain import (
    MS_PER_HOUR,
    AccountSnapshot,
    FundingObserved,
    Instrument,
    InstrumentKind,
    OrderStatus,
    OrderUpdate,
    Position,
    PriceObserved,
    Symbol,
)
from bot.risk.state import StateChanged, TradingState

BTC, ETH_SPOT = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)}


def _engine() -> Engine:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    _market(engine, 0)
    return engine


def _market(engine: Engine, ts: int, eth: float = 3_000.0) -> None:
    engine.on_market(PriceObserved(ts, ETH_SPOT, eth))
    engine.on_market(PriceObserved(ts, BTC, 60_000.0))
    engine.on_market(FundingObserved(ts, BTC, 0.0001, ts + 8 * MS_PER_HOUR))


def _account(ts: int, equity: float, short_btc: float = 0.5) -> AccountSnapshot:
    notional = short_btc * 60_000.0
    return AccountSnapshot(ts, "USDT", equity, equity, notional / 5, notional * 0.005, (Position(BTC, -short_btc),))


def _reconciled(engine: Engine, snapshot: AccountSnapshot) -> None:
    """An account snapshot as start-up reconciliation applies it: equity, and the venue's positions adopted."""
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)


def _states(actions: list[object]) -> list[TradingState]:
    return [a.new for a in actions if isinstance(a, StateChanged)]


def test_a_buffer_under_the_floor_halts_trading_for_all_but_the_cut() -> None:
    engine = _engine()
    _reconciled(engine, _account(1, equity=160.0))  # 30,000 short: a 0.1 % rally liquidates it
    assert _states(engine.on_time(1)) == [TradingState.HALTED]
    assert "liquidation 0.1% away, below floor 10%" in engine.governor.reason


def test_a_buffer_under_the_warn_step_raises_a_notice_without_changing_the_trading_state() -> None:
    engine = _engine()
    _reconciled(engine, _account(1, equity=10_500.0))  # 30,000 short: a 34 % rally liquidates it, under warn 40 %
    actions = engine.on_time(1)
    notices = [a for a in actions if isinstance(a, RiskNotice)]
    assert _states(actions) == []
    assert [(n.kind, n.key) for n in notices] == [("collateral", "warn")]
    assert "liquidation 34.5% away, below warn 40%" in notices[0].message
    _reconciled(engine, _account(2, equity=10_500.0))
    assert not any(isinstance(a, RiskNotice) for a in engine.on_time(2))  # said once, not on every snapshot


def test_the_reduce_step_cuts_the_hedge_in_reduce_only_clips() -> None:
    engine = _engine()
    _reconciled(engine, _account(1, equity=5_000.0))  # a 16 % rally liquidates it: reduce
    actions = engine.on_time(1)
    assert _states(actions) == [TradingState.REDUCING]
    cut = next(a.decision for a in actions if isinstance(a, DecisionMade))
    assert cut.trigger == "collateral_reduce"
    assert -0.5 < cut.targets[0].qty < 0  # smaller short, same side


def test_a_portfolio_loss_from_the_peak_takes_the_hedge_to_full_cover_and_alerts_without_holding_trading() -> None:
    engine = _engine()
    engine.set_ratio(0, 0.5, 10 * MS_PER_HOUR)
    _reconciled(engine, _account(1, equity=50_000.0))
    assert _states(engine.on_time(1)) == []
    _market(engine, MS_PER_HOUR, eth=1_500.0)  # spot halves: the whole portfolio is 15 k down from an 80 k peak
    _reconciled(engine, _account(MS_PER_HOUR, equity=50_000.0))
    actions = engine.on_time(MS_PER_HOUR)
    assert _states(actions) == []  # nothing held: the hedge must be able to grow
    assert engine.ratio == 1.0  # over the operator's 0.5
    [notice] = [a for a in actions if isinstance(a, RiskNotice)]
    assert (notice.kind, notice.key) == ("max_loss", "portfolio")
    assert "full cover" in notice.message
    engine.resume(MS_PER_HOUR + 1)  # acknowledged: losses measured from here, the ratio back to the override
    _reconciled(engine, _account(MS_PER_HOUR + 2, equity=50_000.0))
    engine.on_time(MS_PER_HOUR + 2)
    assert engine.ratio == 0.5


def test_a_loss_from_the_peak_holds_reducing_until_the_operator_resumes_when_so_configured() -> None:
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed"},
            "risk": {"max_price_age": "2h", "max_account_age": "2h", "on_max_loss": "reducing"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=0)
    _market(engine, 0)
    _reconciled(engine, _account(1, equity=50_000.0))
    assert _states(engine.on_time(1)) == []
    _market(engine, MS_PER_HOUR, eth=1_500.0)
    _reconciled(engine, _account(MS_PER_HOUR, equity=50_000.0))
    assert _states(engine.on_time(MS_PER_HOUR)) == [TradingState.REDUCING]
    assert "from" in engine.governor.reason
    resumed = engine.resume(MS_PER_HOUR + 1)
    assert TradingState.ACTIVE in _states(resumed)


def test_a_hedge_account_loss_from_the_peak_is_the_collateral_action_not_a_cut() -> None:
    engine = _engine()
    _reconciled(engine, _account(1, equity=50_000.0))
    engine.on_time(1)
    _market(engine, 2, eth=6_000.0)  # the spot gains 30,000
    _reconciled(engine, _account(2, equity=20_000.0))  # and the hedge account loses it: 60 % of its peak
    actions = engine.on_time(2)
    assert _states(actions) == [TradingState.REDUCING]  # no adding to the hedge
    assert not [a for a in actions if isinstance(a, PlaceOrder)]  # and nothing cut: the buffer is still wide
    [notice] = [a for a in actions if isinstance(a, RiskNotice)]
    assert notice.key == "hedge account"
    assert "top up" in notice.message


def test_a_stale_account_snapshot_holds_reducing_and_a_fresh_one_reopens_trading() -> None:
    engine = _engine()
    _reconciled(engine, _account(0, equity=50_000.0))
    _market(engine, 3 * MS_PER_HOUR)
    assert _states(engine.on_time(3 * MS_PER_HOUR)) == [TradingState.REDUCING]
    _reconciled(engine, _account(3 * MS_PER_HOUR, equity=50_000.0))
    assert _states(engine.on_time(3 * MS_PER_HOUR + 1)) == [TradingState.ACTIVE]


def test_status_shows_the_buffer_the_margin_ratio_and_the_move_that_would_liquidate_each_position() -> None:
    from bot.report.run_summary import Totals
    from bot.report.status import engine_status

    engine = _engine()
    _reconciled(engine, _account(1, equity=5_000.0))
    status = engine_status(engine, 1, Totals())
    assert status["margin_ratio"] == round(5_000.0 / 150.0, 4)
    [liquidation] = status["liquidation"]
    assert liquidation["symbol"] == BTC
    assert liquidation["move"] > 0  # a short is liquidated by a rise
    collateral = status["collateral"]
    assert collateral["buffer"] == pytest.approx((5_000.0 - 120.0) / (30_000.0 * 1.004), abs=1e-4)  # bracket 1
    assert collateral["step"] == "reduce"


def _warmed_up_engine(trading_from: int) -> Engine:
    """Hourly samples up to 10 h of market time, before trading starts; no decision is made in warm-up."""
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 10.0}},
            "hedge": {"instruments": [BTC], "policy": "fixed", "window": "6h", "min_samples": 3},
            "risk": {"max_price_age": "2h", "max_account_age": "2h"},
        }
    )
    engine = Engine(config, INSTRUMENTS, trading_from_ms=trading_from)
    for hour in range(11):
        _market(engine, hour * MS_PER_HOUR)
        assert engine.on_time(hour * MS_PER_HOUR) == []
    return engine


def test_a_restarted_engine_takes_up_an_unfinished_hedge_at_its_first_instant_not_at_the_next_sample() -> None:
    start = 10 * MS_PER_HOUR + 30 * 60_000  # half-way through a sampling step
    engine = _warmed_up_engine(start)
    _market(engine, start)
    _reconciled(engine, _account(start, equity=50_000.0, short_btc=0.1))  # the crash left the hedge short of it
    decisions = [a for a in engine.on_time(start) if isinstance(a, DecisionMade)]
    assert [d.decision.trigger for d in decisions] == ["rebalance_band"]
    assert engine.on_time(start + 60_000) == []  # once taken up, the hedge waits for the next sample again


def test_trading_allowed_again_after_a_hold_checks_the_band_at_once() -> None:
    start = 10 * MS_PER_HOUR + 30 * 60_000
    engine = _warmed_up_engine(start)
    engine.governor.hold("reconcile", TradingState.HALTED, "reconciliation refused", start)
    _market(engine, start)
    _reconciled(engine, _account(start, equity=50_000.0, short_btc=0.1))
    assert not [a for a in engine.on_time(start) if isinstance(a, DecisionMade)]  # halted: nothing decided
    engine.governor.release("reconcile", start + 1_000, "reconciliation succeeded")
    _market(engine, start + 2_000)
    decisions = [a for a in engine.on_time(start + 2_000) if isinstance(a, DecisionMade)]
    assert [d.decision.trigger for d in decisions] == ["rebalance_band"]


def test_an_instant_stamped_earlier_than_the_last_never_moves_the_engines_time_back() -> None:
    """Live, a market event can carry an exchange time a little before the wall-clock tick that came first."""
    start = 10 * MS_PER_HOUR + 30 * 60_000
    engine = _warmed_up_engine(start)
    _market(engine, start)
    _reconciled(engine, _account(start, equity=50_000.0, short_btc=0.1))
    [order] = [a for a in engine.on_time(start) if isinstance(a, PlaceOrder)]
    request = order.request
    engine.on_venue(OrderUpdate(start, request.client_id, request.symbol, OrderStatus.SUBMITTED))
    engine.on_venue(OrderUpdate(start, request.client_id, request.symbol, OrderStatus.REJECTED, reason="-2019"))
    closed = [a for a in engine.on_time(start - 700) if isinstance(a, ParentClosed)]
    assert engine.now == start
    assert [c.quality.duration_ms for c in closed] == [0]


def test_a_rally_between_two_account_reports_halts_trading_at_once_on_the_marks() -> None:
    engine = _engine()
    held = (Position(BTC, -0.5, 60_000.0),)  # the venue's snapshot: equity 15,000 on a 30,000 short
    _reconciled(engine, AccountSnapshot(1, "USDT", 15_000.0, 15_000.0, 6_000.0, 150.0, held))
    assert _states(engine.on_time(1)) == []
    engine.on_market(PriceObserved(2, BTC, 87_000.0))  # +45 %: the short hedge loses 13,500
    changes = _states(engine.on_time(2))  # no new report needed
    assert changes[-1] is TradingState.HALTED  # (after the hedge account's daily loss held it reducing)
    assert engine.governor.state is TradingState.HALTED
    assert "below floor 10%" in engine.governor.reason
    assert engine.account_ts == 1  # the report's age is still what the staleness gate sees


def test_an_operator_lowering_a_holding_is_no_portfolio_loss() -> None:
    engine = _engine()
    _reconciled(engine, _account(1, equity=50_000.0))
    assert _states(engine.on_time(1)) == []
    engine.set_holding(2, "ETH", 2.0)  # 10 → 2 ETH: 24,000 of the 80,000 portfolio leaves it, no loss
    _reconciled(engine, _account(3, equity=50_000.0))
    assert _states(engine.on_time(3)) == []
    assert engine.governor.state is TradingState.ACTIVE
