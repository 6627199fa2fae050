"""Binance's COIN-M (inverse) bracket tables, floors and caps in the coin. Pure.

A COIN-M position's maintenance margin is `value × rate − cum` of the bracket its value *in the coin* falls in
(`bot.risk.brackets.Bracket`; `cum` derived as `build_table` derives it). `GET /dapi/v2/leverageBracket`
reports these tables as `qtyCap`/`qtyFloor`; the loopback exchange serves them, `bot.risk.inverse` measures the
buffer and the liquidation price with them.

Sources (Binance's own pages; none of them is a recorded API answer):
- BTCUSD: the FAQ "How to Calculate Liquidation Price of COIN-M Futures Contracts" (300 BTC falls in the
  12.5 % bracket, maintenance amount 11.605 BTC) and the FAQ "Leverage and Margin in Coin-Margined Futures
  Contracts" (125x to 5 BTC ... 3x to 1,000 BTC).
- ETHUSD: that FAQ's ETHUSD table (100x to 100 ETH, 75x to 500, 50x to 1,000, 20x to 2,000, 10x to 4,000, 5x to
  6,000, 4x to 8,000, 3x to 10,000, 2x and 1x above) with the maintenance rates of Binance's announcement
  "Updates to Maintenance Margin of ... BTCUSD Quarterly 0625 and ETHUSD Quarterly 0625" (2021-04; 0.50 %,
  0.65 %, 1 %, 2.5 %, 5 %, 10 %, 12.5 %, 15 %, 25 % to 15,000 ETH, 50 % beyond, the rate after its final step).
- ETCUSD, EOSUSD, TRXUSD, FILUSD: Binance's announcement of their COIN-M quarterlies (2020, "Notional Value in
  ETC/TRX/EOS/FIL" tables): 20x at 0.65 % to 50,000 ETC or EOS and to 5,000,000 TRX; 20x at 1 % to 10,000 FIL.
  Binance lists 2x and 1x there both at 25 % with no position limit: one last bracket here.

Every other coin (ADA, LINK, BNB, DOT, LTC, BCH, XRP, SOL, DOGE, ...): we found Binance's "20x COIN-M" table
for them but not its caps, so FILUSD's table stands in: of the published 20x COIN-M tables it has the highest
rates from the first coin (1 % against 0.65 %), so the buffer errs on the safe side for positions in the first
brackets, where a hedge of this size sits. Its caps are FIL's coin counts: for a coin priced far above FIL
they are generous in USD, which matters only for positions of millions of USD.
"""

from __future__ import annotations

from bot.risk.brackets import BracketTable, build_table

_NO_LIMIT = 10**12  # Binance's "No Position Limit": a cap no position reaches

# (cap in coin, initial leverage, maintenance rate) per bracket, floors being the previous caps.
_BTC = (
    (5, 125, 0.004),
    (10, 100, 0.005),
    (20, 50, 0.01),
    (50, 20, 0.025),
    (100, 10, 0.05),
    (200, 5, 0.1),
    (400, 4, 0.125),
    (1_000, 3, 0.15),
    (1_500, 2, 0.25),
    (1_000_000, 1, 0.5),
)
_ETH = (
    (100, 100, 0.005),
    (500, 75, 0.0065),
    (1_000, 50, 0.01),
    (2_000, 20, 0.025),
    (4_000, 10, 0.05),
    (6_000, 5, 0.1),
    (8_000, 4, 0.125),
    (10_000, 3, 0.15),
    (15_000, 2, 0.25),
    (_NO_LIMIT, 1, 0.5),
)
_ETC_EOS = (
    (50_000, 20, 0.0065),
    (100_000, 10, 0.01),
    (200_000, 7, 0.025),
    (500_000, 6, 0.05),
    (1_000_000, 5, 0.1),
    (1_500_000, 4, 0.125),
    (2_000_000, 3, 0.15),
    (_NO_LIMIT, 2, 0.25),
)
_TRX = (
    (5_000_000, 20, 0.0065),
    (10_000_000, 10, 0.01),
    (20_000_000, 7, 0.025),
    (50_000_000, 6, 0.05),
    (100_000_000, 5, 0.1),
    (200_000_000, 4, 0.125),
    (300_000_000, 3, 0.15),
    (_NO_LIMIT, 2, 0.25),
)
_FIL = (
    (10_000, 20, 0.01),
    (20_000, 10, 0.025),
    (50_000, 6, 0.05),
    (100_000, 5, 0.1),
    (150_000, 4, 0.125),
    (200_000, 3, 0.15),
    (_NO_LIMIT, 2, 0.25),
)
_TABLES = {
    coin: BracketTable(build_table(tiers))
    for coin, tiers in {"BTC": _BTC, "ETH": _ETH, "ETC": _ETC_EOS, "EOS": _ETC_EOS, "TRX": _TRX, "FIL": _FIL}.items()
}
STAND_IN = _TABLES["FIL"]  # for every coin without a published table (see the module docstring)


def coinm_table(base: str) -> BracketTable:
    """The COIN-M bracket table of `base`, floors and caps in that coin (FILUSD's for a coin we hold none of)."""
    return _TABLES.get(base, STAND_IN)
