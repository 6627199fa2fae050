"""Binance COIN-M (coin-margined, inverse) futures in the simulator: one engine per margin coin. Pure.

Binance keeps a separate wallet per margin coin (BTCUSD_PERP margins in BTC, ETHUSD_PERP in ETH), so each coin
gets its own `CoinmExchange`: the USDⓈ-M engine (`SimExchange`: orders, matching, funding schedule, delivery,
user-stream events) over a catalog of that coin's inverse perpetual and quarterlies (priced as USDⓈ-M's: the
perpetual plus a basis, market.py) and a bracketed account in the coin (`BracketMargin`
gives inverse instruments COIN-M's tables and liquidation price). Contract maths are `Instrument`'s (quantity
in contracts of a USD face value, values in the coin); brackets, maintenance and the
liquidation price are bot/risk/inverse.py's (Binance's COIN-M FAQ), not a second copy.

`CoinmDesk` holds the engines, feeds them the market (a spot "BTC/USDT" price is the COIN-M index of BTC: the
shared data has no USD pairs) and finds the engine of a request's symbol.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from bot.domain import BookObserved, Instrument, MarketEvent, PriceObserved, Symbol
from bot.exchange_sim.catalog import Catalog, Contract, exchange_id
from bot.exchange_sim.conditional_orders import ConditionalOrders
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.margin import BracketedAccount
from bot.exchange_sim.market import MarketState
from bot.exchange_sim.payloads import Json
from bot.exchange_sim.public_market import PublicMarket
from bot.exchange_sim.settings import SimSettings
from bot.execution import roll_plan

COINM_QUOTE = "USD"
_ORDER_ID_SPACING = 100_000_000  # each coin's engine numbers its orders in its own range: ids stay unique
_ALGO_ID_OFFSET = _ORDER_ID_SPACING // 2  # and its conditional (algo) orders in the upper half of that range


def coinm_id(base: str) -> str:
    """Binance's COIN-M perpetual id: BTCUSD_PERP."""
    return f"{base}{COINM_QUOTE}_PERP"


def coinm_symbol(base: str) -> Symbol:
    """ccxt's symbol of the COIN-M perpetual: BTC/USD:BTC."""
    return Symbol(f"{base}/{COINM_QUOTE}:{base}")


class CoinmCatalog(Catalog):
    """One coin's inverse perpetual and, with quarterlies on, its current and next quarterly: the USDⓈ-M catalog
    (listing, delivery, contract types) under COIN-M's ids (BTCUSD_PERP, BTCUSD_260327) and ccxt's inverse
    symbols (BTC/USD:BTC, BTC/USD:BTC-260327)."""

    def __init__(self, base: str, quarterlies: bool, now_ms: int) -> None:
        super().__init__((base,), COINM_QUOTE, quarterlies, now_ms)

    def perp_symbol(self, base: str) -> Symbol:
        return coinm_symbol(base)

    def dated_symbol(self, base: str, delivery_ms: int) -> Symbol:
        return roll_plan.dated_symbol(coinm_symbol(base), delivery_ms)

    def exchange_id(self, instrument: Instrument) -> str:
        if instrument.expiry_ms is None:
            return coinm_id(instrument.base)
        return exchange_id(instrument)  # BTCUSD_260327, as USDⓈ-M's BTCUSDT_260327


class CoinmExchange(SimExchange):
    """The USDⓈ-M engine over one coin's inverse perpetual and that coin's wallet."""

    def __init__(self, settings: SimSettings, base: str, start_ms: int, first_order_id: int) -> None:
        coin_settings = dataclasses.replace(
            settings, quote=COINM_QUOTE, bases=(base,), collateral=settings.coinm_collateral
        )
        super().__init__(coin_settings, start_ms)
        # the parent built a USDⓈ-M catalog; everything made from it is made again from the COIN-M one
        self.catalog = CoinmCatalog(base, coin_settings.quarterlies, start_ms)
        self.market = MarketState(self.catalog, coin_settings, start_ms)
        instruments = [c.instrument for c in self.catalog.all()]
        # the bracket margin takes COIN-M's tables (in the coin) and liquidation price for inverse instruments
        self.account = BracketedAccount(base, coin_settings.collateral, instruments, coin_settings.leverage)
        self.public = PublicMarket(self.market, coin_settings)
        self.algos = ConditionalOrders(self.catalog, first_order_id + _ALGO_ID_OFFSET)
        self._next_order_id = first_order_id
        self.coin = base


class CoinmDesk:
    """Every COIN-M engine, by coin, and the market events they share."""

    def __init__(self, settings: SimSettings, start_ms: int) -> None:
        self.engines = {
            base: CoinmExchange(settings, base, start_ms, (n + 1) * _ORDER_ID_SPACING + 1)
            for n, base in enumerate(settings.coinm_bases)
        }

    def __iter__(self) -> Iterator[CoinmExchange]:
        return iter(self.engines.values())

    def contracts(self) -> list[Contract]:
        return [c for engine in self for c in engine.catalog.all()]

    def engine_of(self, symbol_id: str) -> CoinmExchange | None:
        for engine in self:
            if engine.catalog.by_id(symbol_id) is not None:
                return engine
        return None

    def on_event(self, event: MarketEvent) -> None:
        """Apply one market event to every engine; a spot price in USDT is read as the coin's USD index."""
        translated = _as_usd_index(event)
        for engine in self:
            engine.on_event(translated)

    def drain_user_events(self) -> list[Json]:
        return [e for engine in self for e in engine.drain_user_events()]

    def now_ms(self) -> int:
        return max((engine.now_ms for engine in self), default=0)


def _as_usd_index(event: MarketEvent) -> MarketEvent:
    if not isinstance(event, PriceObserved | BookObserved):
        return event
    base, _, quote = str(event.symbol).partition("/")
    if quote != "USDT":  # a contract, or another quote
        return event
    return dataclasses.replace(event, symbol=Symbol(f"{base}/{COINM_QUOTE}"))
