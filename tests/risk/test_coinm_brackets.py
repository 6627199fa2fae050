"""Binance's COIN-M bracket tables (bot/risk/coinm_brackets.py), in the coin: BTCUSD's and ETHUSD's own, the
published tables of ETCUSD, EOSUSD, TRXUSD and FILUSD, and FILUSD's (the strictest published 20x one) standing in
for every coin whose table we hold no copy of."""

from __future__ import annotations

import pytest

from bot.risk.brackets import BracketTable
from bot.risk.inverse import coinm_table


def tiers(table: BracketTable) -> list[tuple[float, int, float]]:
    return [(b.cap, b.initial_leverage, b.maint_rate) for b in table.brackets]


def test_ethusd_has_binances_own_table_from_100x_at_100_eth_not_btcs_rates() -> None:
    assert tiers(coinm_table("ETH"))[:9] == [
        (100, 100, 0.005), (500, 75, 0.0065), (1_000, 50, 0.01), (2_000, 20, 0.025), (4_000, 10, 0.05),
        (6_000, 5, 0.1), (8_000, 4, 0.125), (10_000, 3, 0.15), (15_000, 2, 0.25),
    ]  # fmt: skip
    assert coinm_table("ETH").brackets[-1].initial_leverage == 1


def test_the_20x_coins_binance_published_have_their_own_tables_in_their_coin() -> None:
    assert tiers(coinm_table("ETC"))[:3] == [(50_000, 20, 0.0065), (100_000, 10, 0.01), (200_000, 7, 0.025)]
    assert tiers(coinm_table("EOS")) == tiers(coinm_table("ETC"))
    assert tiers(coinm_table("TRX"))[:3] == [(5_000_000, 20, 0.0065), (10_000_000, 10, 0.01), (20_000_000, 7, 0.025)]
    assert tiers(coinm_table("FIL"))[:3] == [(10_000, 20, 0.01), (20_000, 10, 0.025), (50_000, 6, 0.05)]


def test_a_coin_without_a_published_table_gets_filusds_20x_table_not_btcs_125x_one() -> None:
    for coin in ("SOL", "ADA", "LINK", "BNB", "DOGE"):
        assert coinm_table(coin) == coinm_table("FIL")
        assert coinm_table(coin).max_leverage == 20


@pytest.mark.parametrize("coin", ["BTC", "ETH", "ETC", "TRX", "FIL"])
def test_maintenance_is_continuous_at_every_bracket_edge(coin: str) -> None:
    table = coinm_table(coin)
    for below, above in zip(table.brackets, table.brackets[1:], strict=False):
        edge = below.cap
        assert below.maintenance(edge) == pytest.approx(above.maintenance(edge), rel=1e-9)
