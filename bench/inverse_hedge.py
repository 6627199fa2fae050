"""Inverse (coin-margined) hedges beside their linear equivalents on real history (README, "Inverse hedges").

Two books, 2021-01-01 → 2023-01-01 on ../shared/data, each hedged both ways on the same simulated account the
paper venue keeps (bot.venues.simulation.account), fees at each venue's standard taker rate (USDⓈ-M 4 bps,
COIN-M 5 bps), funding settled every 8 h:

1. the ten-altcoin basket of config/backtest.toml (10,000 each at the start), hedged with BTC perpetuals at the
   trailing 30-day minimum-variance beta of the basket on BTC (hourly returns), re-sized at 00:00 UTC when the
   target moved more than 10 %: linear BTC/USDT:USDT on USDT collateral, and inverse BTC/USD:BTC on BTC
   collateral (as much, in quote at the start, as the linear run needed), the short grown by the account's
   coin equity in quote, so that the BTC posted and the coin P&L are hedged too (counted once);
2. an ETH holding (100,000 at the start) hedged 1:1: linear ETH/USDT:USDT on USDT collateral, re-sized daily to
   the holding's value, and inverse ETH/USD:ETH with the ETH itself posted as the collateral, sized once (the
   short's USD face stays equal to the coin account's value: self-balancing, no re-sizing).

Figures (quote currency): variance and drawdown reduction (bot.report.performance, as the backtest), fees and
funding (coin converted once at each fill's or settlement's price, bot.money), and the collateral needed: the
least starting collateral with which equity never fell to the maintenance margin (Binance's brackets: USDⓈ-M
bot.risk.brackets, COIN-M bot.risk.inverse), in quote at the start (for the ETH posted: beyond the holding).

The data holds USDⓈ-M prices and funding only: the inverse contracts are priced from the USDT perpetuals (USD
taken as USDT) and pay their funding rates, a stand-in for COIN-M's own (close, not equal).

Run: .venv/bin/python bench/inverse_hedge.py   (about 20 s)
"""

from __future__ import annotations

import csv
import gzip
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bot.domain import ClientOrderId, Instrument, Side, Symbol
from bot.execution.market_rules import default_instrument
from bot.money import fee_in_quote, funding_in_quote
from bot.report.performance import Effectiveness, ValueRecorder
from bot.risk import inverse
from bot.risk.brackets import table_for
from bot.venues.simulation.account import SimulatedAccount

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BASKET = ["ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "LINK", "DOT", "LTC"]
START, END = "2021-01-01", "2023-01-01"
HOUR, DAY = 3_600_000, 86_400_000
WINDOW_HOURS = 30 * 24
TAKER_BPS = {False: 4.0, True: 5.0}  # linear, inverse
BAND = 0.10
LARGE = 1e12  # the simulated collateral: never liquidated, so the path tells the collateral it needed


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def _rows(name: str) -> Iterator[dict[str, str]]:
    with gzip.open(DATA / name, "rt", newline="") as handle:
        yield from csv.DictReader(handle)


def _ts(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() * 1000)


@dataclass
class Market:
    """Hourly closes (spot and perpetual) and 8-hourly funding rates by base asset, on one hourly grid."""

    hours: list[int]
    spot: dict[str, np.ndarray]
    perp: dict[str, np.ndarray]
    funding: dict[str, dict[int, float]] = field(default_factory=dict)


def load_market(bases: list[str], hedges: list[str]) -> Market:
    first, last = _ms(START) - (WINDOW_HOURS + 24) * HOUR, _ms(END)
    closes: dict[str, dict[int, float]] = {b: {} for b in bases}
    for row in _rows("prices_1h.csv.gz"):
        base = row["symbol"].removesuffix("USDT")
        if base in closes and float(row["close"]) > 0:
            closes[base][_ts(row["timestamp"])] = float(row["close"])
    perps: dict[str, dict[int, float]] = {b: {} for b in hedges}
    for row in _rows("perp_1h.csv.gz"):
        base = row["symbol"].removesuffix("USDT")
        if base in perps and float(row["close"]) > 0:
            perps[base][_ts(row["timestamp"])] = float(row["close"])
    hours = [h for h in range(first, last, HOUR) if all(h in closes[b] for b in bases)]
    funding: dict[str, dict[int, float]] = {b: {} for b in hedges}
    for row in _rows("funding_8h.csv.gz"):
        base = row["symbol"].removesuffix("USDT")
        if base in funding:
            funding[base][_ts(row["timestamp"])] = float(row["funding_rate"])
    spot = {b: np.array([closes[b][h] for h in hours]) for b in bases}
    perp = {b: np.array([perps[b].get(h, closes[b][h]) for h in hours]) for b in hedges}
    return Market(hours, spot, perp, funding)


@dataclass
class Hedge:
    """One hedge account trading one contract, with what it cost and the collateral its path needed."""

    instrument: Instrument
    account: SimulatedAccount
    fees: float = 0.0  # quote
    funding: float = 0.0  # quote, + received
    need: float = 0.0  # settlement currency: max over the path of maintenance − (equity − collateral)
    orders: int = 0

    @property
    def qty(self) -> float:
        return self.account.position(self.instrument.symbol).qty

    def trade_to(self, ts: int, target_notional: float, price: float) -> None:
        """Re-size to `target_notional` (quote, signed) when it moved more than the band."""
        held = self.instrument.notional(self.qty, price)
        if held and abs(target_notional - held) <= BAND * abs(held):
            return
        lot = self.instrument.lot_step
        target = round(self.instrument.contracts_for_notional(target_notional, price) / lot) * lot
        delta = round(target - self.qty, 9)
        if delta == 0:
            return
        side = Side.BUY if delta > 0 else Side.SELL
        bps = TAKER_BPS[self.instrument.inverse]
        fill = self.account.apply_fill(
            ts, ClientOrderId(f"b{self.orders}"), self.instrument.symbol, side, abs(delta), price, bps
        )
        self.fees += fee_in_quote(fill, "USDT")
        self.orders += 1

    def settle(self, ts: int, rate: float | None, price: float) -> None:
        self.account.mark(self.instrument.symbol, price)
        if rate is not None:
            settled = self.account.settle_funding(self.instrument.symbol, rate, price, ts)
            if settled is not None:
                self.funding += funding_in_quote(settled, "USDT")
        loss = self.account.collateral - self.account.equity
        self.need = max(self.need, loss + self._maintenance(price))

    def _maintenance(self, price: float) -> float:
        qty, instrument = self.qty, self.instrument
        if instrument.inverse:
            return inverse.maintenance_margin(instrument, qty, price)
        return table_for(instrument.base).maintenance(instrument.notional(qty, price))

    def equity_in_quote(self, price: float) -> float:
        return self.account.equity * price if self.instrument.inverse else self.account.equity


def _hedge(symbol: str, collateral: float) -> Hedge:
    instrument = default_instrument(Symbol(symbol))
    currency = instrument.settle or instrument.quote
    return Hedge(instrument, SimulatedAccount(currency, collateral, (instrument,)))


def _beta(basket: np.ndarray, btc: np.ndarray, end: int) -> float:
    """Minimum-variance ratio of the basket on BTC over the trailing window (hourly log returns)."""
    y = np.diff(np.log(basket[end - WINDOW_HOURS : end + 1]))
    x = np.diff(np.log(btc[end - WINDOW_HOURS : end + 1]))
    return float(np.cov(y, x)[0, 1] / np.var(x, ddof=1))


@dataclass(frozen=True)
class Row:
    name: str
    effect: Effectiveness
    fees: float
    funding: float
    collateral: float


def basket_run(market: Market, inverse_hedge: bool, collateral: float = LARGE) -> Row:
    """The basket hedged with BTC perpetuals. Inverse: `collateral` (quote) buys the BTC posted at the start, and
    the account's whole coin equity is BTC exposure hedged with the basket (the engine's view: counted once)."""
    start = next(i for i, h in enumerate(market.hours) if h >= _ms(START))
    units = {b: 10_000.0 / market.spot[b][start] for b in BASKET}
    value = sum(units[b] * market.spot[b] for b in BASKET)
    btc = market.perp["BTC"]
    opening = float(btc[start])
    hedge = _hedge("BTC/USD:BTC" if inverse_hedge else "BTC/USDT:USDT", collateral / (opening if inverse_hedge else 1))
    recorder = ValueRecorder()
    for i in range(start, len(market.hours)):
        ts, price = market.hours[i], float(btc[i])
        hedge.settle(ts, market.funding["BTC"].get(ts), price)
        coin = hedge.account.equity * price if inverse_hedge else 0.0  # the posted BTC and its P&L, in quote
        if i == start or ts % DAY == 0:
            hedge.trade_to(ts, -_beta(value, market.spot["BTC"], i) * float(value[i]) - coin, price)
        pnl = coin - collateral if inverse_hedge else hedge.account.equity - hedge.account.collateral
        recorder.record(ts, float(value[i]), pnl)
    needed = hedge.need * opening if inverse_hedge else hedge.need
    name = "inverse BTC/USD:BTC (BTC collateral)" if inverse_hedge else "linear BTC/USDT:USDT (USDT collateral)"
    return Row(name, recorder.effectiveness(), hedge.fees, hedge.funding, needed)


def eth_run(market: Market, inverse_hedge: bool) -> Row:
    start = next(i for i, h in enumerate(market.hours) if h >= _ms(START))
    eth = market.perp["ETH"]
    holding = 100_000.0 / market.spot["ETH"][start]
    recorder = ValueRecorder()
    # inverse: the ETH held is the account's wallet, collateral and holding at once
    hedge = _hedge("ETH/USD:ETH", holding) if inverse_hedge else _hedge("ETH/USDT:USDT", LARGE)
    for i in range(start, len(market.hours)):
        ts, price, spot = market.hours[i], float(eth[i]), float(market.spot["ETH"][i])
        hedge.settle(ts, market.funding["ETH"].get(ts), price)
        if inverse_hedge:
            if i == start:
                hedge.trade_to(ts, -holding * price, price)
            # the holding is inside the account: hedged value = its equity in quote; unhedged = the ETH alone
            recorder.record(ts, holding * spot, hedge.equity_in_quote(price) - holding * spot)
            continue
        if i == start or ts % DAY == 0:
            hedge.trade_to(ts, -holding * spot, price)
        recorder.record(ts, holding * spot, hedge.account.equity - hedge.account.collateral)
    if inverse_hedge:  # beyond the ETH held: the coin it would have to add, at the start price
        collateral = max(hedge.need - holding, 0.0) * float(eth[start])
        name = "inverse ETH/USD:ETH (the ETH held posted)"
    else:
        collateral, name = hedge.need, "linear ETH/USDT:USDT (USDT collateral)"
    return Row(name, recorder.effectiveness(), hedge.fees, hedge.funding, collateral)


def main() -> int:
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} holds no prices_1h.csv.gz")
        return 0
    began = time.perf_counter()
    market = load_market([*BASKET, "BTC"], ["BTC", "ETH"])
    loaded = time.perf_counter()
    linear = basket_run(market, False)  # its collateral needed funds the inverse run's BTC
    rows = [
        ("ten-altcoin basket", linear),
        ("ten-altcoin basket", basket_run(market, True, linear.collateral)),
        ("ETH holding 1:1", eth_run(market, False)),
        ("ETH holding 1:1", eth_run(market, True)),
    ]
    ran = time.perf_counter() - loaded
    print(f"{START} → {END}, ../shared/data; loaded in {loaded - began:.1f} s, four runs in {ran:.1f} s")
    print(
        "| book | hedge | variance reduction | drawdown reduction | hedged P&L | fees | funding | collateral needed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for book, row in rows:
        e = row.effect
        print(
            f"| {book} | {row.name} | {e.variance_reduction:.1%} | {e.drawdown_reduction:.1%} | {e.hedged_pnl:,.0f} |"
            f" {row.fees:,.0f} | {row.funding:+,.0f} | {row.collateral:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
