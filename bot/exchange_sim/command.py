"""`hedgebot exchange-sim`: the loopback Binance USDⓈ-M exchange, for rehearsing live mode offline.

`--dialect bybit` speaks Bybit's v5 API instead (linear USDT contracts, bot/exchange_sim/bybit), so several
instances, one per venue on different ports, can run side by side.

Its prices come from the synthetic market (default) or, with `--prices` (and `--funding`, `--perp`,
`--start`, `--end`), from the ../shared/data CSVs, read by `bot.feeds.replay` like a backtest's. Either way
the feed is played at `--speed` simulated seconds per wall second, and market time is the feed's own: a
replay's prices, klines and funding carry their historical times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from bot.clock import WallClock
from bot.config import Config, day_ms, load_config
from bot.domain import MS_PER_DAY, MarketEvent, Symbol, base_of, perp_symbol, spot_symbol
from bot.exchange_sim.bybit import BybitSim
from bot.exchange_sim.kline_history import KlineHistory, load_kline_history
from bot.exchange_sim.server import ExchangeSim, serve
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.feeds.csvformat import iso
from bot.feeds.replay import ReplaySpec, load_replay
from bot.feeds.synthetic import SyntheticMarket, SyntheticSpec
from bot.settings.settlement import inverse_settle

_DEFAULT_DAYS = 30.0
_REPLAY_ONLY = ("funding", "perp", "start", "end")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("exchange-sim", help="run the loopback exchange that speaks Binance USDⓈ-M futures")
    parser.add_argument("--config", type=Path, help="take the assets to list from this config's hedge instruments")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    parser.add_argument(
        "--dialect",
        choices=("binance", "bybit"),
        default="binance",
        help="the exchange API spoken: binance (USDⓈ-M, spot, COIN-M) or bybit (v5, linear USDT contracts)",
    )
    parser.add_argument(
        "--spot-only",
        type=_assets,
        default=(),
        help="more coins to list on the spot market only (no perpetual), comma-separated, e.g. XYZ,ABC; the config's"
        " holdings without a hedge perpetual are listed so already",
    )
    parser.add_argument(
        "--days", type=float, help=f"simulated days of synthetic prices to play (default {_DEFAULT_DAYS:g})"
    )
    parser.add_argument(
        "--reserve", type=float, default=0.0, help="quote-asset balance of the spot wallet, movable to futures"
    )
    parser.add_argument("--funding-reserve", type=float, default=0.0, help="quote-asset balance of the funding wallet")
    parser.add_argument(
        "--coin-collateral",
        type=float,
        default=10.0,
        help="starting balance, in its coin, of each COIN-M wallet (the config's inverse legs are listed on /dapi)",
    )
    replay = parser.add_argument_group("replay (instead of the synthetic market)")
    replay.add_argument("--prices", type=Path, help="spot candles CSV (../shared/data format): the index prices")
    replay.add_argument("--funding", type=Path, help="funding CSV: each perpetual settles at its recorded rates")
    replay.add_argument("--perp", type=Path, help="perpetual candles CSV: the marks (else marked at the index)")
    replay.add_argument("--start", type=_date, help="first day replayed, YYYY-MM-DD (on candle close times)")
    replay.add_argument("--end", type=_date, help="day after the last replayed, YYYY-MM-DD")


def _assets(text: str) -> tuple[str, ...]:
    assets = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    if not assets or not all(a.isalnum() and a.isascii() for a in assets):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of coins like XYZ,ABC")
    return assets


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-01-31") from None


def run(args: argparse.Namespace) -> int:
    problem = _usage_problem(args)
    if problem:
        print(f"hedgebot exchange-sim: {problem}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    bases = tuple(sorted({base_of(s) for s in config.hedge.instruments} | {"BTC"}))
    held = {*config.portfolio.holdings, *config.portfolio.holdings_value, *config.portfolio.locked}
    spot_only = tuple(sorted((held | set(args.spot_only)) - set(bases)))  # spot pairs of coins with no perpetual
    coinm = tuple(sorted({base_of(s) for s in config.hedge.instruments if inverse_settle(s)}))  # COIN-M (coinm.py)
    if coinm and args.dialect == "bybit":
        print("hedgebot exchange-sim: the bybit dialect lists linear (USDT) contracts only; the config has inverse"
              " legs (serve them with --dialect binance)", file=sys.stderr)  # fmt: skip
        return 2
    settings = SimSettings(
        port=args.port,
        bases=bases,
        spot_only=spot_only,
        api_key=os.environ.get("HEDGEBOT_API_KEY", DEFAULT_API_KEY),
        api_secret=os.environ.get("HEDGEBOT_API_SECRET", DEFAULT_API_SECRET),
        quote=config.portfolio.quote,
        time_multiplier=args.speed,
        spot_reserve=args.reserve,
        funding_reserve=args.funding_reserve,
        coinm_bases=coinm,
        coinm_collateral=args.coin_collateral,
    )
    history: KlineHistory | None = None
    if args.prices is not None:
        events, what, history = _replayed(args, config, bases, spot_only)
    else:
        events, what = _synthetic(args, config, bases, spot_only)

    def announce(sim: ExchangeSim) -> None:
        listing = ", ".join(bases)
        if args.dialect == "bybit":
            print(f"exchange-sim: Bybit v5 (linear) on {sim.base_url} listing {listing}; {what} (Ctrl-C stops)",
                  flush=True)  # fmt: skip
            return
        spot = ", ".join((*bases, *spot_only))
        print(f"exchange-sim: Binance USDⓈ-M on {sim.base_url} listing {listing}, spot on {sim.base_url}/spot listing"
              f" {spot}; {what} (Ctrl-C stops)", flush=True)  # fmt: skip
        if coinm:
            perps = ", ".join(f"{base}USD_PERP" for base in coinm) + " and their quarterlies"
            print(f"exchange-sim: Binance COIN-M on {sim.base_url}/coinm listing {perps}, each wallet"
                  f" {args.coin_collateral:g} of its coin", flush=True)  # fmt: skip

    with contextlib.suppress(KeyboardInterrupt):
        dialect = BybitSim if args.dialect == "bybit" else None
        asyncio.run(serve(settings, events, on_start=announce, kline_history=history, dialect=dialect))
    return 0


def _usage_problem(args: argparse.Namespace) -> str:
    if not (math.isfinite(args.speed) and args.speed > 0):
        return f"--speed {args.speed} must be a positive number of simulated seconds per wall second"
    if args.prices is None:
        given = [f"--{name}" for name in _REPLAY_ONLY if getattr(args, name) is not None]
        if given:
            return f"{', '.join(given)} replay history: give the spot candles with --prices as well"
    elif args.days is not None:
        return "--days sets the length of the synthetic market; a replay plays --start to --end of its files"
    if not (math.isfinite(args.coin_collateral) and args.coin_collateral >= 0):
        return f"--coin-collateral {args.coin_collateral} must be a non-negative amount of each coin"
    for flag, value in (("--reserve", args.reserve), ("--funding-reserve", args.funding_reserve)):
        if not (math.isfinite(value) and value >= 0):
            return f"{flag} {value} must be a non-negative amount of the quote asset"
    if args.days is not None and not (math.isfinite(args.days) and args.days > 0):
        return f"--days {args.days} must be a positive number of days"
    if args.start is not None and args.end is not None and args.end <= args.start:
        return f"--end {args.end} must be after --start {args.start}"
    return ""


def _replayed(
    args: argparse.Namespace, config: Config, bases: tuple[str, ...], spot_only: tuple[str, ...]
) -> tuple[Iterable[MarketEvent], str, KlineHistory]:
    """The CSVs' candles and funding as market events (ReplayError, one line, on any problem with the files),
    and the perpetuals' klines they hold, from before the start too."""
    quote = config.portfolio.quote
    spec = ReplaySpec(
        prices=args.prices,
        funding=args.funding,
        perp=args.perp,
        spot_symbols=tuple(spot_symbol(base, quote) for base in (*bases, *spot_only)),
        perpetuals=tuple(perp_symbol(base, quote) for base in bases),
        start_ms=day_ms(args.start) if args.start is not None else None,
        end_ms=day_ms(args.end) if args.end is not None else None,
        quote=quote,
    )
    replay = load_replay(spec)
    what = f"replaying {args.prices.name} {iso(replay.first_ts)} to {iso(replay.last_ts)} at speed {args.speed:g}"
    return replay.events(), what, load_kline_history(spec)


def _synthetic(
    args: argparse.Namespace, config: Config, bases: tuple[str, ...], spot_only: tuple[str, ...]
) -> tuple[Iterable[MarketEvent], str]:
    start = WallClock().now_ms()
    days = args.days if args.days is not None else _DEFAULT_DAYS
    quote = config.portfolio.quote
    spec = SyntheticSpec(
        assets=(*bases, *spot_only),
        perpetuals=tuple(Symbol(perp_symbol(b, quote)) for b in bases),
        start_ms=start,
        end_ms=start + int(days * MS_PER_DAY),
        step_ms=1_000,
        seed=config.bot.seed,
        quote=quote,
    )
    return SyntheticMarket(spec).events(), f"synthetic market for {days:g} days at speed {args.speed:g}"
