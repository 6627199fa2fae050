"""Which contracts the simulator lists, under Binance's ids, and when the quarterlies deliver. Pure.

Per base asset: one perpetual ("BTCUSDT" = "BTC/USDT:USDT") and, with quarterlies on, the two next quarterly
contracts ("BTCUSDT_261225" = "BTC/USDT:USDT-261225"), delivering on the last Friday of March, June,
September and December at 08:00 UTC. The nearest unexpired one is CURRENT_QUARTER, the other NEXT_QUARTER;
when one delivers, the next quarter is listed, so two are always trading. Delivered contracts stay known
(status SETTLING) so their orders and trades can still be queried.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain import Instrument, InstrumentKind, Symbol, perp_symbol
from bot.execution.market_rules import default_instrument

PERPETUAL_DELIVERY_MS = 4_133_404_800_000  # Binance's "never" (2100-12-25) for perpetuals
_DELIVERY_HOUR_UTC = 8
_QUARTER_MONTHS = (3, 6, 9, 12)


def decimals_of(step: float) -> int:
    """0.001 -> 3, 1.0 -> 0: how many decimals a step needs (Binance's *Precision fields)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def last_friday_delivery_ms(year: int, month: int) -> int:
    last_day = calendar.monthrange(year, month)[1]
    day = max(d for d in range(last_day - 6, last_day + 1) if calendar.weekday(year, month, d) == calendar.FRIDAY)
    return int(datetime(year, month, day, _DELIVERY_HOUR_UTC, tzinfo=UTC).timestamp() * 1000)


def quarterly_deliveries_after(now_ms: int, count: int = 2) -> list[int]:
    """The next `count` quarterly delivery times strictly after `now_ms`."""
    year = datetime.fromtimestamp(now_ms / 1000, tz=UTC).year
    found: list[int] = []
    while len(found) < count:
        for month in _QUARTER_MONTHS:
            delivery = last_friday_delivery_ms(year, month)
            if delivery > now_ms and len(found) < count:
                found.append(delivery)
        year += 1
    return found


def dated_symbol(base: str, quote: str, delivery_ms: int) -> Symbol:
    day = datetime.fromtimestamp(delivery_ms / 1000, tz=UTC).strftime("%y%m%d")
    return Symbol(f"{base}/{quote}:{quote}-{day}")


def exchange_id(instrument: Instrument) -> str:
    """Binance's id: BTCUSDT for the perpetual, BTCUSDT_261225 for a dated contract."""
    pair = f"{instrument.base}{instrument.quote}"
    if instrument.kind is InstrumentKind.FUTURE and instrument.expiry_ms is not None:
        return f"{pair}_{datetime.fromtimestamp(instrument.expiry_ms / 1000, tz=UTC):%y%m%d}"
    return pair


@dataclass(frozen=True, slots=True)
class Contract:
    id: str  # Binance symbol id
    instrument: Instrument
    onboard_ms: int

    @property
    def symbol(self) -> Symbol:
        return self.instrument.symbol

    @property
    def pair(self) -> str:
        return f"{self.instrument.base}{self.instrument.quote}"

    @property
    def is_perpetual(self) -> bool:
        return self.instrument.kind is InstrumentKind.PERPETUAL

    @property
    def delivery_ms(self) -> int:
        return self.instrument.expiry_ms if self.instrument.expiry_ms is not None else PERPETUAL_DELIVERY_MS

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.instrument.tick_size)

    @property
    def qty_decimals(self) -> int:
        return decimals_of(self.instrument.lot_step)


class Catalog:
    """The listed contracts; `refresh(now)` lists new quarterlies as time passes deliveries."""

    def __init__(self, bases: tuple[str, ...], quote: str, quarterlies: bool, now_ms: int) -> None:
        self.bases = bases
        self.quote = quote
        self.quarterlies = quarterlies
        self._by_id: dict[str, Contract] = {}
        self._by_symbol: dict[Symbol, Contract] = {}
        self._sorted: list[Contract] = []
        # nothing is delivered or listed before this time (0: list the first quarterlies now)
        self.next_delivery_ms = 0 if quarterlies else PERPETUAL_DELIVERY_MS
        for base in bases:
            self._list(default_instrument(self.perp_symbol(base)), now_ms)
        self.refresh(now_ms)

    # ---- naming: USDⓈ-M's here; a venue with other ids and symbols (COIN-M, coinm.py) overrides these three

    def perp_symbol(self, base: str) -> Symbol:
        return perp_symbol(base, self.quote)

    def dated_symbol(self, base: str, delivery_ms: int) -> Symbol:
        return dated_symbol(base, self.quote, delivery_ms)

    def exchange_id(self, instrument: Instrument) -> str:
        return exchange_id(instrument)

    def _list(self, instrument: Instrument, now_ms: int) -> Contract:
        contract = Contract(self.exchange_id(instrument), instrument, now_ms)
        self._by_id[contract.id] = contract
        self._by_symbol[contract.symbol] = contract
        self._sorted = sorted(self._by_id.values(), key=lambda c: (c.instrument.base, c.delivery_ms))
        return contract

    def refresh(self, now_ms: int) -> list[Contract]:
        """List the quarterlies that should trade at `now_ms`; returns the newly listed ones."""
        if now_ms < self.next_delivery_ms:
            return []
        listed = []
        deliveries = quarterly_deliveries_after(now_ms)
        for delivery in deliveries:
            for base in self.bases:
                symbol = self.dated_symbol(base, delivery)
                if symbol not in self._by_symbol:
                    listed.append(self._list(default_instrument(symbol), now_ms))
        self.next_delivery_ms = deliveries[0]
        return listed

    def by_id(self, symbol_id: str) -> Contract | None:
        return self._by_id.get(symbol_id.upper())

    def by_symbol(self, symbol: Symbol) -> Contract | None:
        return self._by_symbol.get(symbol)

    def all(self) -> list[Contract]:
        """Every contract ever listed, by base then delivery (perpetuals last)."""
        return list(self._sorted)

    def trading(self, now_ms: int) -> list[Contract]:
        return [c for c in self.all() if c.delivery_ms > now_ms]

    def due_for_delivery(self, now_ms: int) -> list[Contract]:
        """Dated contracts whose delivery time has come (the caller settles each once)."""
        return [c for c in self._sorted if not c.is_perpetual and c.delivery_ms <= now_ms]

    def contract_type(self, contract: Contract, now_ms: int) -> str:
        if contract.is_perpetual:
            return "PERPETUAL"
        live = sorted(
            c.delivery_ms
            for c in self._by_id.values()
            if not c.is_perpetual and c.instrument.base == contract.instrument.base and c.delivery_ms > now_ms
        )
        if live and contract.delivery_ms == live[0]:
            return "CURRENT_QUARTER"
        return "NEXT_QUARTER" if contract.delivery_ms > now_ms else "CURRENT_QUARTER"

    def perpetual_of(self, contract: Contract) -> Contract | None:
        return self._by_symbol.get(self.perp_symbol(contract.instrument.base))
