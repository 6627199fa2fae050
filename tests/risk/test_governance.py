"""Governance of account snapshots: an evaluation of the very inputs of a quiet one is not redone (issue 18)."""

from __future__ import annotations

from unittest.mock import patch

from bot.config import parse_config
from bot.domain import AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk.governance import AccountVerdict, Governance
from bot.risk.state import Governor, TradingState

BTC = Symbol("BTC/USDT:USDT")
LINEAR = {BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT")}
MARK = 50_000.0


def _short(equity: float, ts: int = 0) -> AccountSnapshot:
    return AccountSnapshot(ts, "USDT", equity, equity, 0.0, 0.0, (Position(BTC, -1.0, MARK),))


def _governance() -> Governance:
    return Governance(parse_config({}).risk, Governor())


def test_the_same_inputs_after_an_evaluation_that_changed_nothing_give_the_same_verdict_without_evaluating() -> None:
    governance = _governance()
    first = governance.on_account(_short(100_000.0), 1_000_000.0, {BTC: MARK}, LINEAR, 100_000.0)
    assert first == AccountVerdict([], None, None)  # nothing changed, nothing cut, no notice, no top-up
    with patch.object(Governance, "_evaluate", side_effect=AssertionError("evaluated again")):
        again = governance.on_account(_short(100_000.0), 1_000_000.0, {BTC: MARK}, LINEAR, 100_000.0)
    assert again == first


def test_a_moved_mark_a_later_snapshot_or_another_value_is_evaluated_again() -> None:
    governance = _governance()
    governance.on_account(_short(100_000.0), 1_000_000.0, {BTC: MARK}, LINEAR, 100_000.0)
    calls = []
    original = Governance._evaluate

    def counted(self: Governance, *args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]  # passed through as the caller gave them

    with patch.object(Governance, "_evaluate", counted):
        governance.on_account(_short(100_000.0), 1_000_000.0, {BTC: MARK * 1.01}, LINEAR, 100_000.0)
        governance.on_account(_short(100_000.0, ts=1), 1_000_000.0, {BTC: MARK * 1.01}, LINEAR, 100_000.0)
        governance.on_account(_short(100_000.0, ts=1), 990_000.0, {BTC: MARK * 1.01}, LINEAR, 100_000.0)
    assert len(calls) == 3


def test_an_evaluation_that_changed_the_state_is_made_again_and_a_hold_lifted_meanwhile_is_placed_again() -> None:
    governance = _governance()
    thin = _short(4_000.0)  # 50,000 short on 4,000: liquidation about 7 % away, below the floor step
    first = governance.on_account(thin, 4_000.0, {BTC: MARK}, LINEAR, 4_000.0)
    assert first.changes
    assert governance.governor.state is TradingState.HALTED
    second = governance.on_account(thin, 4_000.0, {BTC: MARK}, LINEAR, 4_000.0)  # not kept: the first one acted
    assert not second.changes
    governance.governor.release("collateral", 0)  # an operator lifts it: the inputs are the same, the holds not
    third = governance.on_account(thin, 4_000.0, {BTC: MARK}, LINEAR, 4_000.0)
    assert third.changes
    assert governance.governor.state is TradingState.HALTED
