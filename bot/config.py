"""The TOML config as validated, frozen models: the one home of defaults.

`Config()` with no file is the embedded default: paper mode, offline, on the built-in synthetic market.
Unknown keys and wrong types are errors that name the key, the value and what was expected.
Secrets are never read from the TOML file itself: only the name of an environment variable or of a file
with 0600 permissions is configured here (see `bot.secrets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from bot.domain import Rounding, parse_duration_ms
from bot.settings.accounts import SpotAccount as SpotAccount
from bot.settings.carry import CarrySection as CarrySection
from bot.settings.control import ControlSection as ControlSection
from bot.settings.control import read_config_text
from bot.settings.instruments import check_hedge_legs, check_hedge_symbol
from bot.settings.liquidity import LiquiditySection as LiquiditySection
from bot.settings.ops import AlertsSection as AlertsSection
from bot.settings.ops import MetricsSection as MetricsSection
from bot.settings.sanity import SanitySection as SanitySection
from bot.settings.settlement import check_inverse_quote, check_posted, inverse_settle, settlement_currency
from bot.settings.sources import PricesSection as PricesSection
from bot.settings.sources import check_price_sources, holding_sources
from bot.settings.toml import parse_toml
from bot.settings.validate import validated
from bot.settings.values import ASSET, Asset, Flag, Float, Fraction, Int, PositiveDuration, PositiveFloat
from bot.settings.values import ConfigError as ConfigError
from bot.settings.values import Duration as Duration
from bot.settings.values import Section as _Section
from bot.settings.venues import DEFAULT_VENUE, VenueKeys, check_venues
from bot.settings.venues import routes as venue_routes

HedgeSymbol = Annotated[str, AfterValidator(check_hedge_symbol)]  # perp, dated, @quarterly, @carry; inverse perp
NonNegativeFloat = Annotated[Float, Field(ge=0)]
Bps = Annotated[Float, Field(ge=0, le=10_000)]  # basis points: 10,000 = 100 %
LossFraction = Annotated[Float, Field(gt=0, le=1)]


class BotSection(_Section):
    mode: Literal["paper", "live"] = "paper"
    state_dir: Path = Path("var")
    log_file: str = "hedgebot.log"  # inside state_dir unless absolute
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    span: PositiveDuration = "30d"  # how much simulated time `hedgebot run` covers when not --realtime
    seed: Annotated[Int, Field(ge=0, le=2**63 - 1)] = 7  # the synthetic market's random stream


class MarketSection(_Section):
    source: Literal["synthetic", "replay", "exchange"] = "synthetic"
    step: PositiveDuration = "1m"  # synthetic market: one price per asset per step
    prices: Path | None = None  # replay: spot candles (../shared/data format)
    funding: Path | None = None
    perp: Path | None = None
    start: date | None = None  # replay: first day traded (warm-up data before it is read too)
    end: date | None = None  # replay: exclusive


class PortfolioSection(_Section):
    quote: Asset = "USDT"
    holdings: dict[str, NonNegativeFloat] = Field(
        default_factory=lambda: {"ETH": 10.0, "SOL": 250.0, "LINK": 1500.0, "DOGE": 100_000.0}
    )

    # base asset -> quote value, bought at the first price once trading starts (equal-value baskets in backtests)
    holdings_value: dict[str, PositiveFloat] = Field(default_factory=dict)
    locked: dict[str, NonNegativeFloat] = Field(default_factory=dict)  # staked/vesting: counted
    core: tuple[str, ...] = ()  # core holdings, never hedged (only the satellite is)
    # holdings posted as the coin-margined hedge account's collateral (bot.settings.settlement): counted once
    posted: tuple[str, ...] = ()
    accounts: tuple[SpotAccount, ...] = ()  # accounts whose spot balances add to holdings (settings/accounts.py)

    @model_validator(mode="before")
    @classmethod
    def _default_basket_only_when_none_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and "holdings_value" in data and "holdings" not in data:
            return {**data, "holdings": {}}
        return data

    @model_validator(mode="after")
    def _holdings_named_by_base(self) -> PortfolioSection:
        both = set(self.holdings) & set(self.holdings_value)
        if both:
            raise ValueError(f"{sorted(both)} given in both holdings and holdings_value; keep one")
        unknown_core = [base for base in self.core if base not in {*self.holdings, *self.holdings_value, *self.locked}]
        if unknown_core:
            raise ValueError(f"core {unknown_core} are not holdings")
        repeated = sorted({base for base in self.core if self.core.count(base) > 1})
        if repeated:
            raise ValueError(f"core {repeated} listed more than once")
        tables = {"holdings": self.holdings, "holdings_value": self.holdings_value, "locked": self.locked}
        for table, held in tables.items():
            for base in held:
                if not ASSET.fullmatch(base):
                    raise ValueError(f"{table}: {base!r} is not a base asset in capitals, like 'ETH'")
                if base == self.quote:
                    raise ValueError(f"{table}: {base!r} is the quote currency, not a holding to hedge")
        return self

    @property
    def account_assets(self) -> tuple[str, ...]:
        """Every asset some account's balance is read for, once each."""
        return tuple(dict.fromkeys(asset for account in self.accounts for asset in account.assets))

    @model_validator(mode="after")
    def _accounts_hold_no_quote(self) -> PortfolioSection:
        if self.quote in self.account_assets:
            raise ValueError(
                f"accounts: {self.quote!r} is the quote: the bot moves it itself (top-ups), it is never a holding"
            )
        return self


class TierSpec(_Section):
    above: NonNegativeFloat  # tier entered when the metric rises above this
    ratio: Annotated[Float, Field(ge=0, le=3)]  # hedge ratio (× hedge.ratio) in this tier


class HedgeSection(_Section):
    instruments: tuple[HedgeSymbol, ...] = ("BTC/USDT:USDT", "ETH/USDT:USDT")
    policy: Literal["fixed", "beta", "min_variance", "tiered", "protective_put", "cppi"] = "min_variance"
    ratio: Annotated[Float, Field(ge=0, le=3)] = 1.0
    proxy: HedgeSymbol | None = None  # beta policy: the one instrument; default the first
    window: PositiveDuration = "30d"  # estimation window of returns
    sample: PositiveDuration = "1h"  # sampling step of returns
    # realtime and live: a step whose prints are not all in (a feed silent) is decided this long after its start
    step_deadline: PositiveDuration = "2s"
    min_samples: Annotated[Int, Field(ge=3)] = 72
    ridge: NonNegativeFloat = 0.0  # min_variance: shrinks weights of collinear instruments
    rebalance_band: Fraction = 0.10  # trade when |actual − target| > band × |target| ...
    min_trade_notional: NonNegativeFloat = 100.0  # ... and more than this, so dust never trades
    rounding: Rounding = Rounding.DOWN
    allow_overhedge: Flag = False
    max_target_jump: Annotated[Float, Field(ge=1, le=1_000)] = 3.0  # a bigger jump waits for the next decision
    # tiered: min_variance scaled by the tier of the portfolio's realised volatility (annualised, EWM)
    tiers: tuple[TierSpec, ...] = (
        TierSpec(above=0.0, ratio=0.5),
        TierSpec(above=0.8, ratio=0.8),
        TierSpec(above=1.2, ratio=1.0),
    )
    tier_halflife: PositiveDuration = "3d"
    tier_hysteresis: Annotated[Float, Field(ge=0, lt=1)] = 0.1  # 1 would never leave a tier
    # triggers besides the band; 0 or "0s" turns one off
    correlation_band: Fraction = 0.0  # |corr(portfolio, proxy) − its trailing mean| above this re-decides
    beta_band: NonNegativeFloat = 0.0  # |beta − its trailing mean| above this re-decides
    trailing_halflife: PositiveDuration = "7d"  # the trailing mean of correlation and beta
    schedule: Duration = "0s"  # a full rebalance at least this often
    cooldown: Duration = "0s"  # no rebalance sooner than this after the last one
    max_rebalances_per_hour: Annotated[Int, Field(ge=1)] = 60
    direct: tuple[str, ...] = ()  # holdings hedged 1:1 with their own perpetual (must be in instruments)
    proxies: tuple[HedgeSymbol, ...] | None = None  # instruments of the proxy policy; default all instruments
    # protective_put and cppi (bot.hedge.protective): the base hedge at ratio 1, scaled by a cover in [0, 1]
    protect_base: Literal["fixed", "beta", "min_variance"] = "min_variance"  # the hedge that cover scales
    floor: Annotated[Float, Field(gt=0, le=1)] = 0.85  # the floor as a fraction of the peak value ...
    floor_value: PositiveFloat | None = None  # ... or a set floor in the quote currency
    horizon: PositiveDuration = "30d"  # protective_put: the put's rolling maturity
    multiplier: Annotated[Float, Field(ge=1, le=50)] = 4.0  # cppi: exposure kept = multiplier × cushion
    peak_window: Duration = "0s"  # the peak is the highest value over this trailing window; "0s" = since start
    # proxy selection (bot.hedge.proxy_select): min_variance on a chosen subset of `proxies` (default instruments)
    proxy_select: Flag = False  # choose the proxies by stepwise regression instead of using them all
    max_proxies: Annotated[Int, Field(ge=1, le=20)] = 3  # at most this many chosen
    proxy_min_gain: Fraction = 0.01  # stop adding proxies when the next one raises R² by less
    proxy_rank_gap: Fraction = 0.15  # drop a candidate whose |Pearson| − |Spearman| with the basket exceeds this
    proxy_hysteresis: Fraction = 0.02  # a new set must beat the current set's R² by more than this
    proxy_reselect: PositiveDuration = "7d"  # re-choose this often (a proxy whose price stopped: at once)
    liquidity: LiquiditySection = LiquiditySection()  # proxy candidates' volume tiers (bot/settings/liquidity.py)
    carry: CarrySection = CarrySection()  # "…@carry" legs: perpetual or front quarterly (bot/settings/carry.py)

    @field_validator("tiers")
    @classmethod
    def _tiers_rise(cls, tiers: tuple[TierSpec, ...]) -> tuple[TierSpec, ...]:
        """The tier selector's own preconditions (bot.hedge.tiers), checked here so a run never meets them."""
        thresholds = [tier.above for tier in tiers]
        if not tiers or thresholds != sorted(set(thresholds)):
            raise ValueError(f"need at least one tier, their `above` rising strictly, got {thresholds}")
        return tiers

    @model_validator(mode="after")
    def _proxy_is_an_instrument(self) -> HedgeSection:
        if not self.instruments:
            raise ValueError("instruments must name at least one hedge instrument")
        if self.proxy is not None and self.proxy not in self.instruments:
            raise ValueError(f"proxy {self.proxy!r} is not one of instruments {list(self.instruments)}")
        missing = [p for p in self.proxies or () if p not in self.instruments]
        if missing:
            raise ValueError(f"proxies {missing} are not among instruments {list(self.instruments)}")
        for name, listed in {"proxies": self.proxies or (), "direct": self.direct}.items():
            repeated = sorted({item for item in listed if listed.count(item) > 1})
            if repeated:
                raise ValueError(f"{name} {repeated} listed more than once")
        check_hedge_legs(self.instruments)  # each once; one leg per pair when a @quarterly leg rolls it
        bases_with_perp = {s.split("/")[0] for s in self.instruments if ":" in s and "-" not in s and "@" not in s}
        undirected = [base for base in self.direct if base not in bases_with_perp]
        if undirected:
            raise ValueError(f"direct {undirected}: add their perpetuals (like 'XRP/USDT:USDT') to instruments")
        if parse_duration_ms(self.sample) > parse_duration_ms(self.window):
            raise ValueError(f"sample {self.sample!r} is longer than the estimation window {self.window!r}")
        return self

    @property
    def proxy_symbol(self) -> str:
        return self.proxy or self.instruments[0]


class CollateralSection(_Section):
    """`[risk.collateral]`: the buffer as the adverse move of the hedge instruments' prices (0.30 = a 30 % rally
    for a short hedge) the hedge account survives before liquidation, by the venue's brackets (bot.risk.buffer).
    Each step applies below its move (bot.risk.collateral) and is left once the buffer is above it + hysteresis;
    all four at 0 switch the ladder off."""

    warn: Fraction = 0.40  # alert
    top_up: Fraction = 0.30  # reducing (nothing that adds exposure)
    reduce: Fraction = 0.20  # reducing, and the hedge is cut in protective reduce-only clips back above top_up
    floor: Fraction = 0.10  # halted for everything but cancels and the protective cut
    hysteresis: Fraction = 0.05  # points of move

    @model_validator(mode="after")
    def _steps_escalate(self) -> CollateralSection:
        if not self.warn >= self.top_up >= self.reduce >= self.floor:
            named = f"warn = {self.warn:g}, top_up = {self.top_up:g}, reduce = {self.reduce:g}, floor = {self.floor:g}"
            raise ValueError(f"collateral steps must not increase from warn to floor: {named}")
        return self


class ReserveSection(_Section):
    """`[risk.reserve]`: stablecoins in the spot or funding wallet of the hedge account's exchange, moved into the
    hedge account when the buffer falls below the top-up step (bot.risk.topup), before any cut. Paper and backtest
    model the wallet holding `amount`; live, `amount` caps what the bot may move of what the wallet holds. For a
    coin-margined hedge account the reserve is that coin and the three amounts are in it (MAIN_CMFUTURE)."""

    amount: NonNegativeFloat = 0.0  # quote the bot may move in over the run; 0 = no reserve: the ladder cuts
    wallet: Literal["spot", "funding"] = "spot"
    max_transfer: PositiveFloat = 25_000.0  # per transfer
    max_daily: PositiveFloat = 100_000.0  # per UTC day


class RiskSection(_Section):
    # pre-trade limits, checked on every clip against the state after it (bot.risk.limits)
    max_leverage: PositiveFloat = 3.0  # total hedge notional / hedge-account equity
    max_instrument_leverage: PositiveFloat | None = None  # one instrument's notional / equity; None: max_leverage
    max_position_notional: PositiveFloat = 250_000.0  # per instrument
    max_order_notional: PositiveFloat = 25_000.0
    max_orders_per_minute: Annotated[Int, Field(ge=1)] = 30  # every order, reducing ones too: stops a runaway loop
    price_band_bps: Annotated[Float, Field(gt=0, le=10_000)] = 100.0  # no order priced further through the mark
    # staleness gates: no order on inputs older than these; they reopen by themselves (bot.risk.staleness)
    max_price_age: PositiveDuration = "5m"  # marks of the hedge instruments
    max_funding_age: PositiveDuration = "9h"  # funding rates of the perpetuals: one 8 h settlement plus slack
    max_account_age: PositiveDuration = "2h"  # the hedge-account snapshot (equity, margin); the daemon reads it hourly
    # max loss from the peak, not from the start, as a fraction of that peak, 1.0 = off (bot.risk.drawdown);
    # daily = from the highest value of the trailing 24 h, overall = from the highest since start or acknowledge
    max_daily_loss: LossFraction = 0.10  # whole portfolio: spot value + hedge-account equity
    max_loss: LossFraction = 0.25
    # hedge-account equity alone: it falls when a rally lifts the spot, so its limits are wider
    max_hedge_daily_loss: LossFraction = 0.30
    max_hedge_loss: LossFraction = 0.50
    # what a breach does (README "Governance limits"): full_cover = a portfolio breach takes the hedge to ratio 1 and
    # alerts, a hedge-account breach holds reducing (the collateral action: no adding, top up); reducing / halted =
    # either breach holds that trading state
    on_max_loss: Literal["full_cover", "reducing", "halted"] = "full_cover"
    # the collateral buffer: distance to liquidation, with its steps (bot.risk.collateral)
    collateral: CollateralSection = Field(default_factory=CollateralSection)
    reserve: ReserveSection = Field(default_factory=ReserveSection)  # top-ups before cuts (bot.risk.topup)


class ExecutionSection(_Section):
    clip_notional: PositiveFloat = 5_000.0
    clip_interval: Duration = "30s"
    order_type: Literal["market", "limit"] = "market"
    limit_offset_bps: Bps = 2.0
    on_shutdown: Literal["cancel", "leave"] = "cancel"  # working orders at SIGTERM/SIGINT: cancel or leave
    book_share: Fraction = 0.0  # a clip takes at most this share of the visible top-of-book size; 0 = no cap
    max_slippage_bps: Bps = 0.0  # parent holds while mark is this far past arrival; 0 = off
    post_only: Flag = False  # limit clips rest passively at mark ∓ limit_offset_bps (needs order_type = "limit")
    escalate_after: Duration = "0s"  # a limit clip resting this long is replaced by a marketable one; "0s" = never
    escalate_to: Literal["limit", "market"] = "market"  # limit: marketable limit at mark ± limit_offset_bps
    # dated contracts roll (or close) this close to expiry; up to a quarter and more, so a roll can start at once
    roll_window_days: Annotated[Float, Field(gt=0, le=100)] = 3.0
    roll_steps: Annotated[Int, Field(ge=1, le=96)] = 3  # the roll is staggered over this many steps in its window
    dated_basis_annual: Annotated[Float, Field(ge=-1, le=1)] = 0.05  # dated price = underlying × (1 + basis × years)
    # reconciliation of the journal against the venue, at start and then every interval (bot.execution.reconcile_plan)
    foreign_orders: Literal["leave", "cancel"] = "leave"  # open orders at the venue that hedgebot did not place
    reconcile_interval: Duration = "5m"  # while running; "0s" = at start only
    reconcile_retry: PositiveDuration = "30s"  # while a failed reconciliation holds trading halted

    @model_validator(mode="after")
    def _post_only_rests_as_a_limit(self) -> ExecutionSection:
        if self.post_only and self.order_type != "limit":
            raise ValueError("post_only = true needs order_type = 'limit' (a market order cannot rest)")
        return self


class PaperSection(_Section):
    # hedge-account starting equity, in its settlement currency: the quote, or the coin of inverse legs (unused
    # where [portfolio] posted names the holding that is the collateral)
    collateral: PositiveFloat = 50_000.0
    leverage: PositiveFloat = 5.0
    taker_fee_bps: Bps = 4.0
    maker_fee_bps: Annotated[Float, Field(ge=-10, le=10_000)] = 2.0
    slippage_bps: Bps = 1.0
    impact_bps_per_10k: Bps = 0.5
    maintenance_margin_rate: Annotated[Float, Field(gt=0, lt=1)] = 0.005


class VenueSection(_Section):
    exchange: Literal["binanceusdm", "binancecoinm", "bybit", "okx"] = "binanceusdm"  # binancecoinm: inverse legs
    endpoint: str | None = None  # e.g. "http://127.0.0.1:8765" to point REST and websockets at another host
    api_key_env: str = "HEDGEBOT_API_KEY"
    api_secret_env: str = "HEDGEBOT_API_SECRET"  # noqa: S105 -- the name of a variable, not a secret
    api_key_file: Path | None = None  # 0600 file, used when the environment variable is unset
    api_secret_file: Path | None = None
    api_password_env: str = "HEDGEBOT_API_PASSWORD"  # noqa: S105 -- the variable holding OKX's API passphrase
    api_password_file: Path | None = None  # 0600 file, used when the environment variable is unset
    margin_mode: Literal["cross", "isolated"] = "cross"
    leverage: Annotated[Int, Field(ge=1, le=125)] = 3
    # how long a signed request stays valid at the venue (Binance's and Bybit's recvWindow): an order whose
    # request left but which the venue never reports is declared lost only this long (+ 2 s of clock margin)
    # after it was sent, since until then it could still arrive and be executed
    request_window: Duration = "10s"
    rate_limit: Flag = True  # ccxt's client-side throttle by endpoint weight; off only where a proxy throttles
    # Binance's dead-man's switch (countdownCancelAll), armed per contract while our orders rest: a daemon that
    # dies stops renewing it and the exchange cancels them this long after the last renewal; "0s" = off
    dead_man_countdown: Duration = "60s"
    dead_man_renew: PositiveDuration = "15s"  # renewed at most this often (Binance asks for a heartbeat)

    @field_validator("request_window")
    @classmethod
    def _request_window_accepted(cls, value: str) -> str:
        if not 0 < parse_duration_ms(value) <= 60_000:
            raise ValueError(f"{value!r}: venues accept a request window of more than 0 and at most 60s")
        return value

    @model_validator(mode="after")
    def _dead_man_outlives_a_missed_renewal(self) -> VenueSection:
        countdown, renew = parse_duration_ms(self.dead_man_countdown), parse_duration_ms(self.dead_man_renew)
        if countdown and countdown < 2 * renew:
            raise ValueError(
                f"dead_man_countdown = {self.dead_man_countdown!r} must be at least twice dead_man_renew = "
                f"{self.dead_man_renew!r} (or '0s', off): one late renewal must not cancel resting orders"
            )
        return self


class VenueEntry(VenueSection):
    """`[venues.<id>]`: another derivatives venue, a whole `[venue]` of its own, and the hedge instruments it
    trades (bot.settings.venues); `[venue]` trades every instrument no entry lists."""

    instruments: tuple[HedgeSymbol, ...] = ()
    # instruments this venue may trade instead of [venue], if cheaper at start (bot.execution.venue_choice)
    candidates: tuple[HedgeSymbol, ...] = ()
    min_quote_volume: NonNegativeFloat = 0.0  # a candidate only with at least this 24-hour quote volume here
    collateral: PositiveFloat | None = None  # paper: this venue's starting equity (default [paper] collateral)


class TelegramUser(_Section):
    id: int  # the Telegram user id (the sender), not a username: usernames can be changed and taken
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")  # the operator name the audit trail records
    role: Literal["viewer", "trader", "admin"] = "viewer"


class TelegramSection(_Section):
    """Operator commands over Telegram (/status, /pause, ...), by long polling; off unless enabled."""

    enabled: bool = False
    token_env: str = "HEDGEBOT_TELEGRAM_TOKEN"  # noqa: S105 -- the name of a variable, not a secret
    token_file: Path | None = None
    api_base: str = "https://api.telegram.org"  # tests point it at a loopback fake of the Bot API
    poll_timeout: Duration = "25s"  # how long one getUpdates waits for news
    chats: list[int] = Field(default_factory=list)  # chats commands are taken from (a private chat's id = user id)
    users: list[TelegramUser] = Field(default_factory=list)  # who may command, as which operator and role

    @model_validator(mode="after")
    def _allow_list(self) -> TelegramSection:
        if self.enabled and (not self.chats or not self.users):
            raise ValueError("telegram.enabled needs chats and users: the allow-list of who may command")
        ids = [user.id for user in self.users]
        if len(ids) != len(set(ids)):
            raise ValueError("telegram.users: a user id is listed twice")
        return self


class Config(_Section):
    bot: BotSection = BotSection()
    market: MarketSection = MarketSection()
    portfolio: PortfolioSection = PortfolioSection()
    hedge: HedgeSection = HedgeSection()
    risk: RiskSection = RiskSection()
    execution: ExecutionSection = ExecutionSection()
    paper: PaperSection = PaperSection()
    venue: VenueSection = VenueSection()
    venues: dict[str, VenueEntry] = Field(default_factory=dict)  # more venues, by id (bot.settings.venues)
    metrics: MetricsSection = MetricsSection()
    alerts: AlertsSection = AlertsSection()
    control: ControlSection = ControlSection()
    telegram: TelegramSection = TelegramSection()
    sanity: SanitySection = SanitySection()  # market-data sanity layer (bot.core.sanity)
    prices: PricesSection = PricesSection()  # where holdings are priced on the exchange's market (settings/sources.py)

    def _settles_in_one_currency(self) -> None:
        """Inverse legs (perpetual or dated): one coin, a USD quote, live on binancecoinm only (the one venue that
        serves them, quarterlies included); posted holdings in that coin."""
        settles_in = settlement_currency(self.hedge.instruments, self.portfolio.quote)
        check_inverse_quote(self.hedge.instruments, self.portfolio.quote)
        check_posted(self.portfolio.posted, self.portfolio.holdings, settles_in)
        if settles_in != self.portfolio.quote and self.bot.mode == "live" and self.venue.exchange != "binancecoinm":
            raise ValueError(
                f"hedge instruments {list(self.hedge.instruments)} are inverse (coin-margined): they trade live on"
                f" Binance COIN-M (venue.exchange = 'binancecoinm'); on {self.venue.exchange} live trading of inverse"
                " contracts is not supported yet"
            )

    @property
    def settlement_currency(self) -> str:
        """The hedge account's currency: the quote, or the coin its inverse legs settle in."""
        return settlement_currency(self.hedge.instruments, self.portfolio.quote)

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        quote = self.portfolio.quote
        for symbol in self.hedge.instruments:
            if symbol.split(":")[0].split("/")[1] != quote and inverse_settle(symbol) is None:
                raise ValueError(f"hedge instrument {symbol!r} is not quoted in portfolio.quote {quote!r}")
        self._settles_in_one_currency()
        if self.bot.mode == "live" and self.market.source != "exchange":
            raise ValueError(
                f"bot.mode = 'live' needs market.source = 'exchange' (got {self.market.source!r}): live orders"
                " are priced and governed on the exchange's own streams, never on synthetic or replayed prices;"
                " use bot.mode = 'paper' to trade those"
            )
        if self.market.source == "replay" and self.market.prices is None:
            raise ValueError("market.source = 'replay' needs market.prices (a CSV of spot candles)")
        if self.market.start and self.market.end and self.market.end <= self.market.start:
            raise ValueError(f"market.end {self.market.end} is not after market.start {self.market.start}")
        if self.market.source == "exchange":
            check_price_sources(self.holding_price_sources(), quote)
        self._venues_routed()
        return self

    def _venues_routed(self) -> None:
        """`[venues]`: every id a plain name, every instrument on one venue, each venue's keys its own; inverse
        legs (one coin-margined account) stay on the one venue."""
        if not self.venues:
            return
        if self.settlement_currency != self.portfolio.quote:
            raise ValueError("venues: hedge legs on several venues need linear (quote-settled) instruments")
        others = {name: (_keys(entry), entry.instruments) for name, entry in self.venues.items()}
        candidates = {name: entry.candidates for name, entry in self.venues.items()}
        live = self.bot.mode == "live"
        check_venues(self.hedge.instruments, _keys(self.venue), others, live=live, candidates=candidates)

    def venue_candidates(self) -> dict[str, tuple[str, ...]]:
        """Each instrument some `[venues.<id>] candidates` lists → the venues that may trade it, [venue] first."""
        found: dict[str, list[str]] = {}
        for name, entry in self.venues.items():
            for symbol in entry.candidates:
                found.setdefault(symbol, [DEFAULT_VENUE]).append(name)
        return {symbol: tuple(ids) for symbol, ids in found.items()}

    def venue_routes(self) -> dict[str, str]:
        """Each hedge instrument on a `[venues.<id>]` → that id; the rest are `[venue]`'s (DEFAULT_VENUE)."""
        return venue_routes({name: entry.instruments for name, entry in self.venues.items()})

    @property
    def paper_collateral(self) -> float:
        """Paper: the starting equity of every venue's account ([paper] collateral, and each [venues] entry's)."""
        paper = self.paper.collateral
        return paper + sum(entry.collateral or paper for entry in self.venues.values())

    def venue_sections(self) -> dict[str, VenueSection]:
        """Every venue by id, the default one (`[venue]`) first."""
        return {DEFAULT_VENUE: self.venue, **self.venues}

    def holding_price_sources(self) -> dict[str, tuple[Any, ...]]:
        """Each holding's price sources on the exchange's market, in order (bot.settings.sources)."""
        p = self.portfolio
        bases = [*p.holdings, *p.holdings_value, *p.locked, *p.account_assets]
        hedged = [f"{s.split('/')[0]}/{p.quote}:{p.quote}" for s in self.hedge.instruments]
        return holding_sources(self.prices, bases, p.quote, hedged)

    @property
    def span_ms(self) -> int:
        return parse_duration_ms(self.bot.span)

    def path_in_state(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.bot.state_dir / path


def _keys(venue: VenueSection) -> VenueKeys:
    key_file, secret_file = venue.api_key_file, venue.api_secret_file
    return VenueKeys(
        venue.exchange,
        venue.api_key_env,
        venue.api_secret_env,
        str(key_file.resolve()) if key_file else None,
        str(secret_file.resolve()) if secret_file else None,
    )


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def parse_config(data: Mapping[str, Any], source: str = "config") -> Config:
    return validated(Config, data, source)


def load_config(path: Path | None, overlays: Sequence[Path] = ()) -> Config:
    """The config in `path`, or the embedded default when `path` is None; each overlay file's keys (a TOML file of
    the same sections) replace the file's, key by key (`hedgebot run --overlay`: a rehearsal's endpoints)."""
    if path is None and not overlays:
        return Config()
    data = parse_toml(read_config_text(path), str(path)) if path is not None else {}
    for overlay in overlays:
        data = overlaid(data, parse_toml(read_config_text(overlay), str(overlay)))
    source = " + ".join(str(p) for p in (*([path] if path is not None else []), *overlays))
    return parse_config(data, source)


OVERLAY_ENV = "HEDGEBOT_OVERLAY"  # config overlays, os.pathsep-separated: `hedgebot run` and `reload` apply them


def overlays_from(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The overlay files `HEDGEBOT_OVERLAY` names in `environ` (the process's environment, passed by the shell)."""
    return tuple(Path(part) for part in environ.get(OVERLAY_ENV, "").split(os.pathsep) if part)


def overlaid(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overlay`'s keys put in, tables merged key by key, any other value replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        below = merged.get(key)
        merged[key] = overlaid(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return merged


def with_overrides(config: Config, **sections: Mapping[str, Any]) -> Config:
    """A copy of `config` with some keys of some sections replaced, validated again."""
    data = config.model_dump()
    for name, values in sections.items():
        data[name] = {**data[name], **values}
    return parse_config(data, "overrides")
