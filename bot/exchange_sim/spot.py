"""The simulator's spot market: which pairs it lists and what they trade at, from the same market events. Pure.

Binance lists a spot pair for every coin it lists a perpetual of, and many more. The simulator lists one spot
pair (`SOLUSDT` = "SOL/USDT") for each base of its futures catalog and for each spot-only coin of
`SimSettings.spot_only` (no perpetual: the altcoins a proxy hedge exists for). A spot `PriceObserved` /
`BookObserved` of a listed pair sets its price; a pair never observed is priced at its perpetual's index (a
composite of spot prices, as on Binance), so a feed of futures alone still prices the spot of its bases. The
best bid/ask is synthesised around the price (`spread_ticks`, `level_notional` per level), as for contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import (
    BookObserved,
    Instrument,
    MarketEvent,
    PriceObserved,
    Rounding,
    Side,
    perp_symbol,
    round_to_step,
    spot_symbol,
)
from bot.exchange_sim.candles import CandleSeries
from bot.exchange_sim.catalog import Catalog, decimals_of
from bot.exchange_sim.market import MarketState, Top
from bot.exchange_sim.settings import SimSettings
from bot.execution.market_rules import default_instrument
from bot.venues.simulation.book import BookModel


@dataclass(frozen=True, slots=True)
class SpotPair:
    """One listed spot pair under Binance's id ("SOLUSDT")."""

    id: str
    instrument: Instrument
    spot_only: bool  # no perpetual of this base is listed

    @property
    def base(self) -> str:
        return self.instrument.base

    @property
    def quote(self) -> str:
        return self.instrument.quote

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.instrument.tick_size)

    @property
    def qty_decimals(self) -> int:
        return decimals_of(self.instrument.lot_step)

    def px(self, value: float) -> str:
        return f"{value:.{self.price_decimals}f}"

    def qty(self, value: float) -> str:
        return f"{value:.{self.qty_decimals}f}"


def spot_pairs(catalog: Catalog, spot_only: tuple[str, ...]) -> dict[str, SpotPair]:
    """Every listed pair by id: the futures catalog's bases, then the spot-only coins."""
    pairs: dict[str, SpotPair] = {}
    for base in dict.fromkeys((*catalog.bases, *spot_only)):
        instrument = default_instrument(spot_symbol(base, catalog.quote))
        pair = SpotPair(f"{base}{catalog.quote}", instrument, base not in catalog.bases)
        pairs[pair.id] = pair
    return pairs


class SpotMarket:
    """Prices, candles and books of the listed spot pairs (see the module docstring)."""

    def __init__(self, market: MarketState, settings: SimSettings) -> None:
        self.market = market
        self.settings = settings
        self.pairs = spot_pairs(market.catalog, settings.spot_only)
        self._by_base = {pair.base: pair for pair in self.pairs.values()}
        self._observed: dict[str, float] = {}  # by pair id: the latest spot print
        self._candles: dict[str, CandleSeries] = {}
        self._books: dict[str, BookModel] = {}
        self.update_id = 0  # one counter for every book update id the spot API hands out

    @property
    def now_ms(self) -> int:
        return self.market.now_ms

    def by_id(self, pair_id: str) -> SpotPair | None:
        return self.pairs.get(pair_id.upper())

    def listed(self) -> list[SpotPair]:
        return sorted(self.pairs.values(), key=lambda p: p.id)

    # ---- reading ----------------------------------------------------------------------------------

    def price(self, pair: SpotPair) -> float | None:
        observed = self._observed.get(pair.id)
        if observed is not None or pair.spot_only:
            return observed
        perp = self.market.catalog.by_symbol(perp_symbol(pair.base, pair.quote))
        return self.market.index(perp) if perp is not None else None

    def top(self, pair: SpotPair) -> Top | None:
        price = self.price(pair)
        if price is None:
            return None
        tick, lot = pair.instrument.tick_size, pair.instrument.lot_step
        spread = self.settings.spread_ticks * tick
        bid = max(tick, round_to_step(price - spread / 2, tick, Rounding.DOWN))
        ask = round_to_step(bid + spread, tick, Rounding.NEAREST)
        size = max(lot, round_to_step(self.settings.level_notional / price, lot))
        return Top(bid, size, ask, size)

    def levels(self, pair: SpotPair) -> tuple[dict[str, str], dict[str, str]]:
        """Bids and asks (price -> size, formatted) behind the best bid/ask, as the contracts' books."""
        top = self.top(pair)
        if top is None:
            return {}, {}
        book = self._books.get(pair.id)
        if book is None:
            s = self.settings
            book = self._books[pair.id] = BookModel(pair.instrument, s.book_levels, float(s.level_spacing_ticks),
                                                    s.level_notional)  # fmt: skip
        sides = []
        for side in (Side.SELL, Side.BUY):  # a taker selling walks the bids, one buying the asks
            walked = book.walk(side, 1e12, top.bid, top.ask, top.bid_size, top.ask_size)
            sides.append({pair.px(p): pair.qty(q) for q, p in walked})
        return sides[0], sides[1]

    def candles(self, pair: SpotPair) -> CandleSeries:
        series = self._candles.get(pair.id)
        if series is None:
            series = self._candles[pair.id] = CandleSeries()
        return series

    # ---- changing ---------------------------------------------------------------------------------

    def on_event(self, event: MarketEvent) -> list[SpotPair]:
        """The pairs one market event moved (after the futures market applied it)."""
        if not isinstance(event, PriceObserved | BookObserved):
            return []
        base, _, rest = event.symbol.partition("/")
        pair = self._by_base.get(base)
        if pair is None:
            return []
        if rest == pair.quote:  # the pair's own print
            price = event.price if isinstance(event, PriceObserved) else event.mid
            self._observed[pair.id] = price
        elif pair.id in self._observed or rest != f"{pair.quote}:{pair.quote}":
            return []  # a contract of the base: it moves the pair only while the pair has no print of its own
        price_now = self.price(pair)
        if price_now is None:
            return []
        self.candles(pair).observe(event.ts, price_now)
        return [pair]
