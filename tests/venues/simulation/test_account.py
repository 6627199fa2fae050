"""The simulated account: positions, P&L, fees, funding, margin, liquidation, expiry, each in its currency."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import ClientOrderId, Fill, Instrument, Position, Side, Symbol
from bot.execution.market_rules import default_instrument
from bot.money import apply_to_position
from bot.venues.simulation.account import LedgerKind, SimulatedAccount

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
BTC_INVERSE = Symbol("BTC/USD:BTC")
BTC_DATED = Symbol("BTC/USDT:USDT-250328")
CID = ClientOrderId("c1")


def usdt_account(collateral: float = 10_000.0, leverage: float = 5.0) -> SimulatedAccount:
    instruments = [default_instrument(s) for s in (BTC, ETH, BTC_DATED)]
    return SimulatedAccount("USDT", collateral, instruments, leverage=leverage, maintenance_margin_rate=0.005)


def coin_account(collateral: float = 1.0) -> SimulatedAccount:
    return SimulatedAccount("BTC", collateral, [default_instrument(BTC_INVERSE)], leverage=5.0)


def fill(
    account: SimulatedAccount, side: Side, qty: float, price: float, symbol: Symbol = BTC, bps: float = 0.0
) -> Fill:
    return account.apply_fill(0, CID, symbol, side, qty, price, bps)


# ---- positions and P&L --------------------------------------------------------------------------


def test_adding_to_a_long_averages_the_entry_by_quantity() -> None:
    account = usdt_account()
    fill(account, Side.BUY, 1.0, 100.0)
    fill(account, Side.BUY, 3.0, 200.0)
    assert account.position(BTC) == Position(BTC, 4.0, 175.0, 0.0)


def test_reducing_realises_pnl_at_the_entry_and_keeps_the_entry() -> None:
    account = usdt_account()
    fill(account, Side.BUY, 2.0, 100.0)
    fill(account, Side.SELL, 0.5, 140.0)
    position = account.position(BTC)
    assert (position.qty, position.entry_price) == (1.5, 100.0)
    assert position.realized_pnl == pytest.approx(20.0)
    assert account.realized_pnl == pytest.approx(20.0)


def test_flipping_closes_the_old_side_and_opens_the_rest_at_the_fill_price() -> None:
    account = usdt_account()
    fill(account, Side.BUY, 1.0, 100.0)
    fill(account, Side.SELL, 3.0, 90.0)
    position = account.position(BTC)
    assert (position.qty, position.entry_price) == (-2.0, 90.0)
    assert position.realized_pnl == pytest.approx(-10.0)


def test_closing_leaves_a_flat_position_with_no_entry_and_no_unrealised_pnl() -> None:
    account = usdt_account()
    fill(account, Side.SELL, 0.3, 100.0)
    fill(account, Side.BUY, 0.1, 80.0)
    fill(account, Side.BUY, 0.2, 80.0)  # 0.3 − 0.1 − 0.2 is float noise, not a position
    assert (account.position(BTC).qty, account.position(BTC).entry_price) == (0.0, 0.0)
    assert account.position(BTC).realized_pnl == pytest.approx(6.0)
    assert account.positions() == ()
    account.mark(BTC, 500.0)
    assert account.unrealized_pnl() == 0.0


def test_a_short_gains_unrealised_pnl_when_the_mark_falls() -> None:
    account = usdt_account()
    fill(account, Side.SELL, 2.0, 100.0)
    account.mark(BTC, 90.0)
    assert account.unrealized_pnl(BTC) == pytest.approx(20.0)
    assert account.equity == pytest.approx(10_020.0)


def test_an_unmarked_position_is_valued_at_its_entry() -> None:
    account = usdt_account()
    fill(account, Side.BUY, 1.0, 100.0)
    assert account.unrealized_pnl() == 0.0
    assert account.position_value(BTC) == pytest.approx(100.0)


def test_fees_are_basis_points_of_the_fill_value_and_a_negative_rate_is_a_rebate() -> None:
    account = usdt_account()
    taker = fill(account, Side.BUY, 0.5, 40_000.0, bps=4.0)
    maker = account.apply_fill(1, CID, BTC, Side.SELL, 0.5, 40_000.0, -1.0, "maker")
    assert taker.fee == pytest.approx(8.0)
    assert maker.fee == pytest.approx(-2.0)
    assert (maker.liquidity, maker.fee_currency) == ("maker", "USDT")
    assert account.wallet_balance == pytest.approx(10_000.0 - 8.0 + 2.0)


def test_trade_ids_count_up_from_one_and_never_repeat() -> None:
    account = usdt_account()
    ids = [fill(account, Side.BUY, 0.1, 100.0).trade_id for _ in range(3)]
    assert ids == ["1", "2", "3"]


def test_the_ledger_records_realised_pnl_commission_and_funding_with_their_signs() -> None:
    account = usdt_account()
    fill(account, Side.BUY, 1.0, 100.0, bps=10.0)
    account.apply_fill(5, CID, BTC, Side.SELL, 1.0, 110.0, 0.0)
    fill(account, Side.SELL, 1.0, 100.0)
    account.settle_funding(BTC, 0.001, 100.0, 9)
    kinds = [(e.kind, round(e.amount, 6)) for e in account.ledger]
    commission, realized, funding = LedgerKind.COMMISSION, LedgerKind.REALIZED_PNL, LedgerKind.FUNDING_FEE
    assert kinds == [(commission, -0.1), (realized, 10.0), (funding, 0.1)]


# ---- funding ------------------------------------------------------------------------------------


def test_a_short_receives_a_positive_funding_rate_and_a_long_pays_it() -> None:
    account = usdt_account()
    fill(account, Side.SELL, 0.5, 40_000.0, symbol=BTC)
    fill(account, Side.BUY, 2.0, 2_000.0, symbol=ETH)
    short = account.settle_funding(BTC, 0.0001, 40_000.0, 1)
    long = account.settle_funding(ETH, 0.0001, 2_000.0, 1)
    assert short is not None
    assert long is not None
    assert short.amount == pytest.approx(2.0)
    assert long.amount == pytest.approx(-0.4)
    assert (short.position_qty, short.mark_price, short.currency) == (-0.5, 40_000.0, "USDT")
    assert account.funding_total == pytest.approx(1.6)
    assert account.wallet_balance == pytest.approx(10_001.6)


def test_a_flat_position_settles_no_funding() -> None:
    assert usdt_account().settle_funding(BTC, 0.0001, 40_000.0, 1) is None


# ---- inverse contracts --------------------------------------------------------------------------


def test_an_inverse_position_makes_and_pays_everything_in_coin() -> None:
    account = coin_account()
    opened = fill(account, Side.BUY, 10.0, 50_000.0, symbol=BTC_INVERSE, bps=5.0)  # 10 × 100 USD of BTC
    account.mark(BTC_INVERSE, 55_000.0)
    assert opened.fee == pytest.approx(1_000 / 50_000 * 5e-4)
    assert opened.fee_currency == "BTC"
    assert account.unrealized_pnl() == pytest.approx(1_000 * (1 / 50_000 - 1 / 55_000))
    assert account.initial_margin == pytest.approx(1_000 / 55_000 / 5)
    funding = account.settle_funding(BTC_INVERSE, 0.0001, 55_000.0, 1)
    assert funding is not None
    assert funding.amount == pytest.approx(-1_000 / 55_000 * 0.0001)


def test_adding_to_an_inverse_position_averages_the_entry_harmonically() -> None:
    account = coin_account()
    fill(account, Side.BUY, 1.0, 40_000.0, symbol=BTC_INVERSE)
    fill(account, Side.BUY, 1.0, 60_000.0, symbol=BTC_INVERSE)
    assert account.position(BTC_INVERSE).entry_price == pytest.approx(48_000.0)


def test_an_account_refuses_an_instrument_that_settles_in_another_currency() -> None:
    with pytest.raises(ValueError, match="settles in BTC"):
        SimulatedAccount("USDT", 1_000.0, [default_instrument(BTC_INVERSE)])


# ---- margin -------------------------------------------------------------------------------------


def test_margins_are_the_gross_value_over_leverage_and_times_the_maintenance_rate() -> None:
    account = usdt_account(leverage=5.0)
    fill(account, Side.SELL, 0.1, 50_000.0, symbol=BTC)
    fill(account, Side.BUY, 1.0, 3_000.0, symbol=ETH)
    snapshot = account.snapshot(7)
    assert snapshot.initial_margin == pytest.approx(8_000.0 / 5)
    assert snapshot.maintenance_margin == pytest.approx(8_000.0 * 0.005)
    assert account.available_balance == pytest.approx(10_000.0 - 1_600.0)
    assert snapshot.margin_ratio == pytest.approx(10_000.0 / 40.0)
    assert [p.symbol for p in snapshot.positions] == [BTC, ETH]


def test_margin_ratio_is_infinite_when_flat() -> None:
    assert usdt_account().margin_ratio == math.inf


def test_can_open_refuses_a_position_whose_margin_exceeds_the_available_balance() -> None:
    account = usdt_account(collateral=1_000.0, leverage=5.0)
    assert account.can_open(BTC, 0.1, 50_000.0)  # 5,000 of value needs exactly the 1,000 there is
    assert not account.can_open(BTC, 0.1, 50_000.0, fee=0.01)
    assert not account.can_open(BTC, 0.1, 50_000.0, reserved_margin=1.0)
    assert not account.can_open(BTC, 0.101, 50_000.0)


def test_reducing_is_always_allowed_and_a_flip_needs_margin_only_for_the_new_side() -> None:
    account = usdt_account(collateral=1_000.0, leverage=5.0)
    fill(account, Side.BUY, 0.1, 50_000.0)
    assert not account.can_open(BTC, 0.001, 50_000.0)
    assert account.can_open(BTC, -0.1, 50_000.0)
    assert account.can_open(BTC, -0.15, 50_000.0)  # a smaller short than the long it replaces
    assert not account.can_open(BTC, -0.25, 50_000.0)


def test_marking_at_the_liquidation_price_brings_equity_down_to_maintenance_margin() -> None:
    for symbol, side, account in ((BTC, Side.SELL, usdt_account()), (BTC, Side.BUY, usdt_account())):
        fill(account, Side.BUY, 1.0, 2_000.0, symbol=ETH)
        fill(account, side, 0.4, 50_000.0, symbol=symbol, bps=4.0)
        account.mark(ETH, 2_100.0)
        price = account.liquidation_price(symbol)
        assert price is not None
        account.mark(symbol, price)
        assert account.equity == pytest.approx(account.maintenance_margin)


def test_an_inverse_liquidation_price_also_brings_equity_to_maintenance() -> None:
    for side in (Side.BUY, Side.SELL):
        account = coin_account(collateral=0.01)
        fill(account, side, 20.0, 50_000.0, symbol=BTC_INVERSE)  # 2,000 USD on 0.01 BTC (500 USD)
        price = account.liquidation_price(BTC_INVERSE)
        assert price is not None
        account.mark(BTC_INVERSE, price)
        assert account.equity == pytest.approx(account.maintenance_margin)


def test_an_overcollateralised_long_has_no_liquidation_price_and_a_flat_one_neither() -> None:
    account = usdt_account(collateral=100_000.0)
    fill(account, Side.BUY, 0.1, 50_000.0)
    assert account.liquidation_price(BTC) is None
    assert account.liquidation_price(ETH) is None


# ---- liquidation and expiry ---------------------------------------------------------------------


def test_nothing_is_liquidated_while_equity_covers_maintenance_margin() -> None:
    account = usdt_account(collateral=1_000.0)
    fill(account, Side.BUY, 0.1, 50_000.0)
    account.mark(BTC, 41_000.0)
    assert account.liquidate_if_needed(1) == []


def test_below_maintenance_margin_every_position_is_closed_at_its_mark() -> None:
    account = usdt_account(collateral=1_000.0)
    fill(account, Side.BUY, 0.1, 50_000.0, symbol=BTC)
    fill(account, Side.SELL, 0.5, 2_000.0, symbol=ETH)
    account.mark(BTC, 40_000.0)
    account.mark(ETH, 2_010.0)
    fills = account.liquidate_if_needed(99)
    assert [(f.symbol, f.side, f.qty, f.price, f.fee) for f in fills] == [
        (BTC, Side.SELL, 0.1, 40_000.0, 0.0),
        (ETH, Side.BUY, 0.5, 2_010.0, 0.0),
    ]
    assert all(f.client_id == "liquidation-99" for f in fills)
    assert account.positions() == ()
    assert account.wallet_balance == pytest.approx(1_000.0 - 1_000.0 - 5.0)


def test_a_dated_contract_is_delivered_at_its_settle_price_and_then_refuses_fills() -> None:
    account = usdt_account()
    fill(account, Side.SELL, 0.2, 60_000.0, symbol=BTC_DATED)
    delivered = account.expire(BTC_DATED, 61_000.0, 1_000)
    assert delivered is not None
    assert (delivered.side, delivered.qty, delivered.price, delivered.fee) == (Side.BUY, 0.2, 61_000.0, 0.0)
    assert account.position(BTC_DATED).realized_pnl == pytest.approx(-200.0)
    assert account.is_expired(BTC_DATED)
    assert account.expire(BTC_DATED, 61_000.0, 2_000) is None
    assert not account.can_open(BTC_DATED, 0.1, 61_000.0)
    with pytest.raises(ValueError, match="expired"):
        fill(account, Side.BUY, 0.1, 61_000.0, symbol=BTC_DATED)


def test_a_perpetual_does_not_expire() -> None:
    with pytest.raises(ValueError, match="not a dated future"):
        usdt_account().expire(BTC, 50_000.0, 1)


def test_apply_to_position_reports_the_pnl_realised_by_the_fill() -> None:
    instrument = default_instrument(BTC)
    moved, realized = apply_to_position(instrument, Position(BTC, 2.0, 100.0, 5.0), -1.0, 130.0)
    assert moved == Position(BTC, 1.0, 100.0, 35.0)
    assert realized == pytest.approx(30.0)


# ---- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillStep:
    side: Side
    lots: int
    ticks: int  # price offset from the base price, in tens of ticks


@dataclass(frozen=True, slots=True)
class MarkStep:
    ticks: int


@dataclass(frozen=True, slots=True)
class FundingStep:
    rate: float


Step = FillStep | MarkStep | FundingStep
_offsets = st.integers(-300, 300)
_steps = st.lists(
    st.one_of(
        st.builds(FillStep, st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 40), _offsets),
        st.builds(MarkStep, _offsets),
        st.builds(FundingStep, st.integers(-30, 30).map(lambda units: units * 1e-5)),
    ),
    min_size=1,
    max_size=40,
)


def _conserves(account: SimulatedAccount, instrument: Instrument, base: float, steps: list[Step]) -> None:
    """Replay `steps`, then check conservation of money and of quantity against independent sums."""
    symbol, lot = instrument.symbol, instrument.lot_step
    signed_fills: list[tuple[float, float]] = []
    fees = funding = 0.0
    mark = base
    for step in steps:
        if isinstance(step, FillStep):
            price = base + step.ticks * instrument.tick_size * 10
            done = account.apply_fill(0, CID, symbol, step.side, step.lots * lot, price, 4.0)
            signed_fills.append((done.signed_qty, price))
            fees += done.fee
        elif isinstance(step, MarkStep):
            mark = base + step.ticks * instrument.tick_size * 10
            account.mark(symbol, mark)
        else:
            settled = account.settle_funding(symbol, step.rate, mark, 0)
            funding += settled.amount if settled is not None else 0.0
    account.mark(symbol, mark)
    price_pnl = sum(instrument.pnl(qty, price, mark) for qty, price in signed_fills)
    expected = account.collateral + price_pnl - fees + funding
    assert account.wallet_balance + account.unrealized_pnl() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert account.position(symbol).qty == pytest.approx(sum(q for q, _ in signed_fills), abs=lot / 1000)


@given(_steps)
def test_money_and_quantity_are_conserved_through_any_fills_on_a_linear_contract(steps: list[Step]) -> None:
    account = usdt_account(collateral=1e9)
    _conserves(account, account.instrument(BTC), 50_000.0, steps)


@given(_steps)
def test_money_and_quantity_are_conserved_through_any_fills_on_an_inverse_contract(steps: list[Step]) -> None:
    account = coin_account(collateral=1_000.0)
    _conserves(account, account.instrument(BTC_INVERSE), 50_000.0, steps)


@given(_steps)
def test_money_is_conserved_when_the_position_is_isolated(steps: list[Step]) -> None:
    account = usdt_account(collateral=1e9)
    account.set_margin_mode(BTC, isolated=True)
    _conserves(account, account.instrument(BTC), 50_000.0, steps)
    assert account.cross_wallet_balance + account.isolated_wallet(BTC) == pytest.approx(account.wallet_balance)


@given(_steps, _steps)
def test_with_no_isolated_symbol_the_figures_are_exactly_the_cross_accounts(btc: list[Step], eth: list[Step]) -> None:
    account = usdt_account(collateral=20_000.0)
    account.set_margin_mode(ETH, isolated=True)
    account.set_margin_mode(ETH, isolated=False)  # switched back while flat: an ordinary cross account
    for symbol, base, steps in ((BTC, 50_000.0, btc), (ETH, 2_000.0, eth)):
        tick = account.instrument(symbol).tick_size * 10
        for step in steps:
            if isinstance(step, FillStep):
                price = base + step.ticks * tick
                account.apply_fill(
                    0, CID, symbol, step.side, step.lots * account.instrument(symbol).lot_step, price, 4.0
                )
            elif isinstance(step, MarkStep):
                account.mark(symbol, base + step.ticks * tick)
            else:
                account.settle_funding(symbol, step.rate, base, 0)
    # what the account computed before isolated margin existed, to the last bit (the paper venue's figures)
    assert account.available_balance == account.equity - account.initial_margin
    due = account.positions() and account.equity < account.maintenance_margin
    assert account.liquidation_due() == (tuple(p.symbol for p in account.positions()) if due else ())


# ---- isolated margin ------------------------------------------------------------------------------


def isolated_btc_account(collateral: float = 10_000.0) -> SimulatedAccount:
    account = usdt_account(collateral=collateral, leverage=5.0)
    account.set_margin_mode(BTC, isolated=True)
    return account


def test_an_isolated_position_moves_its_initial_margin_out_of_the_cross_wallet_and_back_pro_rata() -> None:
    account = isolated_btc_account()
    fill(account, Side.BUY, 0.1, 50_000.0)
    assert (account.isolated_wallet(BTC), account.cross_wallet_balance) == (1_000.0, 9_000.0)
    fill(account, Side.BUY, 0.1, 60_000.0)  # adds 0.1 × 60,000 / 5
    assert account.isolated_wallet(BTC) == pytest.approx(2_200.0)
    fill(account, Side.SELL, 0.05, 55_000.0)  # a quarter closed: a quarter of the margin back
    assert account.isolated_wallet(BTC) == pytest.approx(1_650.0)
    account.mark(BTC, 57_000.0)
    assert account.isolated_margin(BTC) == pytest.approx(1_650.0 + 0.15 * 2_000.0)
    fill(account, Side.SELL, 0.15, 57_000.0)
    assert account.isolated_wallet(BTC) == 0.0
    assert account.cross_wallet_balance == account.wallet_balance == pytest.approx(10_000.0 + 0.15 * 2_000.0)


def test_a_flipped_isolated_position_releases_the_old_side_and_margins_the_new_one() -> None:
    account = isolated_btc_account()
    fill(account, Side.BUY, 0.1, 50_000.0)
    fill(account, Side.SELL, 0.3, 40_000.0)  # closes 0.1, opens 0.2 short at 40,000
    assert account.isolated_wallet(BTC) == pytest.approx(0.2 * 40_000.0 / 5)


def test_an_isolated_positions_profit_and_margin_are_not_available_to_new_orders() -> None:
    account = isolated_btc_account()
    fill(account, Side.BUY, 0.1, 50_000.0)  # 1,000 isolated
    fill(account, Side.BUY, 1.0, 2_000.0, symbol=ETH)  # cross, 400 initial margin
    account.mark(BTC, 60_000.0)  # +1,000 on the isolated position
    assert account.available_balance == pytest.approx(9_000.0 - 400.0)
    assert account.equity == pytest.approx(11_000.0)


def test_an_isolated_position_is_liquidated_alone_however_rich_the_cross_side() -> None:
    account = isolated_btc_account()
    fill(account, Side.BUY, 0.1, 50_000.0)
    fill(account, Side.SELL, 1.0, 2_000.0, symbol=ETH)
    price = account.liquidation_price(BTC)
    assert price == pytest.approx((0.1 * 50_000.0 - 1_000.0) / (0.1 * (1 - 0.005)))  # its margin only
    account.mark(BTC, price + 1.0)
    assert account.liquidation_due() == ()
    account.mark(BTC, price - 1.0)
    assert account.liquidation_due() == (BTC,)
    fills = account.liquidate_if_needed(7)
    assert [(f.symbol, f.side, f.qty) for f in fills] == [(BTC, Side.SELL, 0.1)]
    assert account.positions() == (Position(ETH, -1.0, 2_000.0),)
    assert account.wallet_balance == pytest.approx(10_000.0 + 0.1 * (price - 1.0 - 50_000.0))  # lost about 1,000
    assert account.cross_wallet_balance == account.wallet_balance


def test_at_its_liquidation_price_an_isolated_positions_margin_meets_its_maintenance() -> None:
    for side in (Side.BUY, Side.SELL):
        account = isolated_btc_account()
        fill(account, side, 0.4, 50_000.0, bps=4.0)
        price = account.liquidation_price(BTC)
        assert price is not None
        account.mark(BTC, price)
        assert account.isolated_margin(BTC) == pytest.approx(abs(account.position_value(BTC)) * 0.005)
    inverse = coin_account(collateral=1.0)
    inverse.set_margin_mode(BTC_INVERSE, isolated=True)
    fill(inverse, Side.BUY, 20.0, 50_000.0, symbol=BTC_INVERSE)
    price = inverse.liquidation_price(BTC_INVERSE)
    assert price is not None
    inverse.mark(BTC_INVERSE, price)
    assert inverse.isolated_margin(BTC_INVERSE) == pytest.approx(abs(inverse.position_value(BTC_INVERSE)) * 0.005)


def test_cross_losses_liquidate_the_cross_positions_and_leave_the_isolated_one() -> None:
    account = isolated_btc_account(collateral=2_000.0)
    fill(account, Side.BUY, 0.1, 50_000.0)  # 1,000 isolated; 1,000 left in the cross wallet
    fill(account, Side.BUY, 2.0, 2_000.0, symbol=ETH)
    account.mark(ETH, 1_500.0)  # -1,000 on the cross side: the whole cross wallet
    assert account.equity > account.maintenance_margin  # the account as a whole would have survived
    assert account.liquidation_due() == (ETH,)
    account.liquidate_if_needed(8)
    assert account.positions() == (Position(BTC, 0.1, 50_000.0),)
    assert account.isolated_wallet(BTC) == 1_000.0


def test_funding_on_an_isolated_position_is_paid_from_its_own_margin() -> None:
    account = isolated_btc_account()
    fill(account, Side.BUY, 0.1, 50_000.0)
    settled = account.settle_funding(BTC, 0.001, 50_000.0, 1)
    assert settled is not None
    assert account.isolated_wallet(BTC) == pytest.approx(1_000.0 - 5.0)
    assert account.cross_wallet_balance == pytest.approx(9_000.0)


def test_the_margin_mode_changes_only_while_flat() -> None:
    account = usdt_account()
    assert account.margin_mode(BTC) == "cross"
    fill(account, Side.BUY, 0.1, 50_000.0)
    with pytest.raises(ValueError, match="while a position is open"):
        account.set_margin_mode(BTC, isolated=True)
    fill(account, Side.SELL, 0.1, 50_000.0)
    account.set_margin_mode(BTC, isolated=True)
    assert account.margin_mode(BTC) == "isolated"
