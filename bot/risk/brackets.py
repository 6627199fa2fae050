"""Binance's notional and leverage brackets: per symbol, the maximum leverage and maintenance rate by size. Pure.

A position's maintenance margin is `notional × maintMarginRatio − cum` of the bracket its notional falls in
(`cum`, Binance's "maintenance amount", makes the function continuous at the bracket edges), and the leverage
a symbol may be set to is capped by the bracket of its position: `initialLeverage` of the first bracket whose
`notionalCap` holds the notional. `GET /fapi/v1/leverageBracket` reports these tables as they are here.

One table for the whole bot: the collateral buffer (`bot.risk.buffer`) measures the distance to liquidation
with it, the paper venue charges maintenance margin by it, and the loopback exchange (`bot.exchange_sim`)
serves it.

Tables: BTC's is Binance's BTCUSDT table as its leverageBracket endpoint answered it (ccxt's recorded sample
response, ten brackets from 125x to 1x). ETH's is Binance's published ETHUSDT table of the same period (the
ten brackets from 100x at 10,000 USDT to 1x); we found no stored copy of it to check against, so it is
written from Binance's published tier page and its `cum` values are derived, not copied. Every other base
(the altcoins) lists a typical altcoin table, Binance's own for a 20x USDⓈ-M perpetual (see `_ALTCOIN_TIERS`):
caps from 5,000 USDT, far stricter than ETH's, so an altcoin hedge's margin and liquidation distance are no
longer measured on the kind side. Dated contracts use their perpetual's table: Binance's USDT quarterlies
have tables of their own, but we found no published copy of them to take the figures from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bracket:
    number: int
    initial_leverage: int
    floor: float  # notional (quote) from which this bracket applies
    cap: float  # notional up to which it applies
    maint_rate: float
    cum: float  # maintenance amount: maintenance = notional × rate − cum

    def maintenance(self, notional: float) -> float:
        return abs(notional) * self.maint_rate - self.cum


# (cap, initial leverage, maintenance rate) per bracket, floors being the previous caps.
_BTC_TIERS = (
    (50_000, 125, 0.004),
    (250_000, 100, 0.005),
    (3_000_000, 50, 0.01),
    (20_000_000, 20, 0.025),
    (40_000_000, 10, 0.05),
    (100_000_000, 5, 0.1),
    (120_000_000, 4, 0.125),
    (200_000_000, 3, 0.15),
    (300_000_000, 2, 0.25),
    (500_000_000, 1, 0.5),
)
_ETH_TIERS = (
    (10_000, 100, 0.005),
    (100_000, 75, 0.0065),
    (500_000, 50, 0.01),
    (1_000_000, 25, 0.02),
    (2_000_000, 10, 0.05),
    (5_000_000, 5, 0.1),
    (10_000_000, 4, 0.125),
    (20_000_000, 3, 0.15),
    (50_000_000, 2, 0.25),
    (100_000_000, 1, 0.5),
)
# A typical altcoin's table: CVCUSDT's (a 20x USDⓈ-M perpetual) before its 2024 delisting update, as Binance's
# announcement lists it ("Binance Futures Will Delist and Update the Leverage & Margin Tiers of CVCUSDT
# Perpetual Futures Contract", https://www.binance.com/en/support/announcement/binance-futures-will-delist-and-
# update-the-leverage-margin-tiers-of-cvcusdt-perpetual-futures-contract-3188e26f14a1464b91487abad452c04f):
# 11-20x to 5,000 at 1.00 %, 9-10x to 25,000 at 2.50 %, 6-8x to 100,000 at 5.00 %, 3-5x to 250,000 at 10.00 %,
# 2x to 1,000,000 at 12.50 %, 1x to 2,000,000 at 50.00 %. The same shape as Binance's 2021 tables for its 50x
# altcoins (XEM, COTI, CHR, MANA, HBAR, ALICE: 1 %, 2.5 %, 5 %, 10 %, 12.5 %, 50 % from 5,000 USDT).
_ALTCOIN_TIERS = (
    (5_000, 20, 0.01),
    (25_000, 10, 0.025),
    (100_000, 8, 0.05),
    (250_000, 5, 0.1),
    (1_000_000, 2, 0.125),
    (2_000_000, 1, 0.5),
)
_TIERS_BY_BASE = {"BTC": _BTC_TIERS, "ETH": _ETH_TIERS}


def build_table(tiers: tuple[tuple[int, int, float], ...]) -> tuple[Bracket, ...]:
    """Brackets with their floors and `cum` derived as Binance derives them (continuous maintenance)."""
    brackets: list[Bracket] = []
    floor, cum, previous_rate = 0.0, 0.0, 0.0
    for number, (cap, leverage, rate) in enumerate(tiers, start=1):
        cum += floor * (rate - previous_rate)
        brackets.append(Bracket(number, leverage, floor, float(cap), rate, round(cum, 8)))
        floor, previous_rate = float(cap), rate
    return tuple(brackets)


@dataclass(frozen=True, slots=True)
class BracketTable:
    brackets: tuple[Bracket, ...]

    @classmethod
    def for_base(cls, base: str) -> BracketTable:
        return cls(build_table(_TIERS_BY_BASE.get(base, _ALTCOIN_TIERS)))

    @property
    def max_leverage(self) -> int:
        return self.brackets[0].initial_leverage

    def at(self, notional: float) -> Bracket:
        """The bracket of a position of this notional (the last one beyond every cap)."""
        size = abs(notional)
        for bracket in self.brackets:
            if size <= bracket.cap:
                return bracket
        return self.brackets[-1]

    def maintenance(self, notional: float) -> float:
        return max(0.0, self.at(notional).maintenance(notional)) if notional else 0.0

    def max_notional(self, leverage: int) -> float:
        """The largest position notional allowed at `leverage` (Binance's maxNotionalValue)."""
        allowed = [b.cap for b in self.brackets if b.initial_leverage >= leverage]
        return max(allowed) if allowed else 0.0


def table_for(base: str) -> BracketTable:
    """The bracket table of a contract on `base` (BTC, ETH; any other base: the altcoin table, see above)."""
    return _TABLES.get(base) or ALTCOIN_TABLE


_TABLES = {base: BracketTable(build_table(tiers)) for base, tiers in _TIERS_BY_BASE.items()}
ALTCOIN_TABLE = BracketTable(build_table(_ALTCOIN_TIERS))
