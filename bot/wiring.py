"""Builds the three worlds from a config: which feed, which venue, which clock. The only place that chooses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

from bot.clock import Clock, EventClock, WallClock
from bot.config import Config, ConfigError, day_ms
from bot.daemon import Daemon, HumanLine
from bot.domain import MarketEvent, Symbol, base_of, parse_duration_ms, spot_symbol
from bot.feeds.replay import ReplaySpec, load_replay
from bot.feeds.synthetic import SyntheticMarket, SyntheticSpec
from bot.store.journal import Journal
from bot.venues.paper import PaperSettings, PaperVenue


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will consume: the events, when trading starts, and the clock to read."""

    events: Iterable[MarketEvent]
    trading_from_ms: int
    clock: Clock


def spot_symbols(config: Config) -> tuple[Symbol, ...]:
    quote = config.portfolio.quote
    bases = [*config.portfolio.holdings, *config.portfolio.holdings_value, *config.portfolio.locked]
    return tuple(dict.fromkeys(spot_symbol(base, quote) for base in bases))


def perpetuals(config: Config) -> tuple[Symbol, ...]:
    return tuple(Symbol(s) for s in config.hedge.instruments)


def warmup_ms(config: Config) -> int:
    """History read before trading starts, so estimators are ready on the first tradable step."""
    return parse_duration_ms(config.hedge.window) + parse_duration_ms(config.hedge.sample)


def synthetic_plan(config: Config, start_ms: int, span_ms: int, realtime: bool, speed: float = 1.0) -> Plan:
    bases = {base_of(s) for s in (*spot_symbols(config), *perpetuals(config))}
    warmup = 0 if realtime else warmup_ms(config)
    spec = SyntheticSpec(
        assets=tuple(sorted(bases)),
        perpetuals=perpetuals(config),
        start_ms=start_ms - warmup,
        end_ms=start_ms + span_ms,
        quote=config.portfolio.quote,
        step_ms=parse_duration_ms(config.market.step),
        seed=config.bot.seed,
    )
    # an accelerated run lives in event time (ahead of the wall clock); only a run at speed 1 is wall time
    clock: Clock = WallClock() if realtime and speed == 1.0 else EventClock(spec.start_ms)
    return Plan(SyntheticMarket(spec).events(), start_ms, clock)


def replay_plan(config: Config) -> Plan:
    market = config.market
    if market.prices is None:
        raise ConfigError("market.prices: a replay needs a CSV of spot candles")
    start = day_ms(market.start) if market.start else None
    spec = ReplaySpec(
        prices=market.prices,
        funding=market.funding,
        perp=market.perp,
        spot_symbols=spot_symbols(config),
        perpetuals=perpetuals(config),
        start_ms=start - warmup_ms(config) if start is not None else None,
        end_ms=day_ms(market.end) if market.end else None,
        quote=config.portfolio.quote,
    )
    replay = load_replay(spec)
    trading_from = start if start is not None else replay.first_ts + warmup_ms(config)
    if trading_from >= replay.last_ts:
        raise ConfigError(f"the replay ends before trading would start ({market.start or 'after warm-up'})")
    return Plan(replay.events(), trading_from, EventClock(replay.first_ts))


def paper_venue(config: Config) -> PaperVenue:
    paper = config.paper
    settings = PaperSettings(
        collateral=paper.collateral,
        currency=config.portfolio.quote,
        leverage=paper.leverage,
        taker_fee_bps=paper.taker_fee_bps,
        maker_fee_bps=paper.maker_fee_bps,
        slippage_bps=paper.slippage_bps,
        impact_bps_per_10k=paper.impact_bps_per_10k,
        maintenance_margin_rate=paper.maintenance_margin_rate,
    )
    return PaperVenue(settings)


def journal_for(config: Config, *, durable: bool, name: str = "journal.sqlite", fresh: bool = False) -> Journal:
    """The journal in the state directory; backtests use their own file and skip the fsync.

    `fresh` starts a new journal (a simulated run restarts its simulated account and its deterministic ids),
    keeping the previous one as `<name>.prev`; backtests always start empty.
    """
    path = config.path_in_state(name)
    if not durable:
        path.unlink(missing_ok=True)
    elif fresh and path.exists():
        for suffix in ("", "-wal", "-shm"):
            old = path.with_name(path.name + suffix)
            if old.exists():
                old.replace(path.with_name(f"{path.name}.prev{suffix}"))
    return Journal(path, durable=durable)


def build_daemon(config: Config, plan: Plan, journal: Journal, human: HumanLine | None = None) -> Daemon:
    return Daemon(config, paper_venue(config), journal, plan.clock, trading_from_ms=plan.trading_from_ms, human=human)


async def as_fast_as_possible(events: Iterable[MarketEvent]) -> AsyncIterator[MarketEvent]:
    for count, event in enumerate(events):
        yield event
        if count % 4096 == 0:
            await asyncio.sleep(0)  # let signal handlers and the control API run during long replays


async def paced(events: Iterator[MarketEvent] | Iterable[MarketEvent], speed: float) -> AsyncIterator[MarketEvent]:
    """Events released when the wall clock reaches their (scaled) time: realtime paper trading."""
    origin_wall: float | None = None
    origin_ts = 0
    for event in events:
        if origin_wall is None:
            origin_wall, origin_ts = time.monotonic(), event.ts
        due = origin_wall + (event.ts - origin_ts) / 1000 / speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield event
