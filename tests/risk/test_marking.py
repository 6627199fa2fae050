"""An account snapshot revalued at the latest marks: equity follows the positions' P&L from entry, the margin they
need follows their value, and what cannot be revalued honestly is left as the venue sent it."""

from __future__ import annotations

import pytest

from bot.domain import AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk.marking import marked_account

BTC = Symbol("BTC/USDT:USDT")
BTC_USD = Symbol("BTC/USD:BTC")
LINEAR = Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001)
INVERSE = Instrument(
    BTC_USD, "BTC", "USD", InstrumentKind.PERPETUAL, settle="BTC", inverse=True, contract_size=100.0, lot_step=1.0
)


def short_btc(entry: float = 60_000.0) -> AccountSnapshot:
    """0.5 BTC short from `entry`; wallet 1,000 USDT; maintenance 0.5 % of 30,000."""
    return AccountSnapshot(1_000, "USDT", 1_000.0, 1_000.0, 6_000.0, 150.0, (Position(BTC, -0.5, entry),))


def test_a_rally_against_a_short_hedge_lowers_equity_and_raises_the_margin_it_needs() -> None:
    marked = marked_account(short_btc(), {BTC: 61_700.0}, {BTC: LINEAR}, now=5_000)
    assert marked.ts == 5_000
    assert marked.equity == pytest.approx(1_000.0 - 0.5 * 1_700.0)
    assert marked.maintenance_margin == pytest.approx(150.0 * 61_700.0 / 60_000.0)
    assert marked.margin_ratio < 1.0  # the rally has eaten the buffer: liquidation is near
    assert marked.wallet_balance == 1_000.0


def test_an_inverse_position_is_revalued_in_its_coin() -> None:
    snapshot = AccountSnapshot(1_000, "BTC", 1.0, 1.0, 0.05, 0.01, (Position(BTC_USD, -600.0, 60_000.0),))
    marked = marked_account(snapshot, {BTC_USD: 50_000.0}, {BTC_USD: INVERSE}, now=2_000)
    assert marked.equity == pytest.approx(1.0 + INVERSE.pnl(-600.0, 60_000.0, 50_000.0))
    assert marked.maintenance_margin == pytest.approx(0.01 * 60_000.0 / 50_000.0)  # the same USD is more coin


@pytest.mark.parametrize(
    ("snapshot", "marks"),
    [
        (short_btc(entry=0.0), {BTC: 61_700.0}),  # no entry price reported
        (short_btc(), {}),  # no mark yet
        (AccountSnapshot(1_000, "USDT", 1_000.0, 1_000.0, 0.0, 0.0), {BTC: 61_700.0}),  # nothing held
    ],
)
def test_what_cannot_be_revalued_is_left_as_the_venue_sent_it(
    snapshot: AccountSnapshot, marks: dict[Symbol, float]
) -> None:
    assert marked_account(snapshot, marks, {BTC: LINEAR}, now=5_000) is snapshot
