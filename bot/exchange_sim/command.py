"""`hedgebot exchange-sim`: the loopback Binance USDⓈ-M exchange, for rehearsing live mode offline."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from bot.clock import WallClock
from bot.config import load_config
from bot.domain import MS_PER_DAY, Symbol, base_of
from bot.exchange_sim.server import ExchangeSim, serve
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimSettings
from bot.feeds.synthetic import SyntheticMarket, SyntheticSpec


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("exchange-sim", help="run the loopback exchange that speaks Binance USDⓈ-M futures")
    parser.add_argument("--config", type=Path, help="take the assets to list from this config's hedge instruments")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    parser.add_argument("--days", type=float, default=30.0, help="simulated days of synthetic prices to play")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    bases = tuple(sorted({base_of(s) for s in config.hedge.instruments} | {"BTC"}))
    settings = SimSettings(
        port=args.port,
        bases=bases,
        api_key=os.environ.get("HEDGEBOT_API_KEY", DEFAULT_API_KEY),
        api_secret=os.environ.get("HEDGEBOT_API_SECRET", DEFAULT_API_SECRET),
        time_multiplier=args.speed,
    )
    start = WallClock().now_ms()
    spec = SyntheticSpec(
        assets=bases,
        perpetuals=tuple(Symbol(f"{b}/{config.portfolio.quote}:{config.portfolio.quote}") for b in bases),
        start_ms=start,
        end_ms=start + int(args.days * MS_PER_DAY),
        step_ms=1_000,
        seed=config.bot.seed,
    )

    def announce(sim: ExchangeSim) -> None:
        print(f"exchange-sim: Binance USDⓈ-M on {sim.base_url} listing {', '.join(bases)} (Ctrl-C stops)", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, SyntheticMarket(spec).events(), on_start=announce))
    return 0
