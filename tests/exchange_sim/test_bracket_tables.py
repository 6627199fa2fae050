"""Bracket tables per symbol (bot/risk/brackets.py): BTCUSDT's and ETHUSDT's own, a typical altcoin's for every
other base (no longer ETH's kinder one), dated contracts on their perpetual's. What the loopback exchange serves
at /fapi/v1/leverageBracket is what ccxt parses (`fetch_leverage_tiers`), and the collateral buffer measures the
distance to liquidation with the same table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import Instrument, InstrumentKind, Position, Symbol
from bot.exchange_sim import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.risk.brackets import ALTCOIN_TABLE, BracketTable, table_for
from bot.risk.buffer import account_buffer, legs_of
from bot.testing.loopback import T0, priced

SOL_PERP, BTC_PERP, ETH_PERP = Symbol("SOL/USDT:USDT"), Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """The loopback exchange listing BTC, ETH and SOL perpetuals and BTC's and ETH's quarterlies."""
    tape = list(priced(T0))
    async with ExchangeSim(SimSettings(bases=("BTC", "ETH", "SOL")), tape) as simulator:
        await simulator.advance(len(tape))
        yield simulator


def as_tiers(table: BracketTable) -> list[tuple[int, float, float, float, int]]:
    return [(b.number, b.floor, b.cap, b.maint_rate, b.initial_leverage) for b in table.brackets]


@pytest.mark.asyncio
async def test_ccxt_reads_each_symbols_own_brackets_btc_eth_an_altcoin_and_the_quarterlies_their_perpetuals(
    sim: ExchangeSim, clients: Any
) -> None:
    client = clients(sim)
    await client.load_markets()
    tiers = await client.fetch_leverage_tiers()

    def parsed(symbol: str) -> list[tuple[int, float, float, float, int]]:
        return [(int(t["tier"]), t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"], int(t["maxLeverage"]))
                for t in tiers[symbol]]  # fmt: skip

    quarterlies = [s for s in tiers if s.startswith("BTC/USDT:USDT-")]
    assert parsed(BTC_PERP) == as_tiers(table_for("BTC"))
    assert parsed(ETH_PERP) == as_tiers(table_for("ETH"))
    assert parsed(SOL_PERP) == as_tiers(ALTCOIN_TABLE)
    assert parsed(SOL_PERP)[:2] == [(1, 0.0, 5_000.0, 0.01, 20), (2, 5_000.0, 25_000.0, 0.025, 10)]  # not ETH's
    assert quarterlies
    assert all(parsed(q) == as_tiers(table_for("BTC")) for q in quarterlies)


def test_the_buffer_measures_an_altcoin_short_with_the_altcoin_table() -> None:
    sol = Instrument(SOL_PERP, "SOL", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.01, tick_size=0.001)
    short = Position(SOL_PERP, -40.0, 100.0)  # 4,000 USDT: the altcoin table's first bracket (1 %, no `cum`)
    [leg] = legs_of([short], {SOL_PERP: 100.0}, {SOL_PERP: sol})

    buffer = account_buffer(200.0, (leg,))

    # equity − notional × move = rate × notional × (1 + move), solved for the move, at 1 % (ETH's 0.5 % gives 0.0448)
    assert leg.table == ALTCOIN_TABLE
    assert buffer == pytest.approx((200.0 - 0.01 * 4_000) / (4_000 * 1.01))
