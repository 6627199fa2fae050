"""A seeded synthetic market: correlated spot prices with calm and stress regimes, perpetual marks, books and
funding, emitted as the same typed events an exchange stream produces.

Prices follow a one-factor model: each asset's log return is beta × (market factor) + its own noise. A hidden
Markov chain switches between CALM (modest vol, slight upward drift) and STRESS (vol × 3, a strong downward
drift, idiosyncratic noise unchanged so correlations go toward 1, and altcoins, with beta > 1, fall harder
than BTC). Perpetual funding is a mean-reverting process whose level depends on the regime.

Each step emits, in this order: spot prices (by symbol), perpetual marks, perpetual books, and, on the first
step of each hour, the perpetuals' funding (settling at the next 00:00/08:00/16:00 UTC).

Every random stream is derived from (seed, purpose, name), so the same spec gives the same events, and adding
an asset or a perpetual does not change the paths of the others.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    BookObserved,
    FundingObserved,
    MarketEvent,
    PriceObserved,
    Symbol,
    base_of,
    spot_symbol,
)
from bot.execution.market_rules import default_instrument
from bot.settings.settlement import inverse_settle

__all__ = ["AssetProfile", "Regime", "SyntheticMarket", "SyntheticSpec", "profile_for"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FUNDING_INTERVAL_HOURS = 8  # settlements at 00:00, 08:00 and 16:00 UTC
_FUNDING_INTERVAL_MS = FUNDING_INTERVAL_HOURS * MS_PER_HOUR
_CHUNK_STEPS = 2_048  # steps generated per numpy batch: vectorised, yet lazy for long or realtime runs
_MAX_FUNDING_RATE = 0.0075  # Binance's cap on most USDⓈ-M perpetuals (per settlement)
_MAX_PREMIUM = 0.01  # mark within 1 % of spot
_STRESS_SPREAD_WIDENING = 3.0  # books are wider and thinner in stress
_STRESS_DEPTH_SHRINK = 3.0

# Purposes of the random streams (part of each stream's seed).
_REGIME_STREAM, _FACTOR_STREAM, _ASSET_STREAM, _PERP_STREAM, _PROFILE_STREAM = range(5)


class Regime(enum.StrEnum):
    CALM = "calm"
    STRESS = "stress"


@dataclass(frozen=True, slots=True)
class AssetProfile:
    """How one base asset behaves: where it starts, how it loads on the market, how its perp book looks."""

    price: float  # starting price in the quote currency
    beta: float  # loading on the market factor (BTC ≈ 1, altcoins > 1)
    idio_vol: float  # daily standard deviation of the asset's own log-return noise
    spread_bps: float  # perpetual bid/ask spread in calm, in basis points of the mark
    top_notional: float  # quote value resting at the best bid (and at the best ask) in calm


_PROFILES: dict[str, AssetProfile] = {
    "BTC": AssetProfile(42_000.0, 1.00, 0.004, 0.5, 2_000_000.0),
    "ETH": AssetProfile(2_300.0, 1.15, 0.010, 1.0, 1_000_000.0),
    "SOL": AssetProfile(100.0, 1.50, 0.022, 2.0, 300_000.0),
    "BNB": AssetProfile(310.0, 1.10, 0.015, 2.0, 250_000.0),
    "XRP": AssetProfile(0.60, 1.30, 0.020, 2.0, 300_000.0),
    "ADA": AssetProfile(0.50, 1.35, 0.020, 3.0, 150_000.0),
    "DOGE": AssetProfile(0.08, 1.60, 0.028, 3.0, 200_000.0),
    "AVAX": AssetProfile(35.0, 1.55, 0.024, 3.0, 120_000.0),
    "LINK": AssetProfile(15.0, 1.40, 0.022, 3.0, 120_000.0),
    "DOT": AssetProfile(7.0, 1.35, 0.020, 3.0, 100_000.0),
    "LTC": AssetProfile(70.0, 1.20, 0.018, 3.0, 100_000.0),
    "MATIC": AssetProfile(0.80, 1.50, 0.024, 3.0, 100_000.0),
}


def _name_key(name: str) -> int:
    """A stable integer from a name (Python's hash() is salted per process, so it cannot seed anything)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def profile_for(base: str) -> AssetProfile:
    """The built-in profile of a well-known asset, or a plausible altcoin profile derived from the name."""
    known = _PROFILES.get(base)
    if known is not None:
        return known
    rng = np.random.default_rng([_PROFILE_STREAM, _name_key(base)])
    return AssetProfile(
        price=float(10.0 ** rng.uniform(-1.5, 2.5)),
        beta=float(rng.uniform(1.2, 1.8)),
        idio_vol=float(rng.uniform(0.02, 0.035)),
        spread_bps=float(rng.uniform(3.0, 8.0)),
        top_notional=float(rng.uniform(50_000.0, 200_000.0)),
    )


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    assets: tuple[str, ...]  # base assets to price, e.g. ("BTC", "ETH", "SOL"); BTC always included
    perpetuals: tuple[Symbol, ...]  # perps to emit mark price, book and funding for ("BTC/USDT:USDT")
    start_ms: int
    end_ms: int  # exclusive
    quote: str = "USDT"
    step_ms: int = 60_000  # one price per asset per step
    seed: int = 7
    # Regimes: a Markov chain in continuous time; episode lengths are exponential with these means.
    calm_duration_ms: int = 7 * MS_PER_DAY
    stress_duration_ms: int = 12 * MS_PER_HOUR
    # The market factor, per day of log return. Calm ≈ 48 %/y vol and a slight upward drift.
    factor_vol: float = 0.025
    calm_drift: float = 0.0015
    stress_drift: float = -0.12  # a stress day loses ~11 % on the factor, more on high-beta altcoins
    stress_vol_multiplier: float = 3.0
    # Idiosyncratic noise is scaled by this in stress; far below stress_vol_multiplier, so correlations rise.
    stress_idio_multiplier: float = 1.0
    # Funding per settlement: mean-reverting (per hour) toward a regime-dependent level.
    funding_calm: float = 0.0001
    funding_stress: float = -0.0003
    funding_reversion_per_hour: float = 0.15
    funding_vol_calm: float = 0.00002  # hourly shock size
    funding_vol_stress: float = 0.0002

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be zero or positive, not {self.seed!r}")
        if self.end_ms <= self.start_ms:
            raise ValueError(f"end_ms ({self.end_ms}) must be after start_ms ({self.start_ms})")
        for name in ("step_ms", "calm_duration_ms", "stress_duration_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")
        for base in self.assets:
            if not base or "/" in base or ":" in base or base == self.quote:
                raise ValueError(f"assets: {base!r} is not a base asset name like 'ETH'")
        for perp in self.perpetuals:
            base = base_of(perp)
            inverse = perp == f"{base}/USD:{base}"  # coin-margined: marked at the spot's USD(T) price
            if (perp != f"{base}/{self.quote}:{self.quote}" and not inverse) or not base:
                example = f"BTC/{self.quote}:{self.quote}"
                raise ValueError(f"perpetuals: {perp!r} is not a {self.quote} perpetual like {example!r}")

    @property
    def priced_assets(self) -> tuple[str, ...]:
        """Every base with a spot price: the assets, BTC, and the base of each perpetual, by spot symbol."""
        bases = {*self.assets, "BTC", *(base_of(p) for p in self.perpetuals)}
        return tuple(sorted(bases, key=lambda base: spot_symbol(base, self.quote)))


@dataclass(slots=True)
class _Walk:
    """Where the random walks stand between chunks: explicit state, so chunks join seamlessly."""

    log_prices: FloatArray
    funding: FloatArray  # current rate per perpetual
    last_hour: int  # the hour (ts // 1h) of the previous step; funding is re-drawn when it changes
    first_step: bool = True
    streams: dict[str, np.random.Generator] = field(default_factory=dict)


class SyntheticMarket:
    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec
        self._bases = spec.priced_assets
        self._spot_symbols = tuple(spot_symbol(base, spec.quote) for base in self._bases)
        self._perps = tuple(sorted(spec.perpetuals))
        profiles = [profile_for(base) for base in self._bases]
        self._beta = np.array([p.beta for p in profiles])
        self._idio_vol = np.array([p.idio_vol for p in profiles])
        self._start_price = np.array([p.price for p in profiles])
        perp_profiles = [profile_for(base_of(p)) for p in self._perps]
        self._perp_column = np.array([self._bases.index(base_of(p)) for p in self._perps], dtype=np.intp)
        self._half_spread = np.array([p.spread_bps / 2e4 for p in perp_profiles])
        self._top_notional = np.array([p.top_notional for p in perp_profiles])
        # book sizes in contracts: a linear contract is one coin (notional / mark), an inverse one its USD face
        faces = [default_instrument(p).contract_size if inverse_settle(p) else math.nan for p in self._perps]
        self._face = np.array(faces)
        self._switches = self._regime_switches()

    def regime_at(self, ts: int) -> Regime:
        """The regime in force at `ts`, for ts in [start_ms, end_ms) (CALM before the start)."""
        switched = int(np.searchsorted(self._switches, ts, side="right"))
        return Regime.STRESS if switched % 2 else Regime.CALM

    def events(self) -> Iterator[MarketEvent]:
        """The whole market, step by step, in time order; a fresh, identical stream on every call."""
        spec = self.spec
        walk = self._new_walk()
        steps = range(spec.start_ms, spec.end_ms, spec.step_ms)
        for first in range(0, len(steps), _CHUNK_STEPS):
            ts = np.array(steps[first : first + _CHUNK_STEPS], dtype=np.int64)
            yield from self._chunk_events(ts, walk)

    # ---- regimes ---------------------------------------------------------------------------------

    def _regime_switches(self) -> npt.NDArray[np.int64]:
        """Times (on the step grid) at which the regime flips; it starts CALM at start_ms."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, _REGIME_STREAM])
        switches: list[int] = []
        now, stressed = spec.start_ms, False
        while now < spec.end_ms:
            mean = spec.stress_duration_ms if stressed else spec.calm_duration_ms
            now += max(1, math.ceil(rng.exponential(mean) / spec.step_ms)) * spec.step_ms
            switches.append(now)
            stressed = not stressed
        return np.array(switches, dtype=np.int64)

    def _stressed(self, ts: npt.NDArray[np.int64]) -> BoolArray:
        flips: npt.NDArray[np.intp] = np.searchsorted(self._switches, ts, side="right")
        return (flips % 2).astype(np.bool_)

    # ---- random walks ----------------------------------------------------------------------------

    def _new_walk(self) -> _Walk:
        seed = self.spec.seed
        streams = {"factor": np.random.default_rng([seed, _FACTOR_STREAM])}
        for base in self._bases:
            streams[base] = np.random.default_rng([seed, _ASSET_STREAM, _name_key(base)])
        for perp in self._perps:
            streams[perp] = np.random.default_rng([seed, _PERP_STREAM, _name_key(perp)])
        funding = np.full(len(self._perps), self.spec.funding_calm)
        return _Walk(np.log(self._start_price), funding, last_hour=-1, streams=streams)

    def _spot_prices(self, stressed: BoolArray, walk: _Walk) -> FloatArray:
        """(steps × assets) prices: beta × factor + idiosyncratic noise, as log returns, compounded."""
        spec = self.spec
        days = spec.step_ms / MS_PER_DAY
        drift = np.where(stressed, spec.stress_drift, spec.calm_drift) * days
        factor_sd = spec.factor_vol * math.sqrt(days) * np.where(stressed, spec.stress_vol_multiplier, 1.0)
        factor = drift + factor_sd * walk.streams["factor"].standard_normal(stressed.size)
        idio_scale = math.sqrt(days) * np.where(stressed, spec.stress_idio_multiplier, 1.0)
        noise = np.column_stack([walk.streams[base].standard_normal(stressed.size) for base in self._bases])
        returns = np.outer(factor, self._beta) + noise * np.outer(idio_scale, self._idio_vol)
        if walk.first_step:  # the first step shows the profile's starting prices
            returns[0] = 0.0
            walk.first_step = False
        log_prices = walk.log_prices + np.cumsum(returns, axis=0)
        walk.log_prices = log_prices[-1]
        return np.exp(log_prices)

    def _funding_rates(
        self, ts: npt.NDArray[np.int64], stressed: BoolArray, walk: _Walk
    ) -> tuple[FloatArray, BoolArray]:
        """(steps × perps) current funding rate, and which steps open a new hour (and so publish it)."""
        spec = self.spec
        hours = ts // MS_PER_HOUR
        new_hour = hours != np.concatenate(([walk.last_hour], hours[:-1]))
        walk.last_hour = int(hours[-1])
        shocks = np.column_stack([walk.streams[p].standard_normal(int(new_hour.sum())) for p in self._perps])
        rates = np.empty((ts.size, len(self._perps)))
        rate, shock_row = walk.funding, 0
        for step in range(ts.size):  # sequential by nature (mean reversion), but only once per hour
            if new_hour[step]:
                level, vol = (
                    (spec.funding_stress, spec.funding_vol_stress)
                    if stressed[step]
                    else (spec.funding_calm, spec.funding_vol_calm)
                )
                rate = rate + spec.funding_reversion_per_hour * (level - rate) + vol * shocks[shock_row]
                rate = np.clip(rate, -_MAX_FUNDING_RATE, _MAX_FUNDING_RATE)
                shock_row += 1
            rates[step] = rate
        walk.funding = rate
        return rates, new_hour

    def _books(
        self, marks: FloatArray, stressed: BoolArray, walk: _Walk
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Best bid, bid size, best ask, ask size (steps × perps) around the marks."""
        widen = np.where(stressed, _STRESS_SPREAD_WIDENING, 1.0)[:, None]
        thin = np.where(stressed, _STRESS_DEPTH_SHRINK, 1.0)[:, None]
        half = self._half_spread[None, :] * widen
        per_contract = np.where(np.isnan(self._face)[None, :], marks, self._face[None, :])
        depth = self._top_notional[None, :] / thin / per_contract
        # Lognormal jitter with mean 1 on each side's size, from each perp's own stream.
        jitter = np.stack(
            [walk.streams[p].lognormal(-0.125, 0.5, size=(marks.shape[0], 2)) for p in self._perps], axis=1
        )
        return marks * (1 - half), depth * jitter[:, :, 0], marks * (1 + half), depth * jitter[:, :, 1]

    # ---- events ----------------------------------------------------------------------------------

    def _chunk_events(self, ts: npt.NDArray[np.int64], walk: _Walk) -> Iterator[MarketEvent]:
        stressed = self._stressed(ts)
        spots = self._spot_prices(stressed, walk)
        if not self._perps:
            for t, row in zip(ts.tolist(), spots.tolist(), strict=True):
                for symbol, price in zip(self._spot_symbols, row, strict=True):
                    yield PriceObserved(t, symbol, price)
            return
        rates, publishes = self._funding_rates(ts, stressed, walk)
        noise = np.column_stack([walk.streams[p].standard_normal(ts.size) for p in self._perps])
        premium = np.clip(rates + 0.0001 * noise, -_MAX_PREMIUM, _MAX_PREMIUM)
        marks = spots[:, self._perp_column] * (1 + premium)
        bids, bid_sizes, asks, ask_sizes = self._books(marks, stressed, walk)
        next_funding = (ts // _FUNDING_INTERVAL_MS + 1) * _FUNDING_INTERVAL_MS
        rows = zip(
            ts.tolist(),
            spots.tolist(),
            marks.tolist(),
            bids.tolist(),
            bid_sizes.tolist(),
            asks.tolist(),
            ask_sizes.tolist(),
            rates.tolist(),
            publishes.tolist(),
            next_funding.tolist(),
            strict=True,
        )
        spot_symbols, perps, hours = self._spot_symbols, self._perps, float(FUNDING_INTERVAL_HOURS)
        for t, spot, mark, bid, bid_size, ask, ask_size, rate, publish, settles in rows:
            for symbol, price in zip(spot_symbols, spot, strict=True):
                yield PriceObserved(t, symbol, price)
            for symbol, price in zip(perps, mark, strict=True):
                yield PriceObserved(t, symbol, price)
            for symbol, b, bs, a, az in zip(perps, bid, bid_size, ask, ask_size, strict=True):
                yield BookObserved(t, symbol, b, bs, a, az)
            if publish:
                for symbol, r in zip(perps, rate, strict=True):
                    yield FundingObserved(t, symbol, r, settles, hours)
