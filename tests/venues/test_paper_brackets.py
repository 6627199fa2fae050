"""The paper venue charges maintenance margin by Binance's brackets and liquidates where the collateral buffer
says it would: one table (`bot.risk.brackets`) for the buffer, the paper venue and the loopback exchange."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import Side, Symbol
from bot.execution.market_rules import default_instrument
from bot.risk import buffer as buffers
from bot.risk.brackets import table_for
from tests.venues.test_paper import BTC, ETH, FRICTIONLESS, T0, fills_in, market, paper, price

SOL = Symbol("SOL/USDT:USDT")


@pytest.mark.asyncio
async def test_the_paper_accounts_maintenance_margin_is_the_brackets_not_a_flat_rate() -> None:
    venue = paper(replace(FRICTIONLESS, collateral=1_000_000.0), BTC, ETH, SOL)
    price(venue, 50_000.0)
    price(venue, 2_000.0, symbol=ETH)
    price(venue, 100.0, symbol=SOL)
    await venue.create_order(market("btc", Side.SELL, 10.0))  # 500,000: BTC's third bracket, 1 %
    await venue.create_order(market("eth", Side.SELL, 100.0, symbol=ETH))  # 200,000: ETH's third, 1 %
    await venue.create_order(market("sol", Side.SELL, 1_000.0, symbol=SOL))  # 100,000: the altcoin's third, 5 %
    venue.drain()
    expected = (
        table_for("BTC").maintenance(500_000.0)
        + table_for("ETH").maintenance(200_000.0)
        + table_for("SOL").maintenance(100_000.0)
    )
    assert venue.account.maintenance_margin == pytest.approx(expected)
    assert venue.account.maintenance_margin != pytest.approx(800_000.0 * FRICTIONLESS.maintenance_margin_rate)
    snapshot = await venue.fetch_account()
    assert snapshot.maintenance_margin == pytest.approx(expected)


@pytest.mark.asyncio
async def test_a_short_is_liquidated_just_beyond_the_rally_the_collateral_buffer_names_and_not_before() -> None:
    venue = paper(replace(FRICTIONLESS, collateral=3_000.0, leverage=20.0), BTC, SOL)
    price(venue, 100.0, symbol=SOL)
    await venue.create_order(market("short", Side.SELL, 300.0, symbol=SOL))  # 30,000 of SOL on 3,000
    venue.drain()
    legs = buffers.legs_of(venue.account.positions(), {SOL: 100.0}, {SOL: default_instrument(SOL)})
    buffer = buffers.account_buffer(venue.account.equity, legs)
    assert buffer is not None
    assert 0.05 < buffer < 0.08  # the altcoin table charges 800 on 30,000 (a flat 0.5 % would charge 150)
    price(venue, 100.0 * (1 + buffer * 0.99), T0 + 1, SOL)
    assert fills_in(venue.drain()) == []
    price(venue, 100.0 * (1 + buffer * 1.01), T0 + 2, SOL)
    [closed] = fills_in(venue.drain())
    assert (closed.side, closed.qty) == (Side.BUY, 300.0)
    assert venue.account.positions() == ()
