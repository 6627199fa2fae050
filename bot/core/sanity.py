"""Market-data sanity: a price print that jumps implausibly is quarantined until what follows confirms it. Pure.

The same filter runs in live, paper and backtest: the engine screens every `PriceObserved` here before its prices,
estimators or the paper venue see it (`Engine.on_market`; settings in `bot.settings.sanity`). Per series it keeps
the last accepted price and the recent log returns between accepted prints. A print is implausible when

- it is more than `max_factor` times, or less than 1 / `max_factor` of, the last accepted price, whatever the
  volatility; or
- its log move from the last accepted price is beyond `min_move` *and* beyond `max_sigmas` robust standard
  deviations of the series' own recent returns (1.4826 × the median absolute return per √minute, scaled to the
  time since that price, between 1 minute and 1 day), once the series has 10 such returns; or
- it is more than `reference_band` (log) away from a fresh print (within `reference_age`) of its reference: a
  perpetual's spot pair ("ETH/USDT:USDT" ↔ "ETH/USDT"; live, the spot price is the perpetual's index), and back.

An implausible print is held, not passed on. It is confirmed, and the new level accepted, when `confirmations`
later prints of the series carry on from it (each implausible from the last accepted price but plausible from the
latest held one, by the same test: a real crash keeps printing at its new level), or at once when the reference has
moved there too (spot and perpetual falling together). A plausible print of the
old level discards what was held: the print was a lie. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from bot.domain import MarketEvent, PriceObserved, Symbol, parse_duration_ms
from bot.settings.sanity import MIN_RETURNS, SanitySection

MS_PER_MINUTE = 60_000
SAME_INSTANT_MS = 1_000  # a spot and a perpetual print this close are of the same instant
MAX_SCALED_MINUTES = 1_440.0  # a gap longer than a day widens the limit no further
ROBUST_SIGMA = 1.4826  # median absolute deviation → standard deviation, for normal returns


def reference_of(symbol: Symbol) -> Symbol | None:
    """The other source of the same price: a perpetual's spot pair, a spot pair's perpetual; None for a dated
    contract (its basis moves it away from spot by design)."""
    pair, colon, settle = symbol.partition(":")
    if not colon:
        quote = pair.partition("/")[2]
        return Symbol(f"{pair}:{quote}") if quote else None
    return Symbol(pair) if settle and "-" not in settle else None


@dataclass(frozen=True, slots=True)
class PriceQuarantined:
    """A print held back: it is not used until what follows confirms it."""

    ts: int
    symbol: Symbol
    price: float
    last_price: float | None  # the last accepted price of the series (None: its first print)
    reason: str


@dataclass(frozen=True, slots=True)
class PriceConfirmed:
    """A held level confirmed by what followed (`by`: "prints" or "reference"); the series continues from it."""

    ts: int
    symbol: Symbol
    price: float
    held: int  # prints that were held at this level
    by: str


@dataclass(frozen=True, slots=True)
class PriceDiscarded:
    """Held prints dropped: the series came back to where it was, so they were bad prints."""

    ts: int
    symbol: Symbol
    price: float  # the first held print
    held: int


Note = PriceQuarantined | PriceConfirmed | PriceDiscarded


@dataclass(frozen=True, slots=True)
class Screened:
    """What one market event gives: the events to use now (in order) and what the filter has to say."""

    passed: tuple[MarketEvent, ...]
    notes: tuple[Note, ...] = ()


@dataclass(slots=True)
class SanityStats:
    quarantined: int = 0  # prints held back
    confirmed: int = 0  # held levels confirmed
    discarded: int = 0  # held levels dropped as bad prints


@dataclass(slots=True)
class _Series:
    reference: Symbol | None  # the other source of this price (`reference_of`)
    moves: deque[float]  # |log return| per √minute between accepted prints, the latest `window` of them
    last: float | None = None
    last_ts: int = 0
    held: list[PriceObserved] = field(default_factory=list)  # the quarantined prints of the current level
    basis: float = 0.0  # log(price / reference) at the last accepted print with a fresh reference


class PriceSanity:
    def __init__(self, settings: SanitySection) -> None:
        self.stats = SanityStats()
        self._series: dict[Symbol, _Series] = {}
        self.configure(settings)

    def configure(self, settings: SanitySection) -> None:
        self.settings = settings
        self._enabled = settings.enabled
        self._reference_age_ms = parse_duration_ms(settings.reference_age)
        self._low, self._high = math.exp(-settings.min_move), math.exp(settings.min_move)
        self._max_move = math.log(settings.max_factor)
        for series in self._series.values():
            series.moves = deque(series.moves, maxlen=settings.window)

    def last_accepted(self, symbol: Symbol) -> float | None:
        series = self._series.get(symbol)
        return series.last if series is not None else None

    def held(self, symbol: Symbol) -> tuple[PriceObserved, ...]:
        """The prints of `symbol` held in quarantine now."""
        series = self._series.get(symbol)
        return tuple(series.held) if series is not None else ()

    def screen(self, event: MarketEvent) -> Screened:
        """The events to pass on for `event`: a price print only once it is plausible or confirmed."""
        if not self._enabled or not isinstance(event, PriceObserved):
            return Screened((event,))
        series = self._series.get(event.symbol)
        if series is None:
            series = self._series[event.symbol] = _Series(
                reference_of(event.symbol), deque(maxlen=self.settings.window)
            )
        reference = self._fresh_reference(series, event.ts)
        reason = self._implausible(series, event, reference)
        if reason is None:
            notes: tuple[Note, ...] = ()
            if series.held:
                self.stats.discarded += 1
                notes = (PriceDiscarded(event.ts, event.symbol, series.held[0].price, len(series.held)),)
                series.held = []
            self._accept(series, event, reference)
            return Screened((event,), notes)
        return self._hold_or_confirm(series, event, reason)

    # ---- judging ----------------------------------------------------------------------------------

    def _implausible(self, series: _Series, event: PriceObserved, reference: _Series | None) -> str | None:
        """Why `event` cannot be taken as it is, or None. A fresh reference that agrees with the print confirms a
        big move (spot and perpetual moved together); one that disagrees makes even a small move implausible."""
        if reference is not None and reference.last is not None:
            gap = math.log(event.price / reference.last)
            if abs(gap - series.basis) <= self.settings.reference_band:
                return None
            return (
                f"is {math.expm1(gap):+.1%} away from {series.reference} at {reference.last:g}, which was"
                f" {math.expm1(series.basis):+.1%} (reference_band {self.settings.reference_band:g})"
            )
        if series.last is None or self._low <= event.price / series.last <= self._high:
            return None  # within min_move: plausible whatever the volatility (the common case, without a log)
        return self._beyond_own_volatility(series, event, series.last, series.last_ts)

    def _beyond_own_volatility(self, series: _Series, event: PriceObserved, since: float, since_ts: int) -> str | None:
        """Why the move from `since` (at `since_ts`) to `event` is too big for the series, or None."""
        settings = self.settings
        move = math.log(event.price / since)
        if abs(move) <= settings.min_move:
            return None
        minutes = min(max((event.ts - since_ts) / MS_PER_MINUTE, 1.0), MAX_SCALED_MINUTES)
        if abs(move) >= self._max_move * (1 - 1e-12):  # ×max_factor or beyond, to the float's last digit
            factor = event.price / since
            return f"is {factor:.4g}× the {since:g} of {minutes:g} min before (max_factor {settings.max_factor:g})"
        scale = self._scale(series)
        limit = max(settings.min_move, settings.max_sigmas * scale * math.sqrt(minutes))
        if len(series.moves) < MIN_RETURNS or abs(move) <= limit:  # too few returns yet: max_factor alone
            return None
        return (
            f"moved {math.expm1(move):+.1%} from {since:g} in {minutes:g} min; the limit is ±{limit:.3f} in log"
            f" ({settings.max_sigmas:g} σ of its recent returns, at least {settings.min_move:g})"
        )

    def _scale(self, series: _Series) -> float:
        """Robust σ of the series' returns per √minute; 0 until it has enough of them (then max_factor alone)."""
        if len(series.moves) < MIN_RETURNS:
            return 0.0
        ordered = sorted(series.moves)
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        return ROBUST_SIGMA * median

    def _fresh_reference(self, series: _Series, ts: int) -> _Series | None:
        """The reference series, when its last accepted print is recent enough to compare with."""
        reference = self._series.get(series.reference) if series.reference is not None else None
        if reference is None or reference.last is None or abs(ts - reference.last_ts) > self._reference_age_ms:
            return None
        return reference

    # ---- holding and confirming ----------------------------------------------------------------------

    def _hold_or_confirm(self, series: _Series, event: PriceObserved, reason: str) -> Screened:
        held = series.held
        if (
            held
            and event.ts > held[-1].ts
            and self._beyond_own_volatility(series, event, held[-1].price, held[-1].ts) is None
        ):
            held.append(event)
            if len(held) > self.settings.confirmations:
                return Screened((event,), (self._confirm(series, event, "prints"),))
            return self._quarantine(series, event, reason)
        partner = self._partner(series, event)
        if partner is not None:
            partner_series, partner_last = partner
            series.held = [event]
            notes = (
                self._confirm(partner_series, partner_last, "reference"),
                self._confirm(series, event, "reference"),
            )
            # the partner's basis was measured against this series' old level: both levels are new now
            partner_series.basis = math.log(partner_last.price / event.price)
            return Screened((partner_last, event), notes)
        series.held = [event]
        return self._quarantine(series, event, reason)

    def _partner(self, series: _Series, event: PriceObserved) -> tuple[_Series, PriceObserved] | None:
        """The reference, when it is held at this very level too: the move is real, both are confirmed."""
        reference = self._series.get(series.reference) if series.reference is not None else None
        if reference is None or not reference.held:
            return None
        latest = reference.held[-1]
        fresh = abs(event.ts - latest.ts) <= self._reference_age_ms
        near = abs(math.log(event.price / latest.price)) <= self.settings.reference_band
        return (reference, latest) if fresh and near else None

    def _quarantine(self, series: _Series, event: PriceObserved, reason: str) -> Screened:
        self.stats.quarantined += 1
        return Screened((), (PriceQuarantined(event.ts, event.symbol, event.price, series.last, reason),))

    def _confirm(self, series: _Series, event: PriceObserved, by: str) -> PriceConfirmed:
        held = len(series.held)
        series.held = []
        self._set_last(series, event, self._fresh_reference(series, event.ts))  # the jump: no sample of volatility
        self.stats.confirmed += 1
        return PriceConfirmed(event.ts, event.symbol, event.price, held, by)

    def _accept(self, series: _Series, event: PriceObserved, reference: _Series | None) -> None:
        last = series.last
        if last is not None and event.ts > series.last_ts:
            minutes = (event.ts - series.last_ts) / MS_PER_MINUTE
            minutes = 1.0 if minutes < 1.0 else MAX_SCALED_MINUTES if minutes > MAX_SCALED_MINUTES else minutes
            series.moves.append(abs(math.log(event.price / last)) / math.sqrt(minutes))
        self._set_last(series, event, reference)

    def _set_last(self, series: _Series, event: PriceObserved, reference: _Series | None) -> None:
        series.last, series.last_ts = event.price, event.ts
        # the basis is measured against the reference's print of the same instant only: against its previous one
        # it would take a minute's move for a basis, and the next ordinary print would look implausible
        same_instant = reference is not None and abs(reference.last_ts - event.ts) <= SAME_INSTANT_MS
        if reference is not None and reference.last is not None and same_instant:
            series.basis = math.log(event.price / reference.last)
