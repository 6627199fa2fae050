"""`ctl status` of a coin-margined hedge account: the move that would liquidate each inverse position is measured
by Binance's COIN-M brackets (in the coin), not by one flat rate taken from the venue's maintenance margin now."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.core.engine import Engine
from bot.domain import AccountSnapshot, Position, PriceObserved, Symbol
from bot.execution.market_rules import default_instrument
from bot.report.run_summary import Totals
from bot.report.status import engine_status
from bot.risk.inverse import coinm_table

ETH_INV, ETH_SPOT = Symbol("ETH/USD:ETH"), Symbol("ETH/USDT")
MARK = 2_000.0
FACE = 10.0  # USD per ETHUSD_PERP contract


def _coin_engine(contracts: float, wallet: float) -> Engine:
    """An ETH holding posted in the COIN-M wallet, `contracts` of ETHUSD_PERP held, marked at 2,000."""
    config = parse_config(
        {
            "portfolio": {"holdings": {"ETH": 400.0}, "posted": ["ETH"]},
            "hedge": {"instruments": [ETH_INV], "proxy": ETH_INV, "policy": "fixed"},
        }
    )
    engine = Engine(config, {ETH_INV: default_instrument(ETH_INV)}, trading_from_ms=0)
    engine.on_market(PriceObserved(0, ETH_SPOT, MARK))
    engine.on_market(PriceObserved(0, ETH_INV, MARK))
    value = abs(contracts) * FACE / MARK
    maintenance = coinm_table("ETH").maintenance(value)  # what the venue reports at the mark
    snapshot = AccountSnapshot(1, "ETH", wallet, wallet, value / 20, maintenance, (Position(ETH_INV, contracts, MARK),))
    engine.adopt_positions(snapshot)
    engine.on_venue(snapshot)
    return engine


def test_the_liquidation_line_of_an_inverse_short_is_where_equity_meets_its_coin_m_bracket_maintenance() -> None:
    # 60,000 contracts short = 300 ETH at 2,000, on 100 ETH: the value falls as the price rises, so at the
    # liquidation price (~3,000: 200 ETH) the position sits in a lower bracket than at the mark
    engine = _coin_engine(-60_000.0, wallet=100.0)
    [line] = engine_status(engine, 1, Totals())["liquidation"]

    price = line["price"]
    assert line["symbol"] == ETH_INV
    assert price is not None
    equity_there = 100.0 - 60_000.0 * FACE * (1 / MARK - 1 / price)
    maintenance_there = coinm_table("ETH").maintenance(60_000.0 * FACE / price)
    assert equity_there == pytest.approx(maintenance_there, rel=1e-6)
    assert line["move"] == pytest.approx(price / MARK - 1)
