"""The paper venue's coin-margined account: inverse contracts of USD face, fees, funding and P&L in the coin."""

from __future__ import annotations

import pytest

from bot.domain import (
    MS_PER_HOUR,
    ClientOrderId,
    Fill,
    FundingObserved,
    FundingSettled,
    OrderRequest,
    PriceObserved,
    Side,
    Symbol,
)
from bot.execution.market_rules import default_instrument
from bot.money import fee_in_quote, funding_in_quote
from bot.risk import inverse
from bot.venues.paper import PaperSettings, PaperVenue

ETH_USD = Symbol("ETH/USD:ETH")
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
COIN = PaperSettings(collateral=50.0, currency="ETH", taker_fee_bps=5.0, slippage_bps=0.0, impact_bps_per_10k=0.0)


def _venue() -> PaperVenue:
    venue = PaperVenue(COIN, {ETH_USD: default_instrument(ETH_USD)})
    venue.on_market(PriceObserved(T0, ETH_USD, 2_000.0))
    return venue


@pytest.mark.asyncio
async def test_a_usd_notional_is_sold_as_whole_contracts_of_face_value_with_the_fee_in_coin() -> None:
    venue = _venue()
    [instrument] = (await venue.load_instruments([ETH_USD])).values()
    contracts = round(instrument.contracts_for_notional(-100_000.0, 2_000.0))  # 100,000 USD of 10 USD contracts
    await venue.create_order(OrderRequest(ClientOrderId("c1"), ETH_USD, Side.SELL, abs(contracts)))
    [fill] = [e for e in venue.drain() if isinstance(e, Fill)]
    assert (fill.qty, fill.price, fill.fee_currency) == (10_000, 2_000.0, "ETH")
    assert fill.fee == pytest.approx(50.0 * 5e-4)  # 50 ETH of face × 5 bps, in ETH
    assert fee_in_quote(fill, "USDT") == pytest.approx(50.0)  # valued once, at the fill


@pytest.mark.asyncio
async def test_the_coin_account_pays_funding_in_coin_and_its_equity_and_maintenance_are_in_coin() -> None:
    venue = _venue()
    await venue.create_order(OrderRequest(ClientOrderId("c1"), ETH_USD, Side.SELL, 10_000))
    venue.drain()
    settle = T0 + 8 * MS_PER_HOUR
    venue.on_market(PriceObserved(settle, ETH_USD, 2_500.0))
    venue.on_market(FundingObserved(settle, ETH_USD, 0.0001, settle))
    [funding] = [e for e in venue.drain() if isinstance(e, FundingSettled)]
    assert funding.currency == "ETH"
    assert funding.amount == pytest.approx(100_000 / 2_500 * 0.0001)  # a short receives, in ETH
    assert funding_in_quote(funding, "USDT") == pytest.approx(10.0)
    snapshot = await venue.fetch_account()
    instrument = default_instrument(ETH_USD)
    # a 25 % rally costs the short 100,000 × (1/2000 − 1/2500) = 10 ETH: the wallet of 50 ETH keeps 40
    assert snapshot.currency == "ETH"
    unrealised = instrument.pnl(-10_000, 2_000.0, 2_500.0)
    assert unrealised == pytest.approx(-10.0)
    assert snapshot.equity == pytest.approx(50.0 - 0.025 + funding.amount + unrealised)
    liquidation = inverse.liquidation_price(instrument, -10_000, 2_000.0, snapshot.wallet_balance)
    # 50 ETH of collateral (less the fee) for 50 ETH of face shorted: only a rally beyond a thousandfold would
    assert liquidation is not None
    assert liquidation > 1_000 * 2_000.0
