"""What every participant sees of a contract: its trade tape, its order book levels and their update ids. Pure.

`SimExchange` tells it of market moves (`on_move`) and of the account's fills (`on_fill`); the REST market
endpoints and the market streams read it.
"""

from __future__ import annotations

from bot.domain import Rounding, Side, round_to_step
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.depth import DepthTracker, Levels
from bot.exchange_sim.market import MarketState
from bot.exchange_sim.payloads import px, qty
from bot.exchange_sim.settings import SimSettings
from bot.exchange_sim.tape import PublicTrade, TradeTape
from bot.venues.simulation.book import BookModel

_PRINT_SIZES = 7  # market prints cycle through 1..7 × a base size, so volumes are not all alike


class PublicMarket:
    def __init__(self, market: MarketState, settings: SimSettings) -> None:
        self.market = market
        self.settings = settings
        self.depth = DepthTracker()
        self._tapes: dict[str, TradeTape] = {}
        self._books: dict[str, BookModel] = {}
        self._printed_at: dict[str, float] = {}  # by contract id: the price of the market's last print

    def tape(self, contract: Contract) -> TradeTape:
        tape = self._tapes.get(contract.id)
        if tape is None:
            tape = self._tapes[contract.id] = TradeTape()
        return tape

    def book_model(self, contract: Contract) -> BookModel:
        model = self._books.get(contract.id)
        if model is None:
            s = self.settings
            model = BookModel(contract.instrument, s.book_levels, float(s.level_spacing_ticks), s.level_notional)
            self._books[contract.id] = model
        return model

    # ---- prints -------------------------------------------------------------------------------------

    def on_move(self, contract: Contract, ts: int) -> PublicTrade | None:
        """The rest of the market trades at the new price: one print when the mark moved by a tick or more."""
        mark = self.market.mark(contract)
        if mark is None:
            return None
        ins = contract.instrument
        price = round_to_step(mark, ins.tick_size, Rounding.NEAREST)
        # compared with the last price the market printed, not the last trade: the account's own fills set the
        # contract price (what CONTRACT_PRICE triggers watch) until the market moves again
        previous = self._printed_at.get(contract.id)
        if previous == price:
            return None
        self._printed_at[contract.id] = price
        tape = self.tape(contract)
        last = tape.last
        base = max(ins.lot_step, round_to_step(self.settings.level_notional / 50 / price, ins.lot_step))
        size = round(base * (1 + (ts // 1000) % _PRINT_SIZES), 12)
        taker_sold = last is not None and price < last.price
        trade = tape.print(ts, price, size, size * price * ins.contract_size, buyer_maker=taker_sold)
        self.market.candles(contract).traded(ts, price, size, trade.quote_qty)
        return trade

    def on_fill(self, contract: Contract, ts: int, price: float, size: float, side: Side, *, maker: bool) -> None:
        """One of the account's fills, as the public sees it: the buyer was maker when we bought as maker."""
        quote = size * price * contract.instrument.contract_size
        self.tape(contract).print(ts, price, size, quote, buyer_maker=(side is Side.BUY) == maker)
        self.market.candles(contract).traded(ts, price, size, quote)

    # ---- the book -----------------------------------------------------------------------------------

    def levels(self, contract: Contract) -> tuple[Levels, Levels]:
        """Bids and asks (price -> size, formatted) as the book model spreads them behind the best bid/ask."""
        top = self.market.top(contract)
        if top is None:
            return {}, {}
        book = self.book_model(contract)
        sides: list[Levels] = []
        for side in (Side.SELL, Side.BUY):  # a taker selling walks the bids, one buying the asks
            walked = book.walk(side, 1e12, top.bid, top.ask, top.bid_size, top.ask_size)
            sides.append({px(contract, p): qty(contract, q) for q, p in walked})
        return sides[0], sides[1]

    def stamp_depth(self, contract: Contract) -> int:
        """Stamp the book's current levels (queuing a diff when they changed); the current update id."""
        bids, asks = self.levels(contract)
        return self.depth.stamp(contract.id, bids, asks, self.market.now_ms)
