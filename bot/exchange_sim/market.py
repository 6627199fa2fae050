"""Market state of the simulated exchange, driven by `MarketEvent`s: prices, books, funding schedule. Pure.

- A spot `PriceObserved`/`BookObserved` ("BTC/USDT") sets the index price of that base's contracts.
- A contract's own observation ("BTC/USDT:USDT", or a dated symbol) sets its mark (a book's mid counts).
  A perpetual never observed is marked at the index; a dated contract never observed is marked at the
  perpetual plus an annualised basis decaying to zero at delivery (the shared data has no quarterly prices).
- The best bid/ask is the latest `BookObserved` unless a newer price came since; then a book is synthesised
  around the mark (`spread_ticks`, `level_notional` per level).
- Funding: each perpetual has a rate and a next settlement time. A `FundingObserved` whose next settlement is
  not after its own time means "settles now at this rate" (how replays emit history); otherwise it announces
  the rate for the settlement to come. A scheduled settlement falls due when market time moves past it, and
  each settlement time is settled once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    BookObserved,
    FundingObserved,
    MarketEvent,
    PriceObserved,
    Rounding,
    Symbol,
    round_to_step,
)
from bot.exchange_sim.candles import CandleSeries
from bot.exchange_sim.catalog import Catalog, Contract
from bot.exchange_sim.settings import SimSettings

if TYPE_CHECKING:  # the replay's history is handed in by the server; reading files stays out of this module
    from bot.exchange_sim.kline_history import KlineHistory

_MS_PER_YEAR = 365 * MS_PER_DAY
DEFAULT_FUNDING_RATE = 0.0001  # Binance's base rate (interest 0.01 % per 8 h) until a rate is observed


@dataclass(frozen=True, slots=True)
class Top:
    """Best bid and ask with their sizes (contracts)."""

    bid: float
    bid_size: float
    ask: float
    ask_size: float


@dataclass(slots=True)
class FundingState:
    rate: float
    next_ts: int
    interval_ms: int
    history: list[FundingDue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FundingDue:
    """One funding settlement of one perpetual: at `ts`, at `rate`, positions valued at `mark`."""

    contract: Contract
    ts: int
    rate: float
    mark: float


@dataclass(slots=True)
class _Observed:
    price: float
    ts: int
    seq: int


def next_boundary(ts: int, interval_ms: int) -> int:
    """The first multiple of `interval_ms` (from midnight UTC) strictly after `ts`."""
    return ts - ts % interval_ms + interval_ms


class MarketState:
    def __init__(self, catalog: Catalog, settings: SimSettings, now_ms: int) -> None:
        self.catalog = catalog
        self.settings = settings
        self.now_ms = now_ms
        self._seq = 0
        self._index: dict[str, _Observed] = {}  # by base
        self._own: dict[str, _Observed] = {}  # by contract id
        self._books: dict[str, tuple[Top, int]] = {}  # by contract id, with the observation seq
        self._funding: dict[str, FundingState] = {}
        self._candles: dict[str, CandleSeries] = {}
        self.history: KlineHistory | None = None  # klines replayed from the data files (`hedgebot exchange-sim`)
        self.ignored_events = 0  # events for symbols the simulator does not list

    # ---- reading ----------------------------------------------------------------------------------

    def index(self, contract: Contract) -> float | None:
        observed = self._index.get(contract.instrument.base)
        if observed is not None:
            return observed.price
        perp = self.catalog.perpetual_of(contract)
        own = self._own.get(perp.id) if perp is not None else None
        return own.price if own is not None else None

    def mark(self, contract: Contract) -> float | None:
        own = self._own.get(contract.id)
        if own is not None:
            return own.price
        if contract.is_perpetual:
            return self.index(contract)
        perp = self.catalog.perpetual_of(contract)
        base_price = self.mark(perp) if perp is not None else self.index(contract)
        if base_price is None:
            return None
        years = max(0, contract.delivery_ms - self.now_ms) / _MS_PER_YEAR
        return base_price * (1.0 + self.settings.basis_annual * years)

    def top(self, contract: Contract) -> Top | None:
        """The best bid/ask: the latest observed book, or one synthesised around the mark."""
        booked = self._books.get(contract.id)
        own = self._own.get(contract.id)
        if booked is not None and (own is None or booked[1] >= own.seq):
            return booked[0]
        mark = self.mark(contract)
        if mark is None:
            return None
        return self._synthetic_top(contract, mark)

    def _synthetic_top(self, contract: Contract, mark: float) -> Top:
        tick, lot = contract.instrument.tick_size, contract.instrument.lot_step
        spread = self.settings.spread_ticks * tick
        bid = max(tick, round_to_step(mark - spread / 2, tick, Rounding.DOWN))
        ask = round_to_step(bid + spread, tick, Rounding.NEAREST)
        contracts = contract.instrument.contracts_for_notional(self.settings.level_notional, mark)  # inverse too
        size = max(lot, round_to_step(contracts, lot))
        return Top(bid, size, ask, size)

    def funding(self, contract: Contract) -> FundingState | None:
        if not contract.is_perpetual:
            return None
        state = self._funding.get(contract.id)
        if state is None:
            interval = int(self.settings.funding_interval_hours * MS_PER_HOUR)
            state = FundingState(DEFAULT_FUNDING_RATE, next_boundary(self.now_ms, interval), interval)
            self._funding[contract.id] = state
        return state

    def candles(self, contract: Contract) -> CandleSeries:
        series = self._candles.get(contract.id)
        if series is None:
            series = self._candles[contract.id] = CandleSeries()
        return series

    # ---- changing ---------------------------------------------------------------------------------

    def advance_to(self, ts: int) -> list[FundingDue]:
        """Move market time to `ts` (never backwards); the scheduled fundings it passed, in time order."""
        due: list[FundingDue] = []
        for contract in self.catalog.all():
            state = self.funding(contract)
            while state is not None and state.next_ts < ts:
                due.append(self._settle(contract, state, state.next_ts, state.rate))
        self.now_ms = max(self.now_ms, ts)
        return sorted(due, key=lambda d: (d.ts, d.contract.id))

    def _settle(self, contract: Contract, state: FundingState, at: int, rate: float) -> FundingDue:
        mark = self.mark(contract) or 0.0
        settled = FundingDue(contract, at, rate, mark)
        state.history.append(settled)
        state.next_ts = max(state.next_ts, next_boundary(at, state.interval_ms))
        return settled

    def apply(self, event: MarketEvent) -> tuple[list[Contract], list[FundingDue]]:
        """Apply one event (after `advance_to(event.ts)`): the contracts it moved, and fundings it settled."""
        self._seq += 1
        if isinstance(event, FundingObserved):
            return self._apply_funding(event)
        contract = self.catalog.by_symbol(event.symbol)
        price = event.price if isinstance(event, PriceObserved) else event.mid
        if contract is None:
            base, quote = _spot_parts(event.symbol)
            if quote != self.catalog.quote or base not in self.catalog.bases:
                self.ignored_events += 1
                return [], []
            self._index[base] = _Observed(price, event.ts, self._seq)
            moved = [c for c in self.catalog.all() if c.instrument.base == base]
        else:
            self._own[contract.id] = _Observed(price, event.ts, self._seq)
            if isinstance(event, BookObserved):
                top = Top(event.bid, event.bid_size, event.ask, event.ask_size)
                self._books[contract.id] = (top, self._seq)
            moved = [c for c in self.catalog.all() if c.instrument.base == contract.instrument.base]
        for c in moved:
            mark = self.mark(c)
            if mark is not None:
                self.candles(c).observe(event.ts, mark)
        return moved, []

    def _apply_funding(self, event: FundingObserved) -> tuple[list[Contract], list[FundingDue]]:
        contract = self.catalog.by_symbol(event.symbol)
        state = self.funding(contract) if contract is not None else None
        if contract is None or state is None:
            self.ignored_events += 1
            return [], []
        settled: list[FundingDue] = []
        if event.next_funding_ts > event.ts:
            # Announces a later settlement; one falling due right now settles first, at the old rate.
            if state.next_ts <= event.ts and not self._settled_at(state, state.next_ts):
                settled.append(self._settle(contract, state, state.next_ts, state.rate))
            state.next_ts = event.next_funding_ts
        elif not self._settled_at(state, event.next_funding_ts):
            settled.append(self._settle(contract, state, event.next_funding_ts, event.rate))
        state.rate = event.rate
        state.interval_ms = int(event.interval_hours * MS_PER_HOUR)
        return [contract], settled

    @staticmethod
    def _settled_at(state: FundingState, ts: int) -> bool:
        return any(d.ts == ts for d in state.history[-3:])


def _spot_parts(symbol: Symbol) -> tuple[str, str]:
    if ":" in symbol or "/" not in symbol:
        return "", ""
    base, quote = symbol.split("/", 1)
    return base, quote
