"""Live runs and paper runs on an exchange's streams (`[market] source = "exchange"`): the venue (the ccxt venue
with keys, or the paper venue), the exchange's streams, and the price history that warms the estimators up before
trading starts. Kept apart from `bot.live.assembly` so a backtest or a paper run on a built-in market never loads ccxt.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.clock import Clock, WallClock
from bot.config import Config, VenueSection
from bot.domain import (
    MS_PER_MINUTE,
    BadMarketData,
    OrderRequest,
    OrderUpdate,
    PriceObserved,
    Symbol,
    parse_duration_ms,
)
from bot.execution.legs import contracts_for
from bot.execution.venue import Venue
from bot.execution.venue_choice import VenueChoice, VenueQuote, choose_venue
from bot.execution.venue_errors import Fatal, RateLimited, VenueError
from bot.execution.venue_routes import VenueRoutes
from bot.feeds.exchange import ExchangeFeed, FeedSettings
from bot.feeds.spot import PricedFeed, index_priced, spot_clients, warmup_series, with_spot_sources
from bot.feeds.venue_feeds import VenueFeeds
from bot.feeds.volume_poll import volume_poll_s
from bot.live.assembly import durable, paper_venue, paper_venues, perpetuals, warmup_ms
from bot.live.daemon import Daemon
from bot.live.holdings_sync import HoldingsSync
from bot.live.ports import HumanLine
from bot.logs import get_logger
from bot.settings.venues import DEFAULT_VENUE
from bot.store.journal import Journal
from bot.venues.ccxt_client import CcxtRest, make_client, read_api_keys, read_api_password
from bot.venues.ccxt_errors import Backoff
from bot.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings, with_markets_loaded
from bot.venues.dead_man import DeadManSettings
from bot.venues.paper import PaperVenue
from bot.venues.venue_set import VenueSet

_CANDLES_PAGE = 1_000  # candles per request (Binance serves up to 1,500)
_MARK_CANDLES = {"price": "mark"}  # the price the live feed uses for contracts (ccxt: Binance, Bybit, OKX)


@dataclass(frozen=True, slots=True)
class LiveTuning:
    """How the connection to the exchange behaves, beyond what an operator configures (tests shorten it)."""

    ccxt_overrides: Mapping[str, Any] = field(default_factory=dict)  # ccxt settings: timeout, rate limiting
    backoff: Backoff = field(default_factory=Backoff)  # stream reconnects, query retries, rate-limited creates
    stall_timeout_s: float | None = 30.0  # a market stream silent this long re-syncs by REST
    max_rate_limit_wait_s: float = 10.0  # a create rate-limited for longer is rejected (the next clip retries)
    rate_limit_attempts: int = 3


@dataclass(frozen=True, slots=True)
class LivePlan:
    """A run on the exchange's streams: history to warm up on, the feed (which never ends by itself), the venue."""

    warmup: tuple[PriceObserved, ...]
    # PricedFeed: holdings priced from spot markets too (bot/feeds/spot.py); VenueFeeds: legs on several venues
    feed: ExchangeFeed | VenueFeeds | PricedFeed
    venue: Venue
    trading_from_ms: int
    clock: Clock

    async def close(self) -> None:
        """Stop the streams and close the venue (closing twice is harmless)."""
        await self.feed.close()
        await self.venue.close()


class LiveCcxtVenue(CcxtVenue):
    """The ccxt venue as a live run uses it: a create refused by a rate limit is sent again after a wait.

    A 429/418/-1003 answer means the exchange refused the request before processing it, so sending the same
    client order id again cannot place the order twice (and a duplicate id would be refused, not filled).
    The wait is what the exchange asks for (Retry-After) or the backoff, whichever is longer; when that is
    beyond `max_wait_s`, or after `attempts` tries, RateLimited reaches the daemon, which rejects the clip.
    Timeouts are never retried here: they are unknown outcomes, resolved by client order id.
    """

    def __init__(self, *args: Any, max_wait_s: float = 10.0, attempts: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait_s = max_wait_s
        self.attempts = max(1, attempts)
        self._jitter = random.Random()  # noqa: S311 -- jitter, not cryptography

    async def create_order(self, request: OrderRequest) -> OrderUpdate:
        attempt = 0
        while True:
            try:
                return await super().create_order(request)
            except RateLimited as exc:
                delay = max(exc.retry_after_s or 0.0, self.settings.backoff.delay_s(attempt, self._jitter))
                attempt += 1
                if attempt >= self.attempts or delay > self.max_wait_s:
                    raise
                self.log.warning("order_rate_limited", client_id=request.client_id, wait_s=round(delay, 3))
                await asyncio.sleep(delay)


def dead_man_settings(config: Config, section: VenueSection | None = None) -> DeadManSettings:
    """`[venue] dead_man_countdown` and `dead_man_renew` (or `section`'s, a `[venues.<id>]`): the
    countdownCancelAll a live venue keeps armed."""
    venue = section or config.venue
    return DeadManSettings(parse_duration_ms(venue.dead_man_countdown), parse_duration_ms(venue.dead_man_renew))


async def open_live_venue(
    config: Config, clock: Clock, tuning: LiveTuning, venue_id: str = DEFAULT_VENUE
) -> LiveCcxtVenue:
    """The ccxt venue of `[venue]` (or of `[venues.<venue_id>]`, for the instruments it trades) with its markets
    loaded (`start()` next); Fatal without keys."""
    section = config.venue_sections()[venue_id]
    candidates = config.venue_candidates()  # instruments it may trade if chosen at start: their markets loaded too
    instruments = [
        s
        for s in config.hedge.instruments
        if config.venue_routes().get(s, DEFAULT_VENUE) == venue_id or venue_id in candidates.get(s, ())
    ]
    key, secret = read_api_keys(section)
    password = read_api_password(section)
    client = make_client(section, api_key=key, secret=secret, password=password, overrides=tuning.ccxt_overrides)
    settings = CcxtVenueSettings(
        margin_mode=section.margin_mode,
        leverage=section.leverage,
        backoff=tuning.backoff,
        dead_man=dead_man_settings(config, section),
    )
    venue = LiveCcxtVenue(
        client,
        contracts_for(instruments, clock.now_ms()),
        settings,
        clock=clock,
        max_wait_s=tuning.max_rate_limit_wait_s,
        attempts=tuning.rate_limit_attempts,
    )
    return await with_markets_loaded(venue)


async def open_live_plan(config: Config, *, clock: Clock | None = None, tuning: LiveTuning | None = None) -> LivePlan:
    """`bot.mode = "live"`: the ccxt venue (keys required) and the streams through its client.
    `bot.mode = "paper"`: the paper venue, and the public streams of `[venue]` (no key needed).

    Trading starts now; the history before it (`warmup_ms`) is read by REST first. Raises Fatal when the
    keys are missing or the exchange refuses them, VenueError when it cannot be reached.
    """
    clock = clock or WallClock()
    tuning = tuning or LiveTuning()
    venue: Venue
    if config.bot.mode == "live" and config.venues:  # hedge legs on several venues, each priced by its own streams
        venue = await open_live_venues(config, clock, tuning)
    elif config.bot.mode == "live":
        venue = await open_live_venue(config, clock, tuning)
    else:
        venue = paper_venues(config, clock) if config.venues else paper_venue(config)
    clients = market_clients(config, venue, tuning)
    volumes_s = volume_poll_s(config.hedge)  # liquidity tiers: Binance's marks carry no 24 h volume
    settings = FeedSettings(backoff=tuning.backoff, stall_timeout_s=tuning.stall_timeout_s, volume_poll_s=volumes_s)
    derivatives = derivatives_feed(config, venue, clients, settings, clock.now_ms())
    plan = LivePlan((), derivatives, venue, clock.now_ms(), clock)
    try:
        feed = with_spot_sources(config, derivatives, settings, tuning.ccxt_overrides, clock)  # Fatal: no account key
        plan = LivePlan((), feed, venue, clock.now_ms(), clock)
        client, legs = clients[DEFAULT_VENUE][0], _leg_clients(config, venue, clients)
        warmup = await warmup_history(client, config, plan.trading_from_ms, tuning.backoff, spot_clients(feed), legs)
    except BaseException:
        await plan.close()
        raise
    return LivePlan(warmup, feed, venue, plan.trading_from_ms, clock)


def market_clients(config: Config, venue: Venue, tuning: LiveTuning) -> dict[str, tuple[Any, bool]]:
    """The ccxt client each venue's market streams run on, by venue id, and whether its feed owns (closes) it:
    live, the venue's own client; paper, a public client of its `[venue]` / `[venues.<id>]` (no key needed).
    `[venues]`: only the venues that trade legs (a candidate chosen elsewhere at start has none)."""
    ids = venue.routes.ids if isinstance(venue, VenueSet) else (DEFAULT_VENUE,)
    clients: dict[str, tuple[Any, bool]] = {}
    for venue_id in ids:
        member = venue.members[venue_id] if isinstance(venue, VenueSet) else venue
        if isinstance(member, CcxtVenue):
            clients[venue_id] = (member.client, False)
        else:
            section = config.venue_sections()[venue_id]
            clients[venue_id] = (make_client(section, overrides=tuning.ccxt_overrides), True)
    return clients


def derivatives_feed(
    config: Config, venue: Venue, clients: Mapping[str, tuple[Any, bool]], settings: FeedSettings, now_ms: int
) -> ExchangeFeed | VenueFeeds:
    """The market streams of the hedge legs: one ExchangeFeed per venue, on its own client, for the contracts of
    its own legs (the default venue's also prices the holdings priced by its index); merged when several.
    Dated legs: the contracts listed now (a quarterly listed later is priced after a restart)."""
    feeds = {}
    for venue_id, (client, owned) in clients.items():
        legs = venue.routes.legs_on(venue_id) if isinstance(venue, VenueSet) else config.hedge.instruments
        contracts = contracts_for(legs, now_ms)
        symbols = (*index_priced(config), *contracts) if venue_id == DEFAULT_VENUE else tuple(contracts)
        feeds[venue_id] = ExchangeFeed(client, symbols, settings, owns_client=owned)
    return feeds[DEFAULT_VENUE] if len(feeds) == 1 else VenueFeeds(feeds)


def _leg_clients(config: Config, venue: Venue, clients: Mapping[str, tuple[Any, bool]]) -> dict[Symbol, Any]:
    """The client whose candles warm up each hedge perpetual traded on a venue other than the default."""
    if not isinstance(venue, VenueSet):
        return {}
    placed = ((symbol, venue.routes.venue_of(symbol)) for symbol in perpetuals(config))
    return {symbol: clients[venue_id][0] for symbol, venue_id in placed if venue_id != DEFAULT_VENUE}


async def open_live_venues(config: Config, clock: Clock, tuning: LiveTuning) -> VenueSet:
    """`[venues]`: a ccxt venue per id (each with its own keys, markets, leverage, user stream, dead-man switch),
    routed by instrument; every one opened, or none (the ones opened are closed again on a failure)."""
    members: dict[str, Venue] = {}
    try:
        for venue_id in config.venue_sections():
            members[venue_id] = await open_live_venue(config, clock, tuning, venue_id)
    except BaseException:
        for member in members.values():
            await member.close()
        raise
    choices = [await _choose(config, members, symbol, ids) for symbol, ids in config.venue_candidates().items()]
    placed = {**config.venue_routes(), **{choice.symbol: choice.venue for choice in choices}}
    venues = VenueSet(members, VenueRoutes(config.hedge.instruments, placed), clock.now_ms)
    venues.choices = tuple(choices)
    return venues


async def _choose(config: Config, members: Mapping[str, Venue], symbol: str, ids: Iterable[str]) -> VenueChoice:
    """Where `symbol`, listed on several venues, trades from this start (bot.execution.venue_choice)."""
    quotes = []
    for venue_id in ids:
        member = members[venue_id]
        entry = config.venues.get(venue_id)
        limit = entry.min_quote_volume if entry is not None else 0.0
        quote = await _quote(member, venue_id, Symbol(symbol)) if isinstance(member, CcxtVenue) else None
        quotes.append(replace(quote, min_volume=limit) if quote else VenueQuote(venue_id, None, None, None, 0.0, limit))
    choice = choose_venue(symbol, quotes)
    get_logger(component="venue_choice").warning("venue_chosen", instrument=symbol, **choice.as_record())
    return choice


async def _quote(venue: CcxtVenue, venue_id: str, symbol: Symbol) -> VenueQuote | None:
    """The venue's taker fee, funding rate now, 24-hour quote volume and position in `symbol`; None when it cannot
    be read (that venue is then no candidate)."""
    client = venue.client
    try:
        market = client.markets.get(symbol) or {}
        rate = await client.fetch_funding_rate(symbol)
        ticker = await client.fetch_ticker(symbol)
        account = await venue.fetch_account()
        held = sum(p.qty for p in account.positions if p.symbol == symbol)
        fee, funding = _number(market.get("taker")), _number(rate.get("fundingRate"))
        return VenueQuote(venue_id, fee, funding, _number(ticker.get("quoteVolume")), held)
    except Exception as exc:
        get_logger(component="venue_choice").warning("venue_quote_failed", venue=venue_id, error=str(exc))
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def live_daemon(config: Config, plan: LivePlan, journal: Journal, human: HumanLine | None = None) -> Daemon:
    """The daemon of a run on the exchange's streams; every reconnect of a market stream or a user stream is
    told to its observer (whichever the session installs: metrics count them)."""
    venue = durable(plan.venue, journal) if isinstance(plan.venue, PaperVenue) else plan.venue
    daemon = Daemon(config, venue, journal, plan.clock, trading_from_ms=plan.trading_from_ms, human=human)
    plan.feed.on_reconnect = lambda stream: daemon.observer.reconnect(f"market.{stream}")
    if isinstance(plan.venue, CcxtVenue):
        plan.venue.on_reconnect = lambda stream: daemon.observer.reconnect(f"user.{stream}")
    members = plan.venue.members if isinstance(plan.venue, VenueSet) else {}
    for venue_id, member in members.items():
        if isinstance(member, CcxtVenue):
            member.on_reconnect = lambda stream, v=venue_id: daemon.observer.reconnect(f"user.{v}.{stream}")
    if isinstance(plan.feed, PricedFeed) and plan.feed.accounts:  # holdings read from exchange accounts
        sync = HoldingsSync(daemon, config, plan.trading_from_ms)
        for reader in plan.feed.accounts:
            reader.on_read = sync.on_read
        for stream in plan.feed.account_streams:
            stream.on_reconnect = lambda name: daemon.observer.reconnect(f"account.{name}")
        feed = plan.feed  # `ctl status` and the gauges: each account's reads and stream
        daemon.accounts_view = lambda: sync.views(feed.accounts, feed.account_streams)
    return daemon


def candle_timeframe(timeframes: Iterable[str], sample_ms: int) -> tuple[str, int] | None:
    """The longest candle interval (one minute or more) that divides the sampling step, with its length."""
    best: tuple[str, int] | None = None
    for name in timeframes:
        try:
            length = parse_duration_ms(name)
        except ValueError:  # '1M': a month has no fixed length
            continue
        if length >= MS_PER_MINUTE and sample_ms % length == 0 and (best is None or length > best[1]):
            best = (name, length)
    return best


async def warmup_history(
    client: Any,
    config: Config,
    until_ms: int,
    backoff: Backoff,
    spot: Mapping[str, Any] | None = None,
    legs: Mapping[Symbol, Any] | None = None,
) -> tuple[PriceObserved, ...]:
    """Mark-price candles of the window before `until_ms`, so the estimators are ready at the first decision.

    Each hedge instrument is read by its own mark price, as the feed prices it; a spot holding by its
    perpetual's mark (the feed uses that perpetual's index, whose candles the loopback exchange does not
    serve; the basis between the two is small next to the returns measured). `client` is the default venue's;
    a perpetual in `legs` (a hedge leg on another venue, `[venues]`) is read from the client given there, that
    of the venue whose streams price it. A close is stamped at the candle's close time as Binance reports it
    (open + interval − 1 ms), and only candles closed before `until_ms` are used: history never shows a price
    before it happened, and the last candle lies in the sampling step before the first live one, which
    therefore samples at once.

    No warm-up (an empty tuple, with a warning) when the sampling step is not a whole number of candles, or
    the exchange cannot serve them now: the estimators then fill from live data, and no hedge is decided
    before they hold `hedge.min_samples` samples. Fatal errors (a symbol not listed) are raised.
    """
    log = get_logger(component="warmup")
    sample_ms = parse_duration_ms(config.hedge.sample)
    timeframes = client.timeframes or {}
    chosen = candle_timeframe(timeframes, sample_ms)
    if chosen is None:
        log.warning("warmup_skipped", reason=f"no candle interval divides hedge.sample = {config.hedge.sample}")
        return ()
    timeframe, length = chosen
    since = until_ms - warmup_ms(config)
    events: list[PriceObserved] = []
    try:
        for series, exchange, source in _warmup_sources(config):
            spot_client = (spot or {}).get(exchange)  # a holding priced by a spot market: that market's candles
            reading = spot_client or (legs or {}).get(series, client)
            reader = CcxtRest(reading, backoff, 3, random.Random())  # noqa: S311 -- jitter, not cryptography
            params = dict(_MARK_CANDLES) if spot_client is None else {}
            candles = await _candles(reader, reading, source, timeframe, length, since, until_ms, params)
            events.extend(_closes(series, candles, length, until_ms))
    except Fatal:
        raise
    except VenueError as exc:
        log.warning("warmup_skipped", reason=f"history unavailable: {exc}")
        return ()
    events.sort(key=lambda event: event.ts)  # stable: one instant keeps the order of the series
    log.info("warmup_loaded", events=len(events), timeframe=timeframe, since=since, until=until_ms)
    return tuple(events)


def _warmup_sources(config: Config) -> list[tuple[Symbol, str, Symbol]]:
    """(series the engine follows, spot exchange or "" for the hedge venue, market whose candles stand for it)."""
    return [*warmup_series(config), *((symbol, "", symbol) for symbol in perpetuals(config))]


async def _candles(
    rest: CcxtRest,
    client: Any,
    symbol: Symbol,
    timeframe: str,
    length: int,
    since: int,
    until_ms: int,
    params: Mapping[str, str],
) -> list[Any]:
    rows: list[Any] = []
    cursor = since
    while cursor < until_ms:
        page = await rest.read(client.fetch_ohlcv, symbol, timeframe, cursor, _CANDLES_PAGE, dict(params))
        fresh = [row for row in page or () if isinstance(row, list | tuple) and row and _int(row[0]) >= cursor]
        if not fresh:
            break
        rows.extend(fresh)
        cursor = _int(fresh[-1][0]) + length
    return rows


def _closes(series: Symbol, candles: Iterable[Any], length: int, until_ms: int) -> Iterator[PriceObserved]:
    for row in candles:
        try:
            close_ts = _int(row[0]) + length - 1
            if close_ts < until_ms:
                yield PriceObserved(close_ts, series, float(row[4]))
        except (BadMarketData, IndexError, TypeError, ValueError):
            continue  # a malformed candle is a gap, never a price


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1
