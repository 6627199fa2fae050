"""Builds the three worlds from a config: which feed, which venue, which clock. The only place that chooses.

Live and paper-on-exchange runs (`[market] source = "exchange"`) are opened by `bot.live.exchange_plan`, which
alone loads ccxt: a backtest or a paper run on a built-in market never does.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import Clock, EventClock, WallClock
from bot.config import Config, ConfigError, day_ms
from bot.domain import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MarketEvent,
    Symbol,
    base_of,
    parse_duration_ms,
    spot_symbol,
)
from bot.execution.legs import reference_symbols
from bot.execution.venue import Venue
from bot.execution.venue_choice import VenueQuote, choose_venue
from bot.execution.venue_routes import VenueRoutes
from bot.feeds.dated_prices import with_dated_prices
from bot.feeds.synthetic import SyntheticMarket, SyntheticSpec
from bot.feeds.synthetic_history import synthetic_history
from bot.feeds.warmup import split_history
from bot.live.daemon import Daemon
from bot.live.ports import HumanLine
from bot.logs import get_logger
from bot.settings.venues import DEFAULT_VENUE
from bot.store.journal import Journal
from bot.venues.paper import PaperSettings, PaperVenue
from bot.venues.venue_set import VenueSet

if TYPE_CHECKING:  # the replay's reader loads pandas (~0.5 s of CPU): a live or paper daemon never needs it
    from bot.feeds.replay import Replay, ReplaySpec


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will consume: the events, when trading starts, and the clock to read."""

    events: Iterable[MarketEvent]
    trading_from_ms: int
    clock: Clock
    warmup: tuple[MarketEvent, ...] = ()  # history fed to the engine before `events` (realtime synthetic)


def spot_symbols(config: Config) -> tuple[Symbol, ...]:
    quote = config.portfolio.quote
    bases = [*config.portfolio.holdings, *config.portfolio.holdings_value, *config.portfolio.locked]
    if config.settlement_currency != quote:  # a coin-margined hedge account: its coin is held, and valued
        bases.append(config.settlement_currency)
    return tuple(dict.fromkeys(spot_symbol(base, quote) for base in bases))


def perpetuals(config: Config) -> tuple[Symbol, ...]:
    """The perpetuals the market must price: each hedge leg's reference (dated legs are priced from it)."""
    return reference_symbols(config.hedge.instruments)


def _dated(config: Config, events: Iterable[MarketEvent]) -> Iterable[MarketEvent]:
    """Prices of the dated contracts of the hedge legs, derived from their perpetuals (the data has none)."""
    return with_dated_prices(events, config.hedge.instruments, config.execution.dated_basis_annual)


# Where a fast run's synthetic market begins before its start, whatever the window: the default window and sample
# (so the default run's market is the one it always was); history further back is walked backwards from there.
SYNTHETIC_LEAD_MS = 30 * MS_PER_DAY + MS_PER_HOUR


def warmup_ms(config: Config) -> int:
    """History read before trading starts, so estimators are ready on the first tradable step."""
    return parse_duration_ms(config.hedge.window) + parse_duration_ms(config.hedge.sample)


def synthetic_plan(config: Config, start_ms: int, span_ms: int, realtime: bool, speed: float = 1.0) -> Plan:
    bases = {base_of(s) for s in (*spot_symbols(config), *perpetuals(config))}
    warmup = warmup_ms(config)  # realtime too: its history warms the estimators up at once (bot.feeds.warmup)
    # not the window's: a date's price is the same whatever the window (a realtime market begins at its start,
    # as it always has, and its warm-up is all history walked backwards: quick to make, at one step per sample)
    origin = start_ms if realtime else start_ms - SYNTHETIC_LEAD_MS
    spec = SyntheticSpec(
        assets=tuple(sorted(bases)),
        perpetuals=perpetuals(config),
        start_ms=origin,
        end_ms=start_ms + span_ms,
        quote=config.portfolio.quote,
        step_ms=parse_duration_ms(config.market.step),
        seed=config.bot.seed,
    )
    first, sample_ms = start_ms - warmup, parse_duration_ms(config.hedge.sample)
    older = synthetic_history(spec, origin - first, sample_ms)  # a window reaching before the origin
    market = itertools.dropwhile(lambda event: event.ts < first, SyntheticMarket(spec).events())
    # an accelerated run lives in event time (ahead of the wall clock); only a run at speed 1 is wall time
    clock: Clock = WallClock() if realtime and speed == 1.0 else EventClock(first)
    events = _dated(config, itertools.chain(older, market))
    if realtime:  # the history is not paced: it is fed before the first paced event
        past, rest = split_history(events, start_ms, sample_ms)
        return Plan(rest, start_ms, clock, warmup=past)
    return Plan(events, start_ms, clock)


def replay_plan(config: Config, load: Callable[[ReplaySpec], Replay] | None = None) -> Plan:
    """`load` reads the files (default `load_replay`; a sweep passes one that keeps what its process already read)."""
    from bot.feeds.replay import ReplaySpec, load_replay  # here, not at the top: see TYPE_CHECKING above

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
    replay = (load or load_replay)(spec)
    trading_from = start if start is not None else replay.first_ts + warmup_ms(config)
    if trading_from >= replay.last_ts:
        raise ConfigError(f"the replay ends before trading would start ({market.start or 'after warm-up'})")
    return Plan(_dated(config, replay.events()), trading_from, EventClock(replay.first_ts))


def posted_collateral(config: Config) -> float:
    """The coin of the holdings posted as the coin-margined account's collateral (0.0 when none is)."""
    return sum(config.portfolio.holdings.get(base, 0.0) for base in config.portfolio.posted)


def paper_venue(config: Config, collateral: float | None = None) -> PaperVenue:
    paper = config.paper
    settings = PaperSettings(
        collateral=collateral or posted_collateral(config) or paper.collateral,
        currency=config.settlement_currency,  # the quote, or the coin of inverse legs
        leverage=paper.leverage,
        taker_fee_bps=paper.taker_fee_bps,
        maker_fee_bps=paper.maker_fee_bps,
        slippage_bps=paper.slippage_bps,
        impact_bps_per_10k=paper.impact_bps_per_10k,
        maintenance_margin_rate=paper.maintenance_margin_rate,
        reserve=config.risk.reserve.amount,  # the wallet top-ups draw on (bot.venues.paper_reserve)
    )
    return PaperVenue(settings)


def paper_venues(config: Config, clock: Clock) -> VenueSet:
    """`[venues]` in paper: a paper venue per id (a `[venues.<id>] collateral` of its own, else `[paper]`'s), routed
    by instrument as live is, so backtests and paper runs trade the same split."""
    members: dict[str, Venue] = {DEFAULT_VENUE: paper_venue(config)}
    members.update({venue_id: paper_venue(config, entry.collateral) for venue_id, entry in config.venues.items()})
    venues = VenueSet(members, VenueRoutes(config.hedge.instruments, config.venue_routes()), clock.now_ms)
    # candidates: the paper accounts charge alike, so an instrument listed on several stays on the default venue
    quotes = {s: [VenueQuote(i, None, None, None) for i in ids] for s, ids in config.venue_candidates().items()}
    venues.choices = tuple(choose_venue(symbol, listed) for symbol, listed in quotes.items())
    return venues


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


def durable(venue: PaperVenue, journal: Journal) -> PaperVenue:
    """The paper venue continuing the account the journal holds (a restart after a stop or a kill -9), and
    journaling its state from now on with every change (bot/venues/paper.py): positions, balances, open orders
    and ids go on where they stopped, so reconciliation adopts nothing and no trade id is used twice. A journal
    with no paper account yet (a new one, or one from before schema v6) starts the account from the config."""
    state = journal.paper_account()
    if state is not None:
        venue.restore(state)
        account = venue.account
        get_logger(component="paper").warning(
            "paper_account_restored", positions={p.symbol: p.qty for p in account.positions()},
            wallet_balance=account.wallet_balance, trade_seq=state["account"]["trade_seq"], since=state["ts"],
        )  # fmt: skip
    venue.durable = True
    return venue


def build_daemon(
    config: Config, plan: Plan, journal: Journal, human: HumanLine | None = None, *, durable_account: bool = False
) -> Daemon:
    """The daemon of a run on a synthetic or replayed market; `durable_account` (a realtime paper run, whose
    journal outlives it) keeps the paper account in the journal and continues the one found there."""
    venue: Venue
    if config.venues:  # hedge legs on several venues: one paper account each (not kept across restarts yet)
        venue = paper_venues(config, plan.clock)
    else:
        venue = durable(paper_venue(config), journal) if durable_account else paper_venue(config)
    return Daemon(config, venue, journal, plan.clock, trading_from_ms=plan.trading_from_ms, human=human)


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
