"""The shipped live template against the loopback exchange, for tests: ETH and SOL held, BTC/ETH perpetuals
as hedges, SOL listed on the simulator's spot market only (`SimSettings(spot_only=("SOL",))`).

    async with running_sim(SimSettings(spot_only=("SOL",)), spot_history()) as sim:
        config = template_on(sim, tmp_path)        # config/live.example.toml + config/loopback.toml + ports
"""

from __future__ import annotations

import random
from pathlib import Path

from bot.config import Config, load_config
from bot.domain import MS_PER_MINUTE, MarketEvent, PriceObserved, Symbol
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import DEFAULT_API_KEY, DEFAULT_API_SECRET
from bot.testing.live import START
from bot.testing.loopback import priced

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SOL = Symbol("SOL/USDT")


def spot_history(minutes: int = 70, seed: int = 5) -> list[MarketEvent]:
    """BTC and ETH (spot and perpetual) and SOL (spot only) a minute apart up to START; SOL moves with BTC
    (beta about 1.3) plus noise of its own, so the proxies carry most of its risk. At START: BTC 30,000,
    ETH 2,010, SOL 100."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible price path, not cryptography
    btc, eth, sol, events = 30_000.0, 2_000.0, 100.0, []
    for ts in range(START - minutes * MS_PER_MINUTE, START, MS_PER_MINUTE):
        move = rng.gauss(0, 0.003)
        btc, eth = round(btc * (1 + move), 1), round(eth * (1 + 0.8 * move + rng.gauss(0, 0.002)), 2)
        sol = round(sol * (1 + 1.3 * move + rng.gauss(0, 0.001)), 3)
        events.extend([*priced(ts, btc, eth), PriceObserved(ts, SOL, sol)])
    return [*events, *priced(START, 30_000.0, 2_010.0), PriceObserved(START, SOL, 100.0)]


def template_on(sim: ExchangeSim, state_dir: Path) -> Config:
    """config/live.example.toml as shipped, with the shipped overlay config/loopback.toml and one more naming
    this simulator's ports, `state_dir`, 0600 key files holding the simulator's keys, and one clip per leg."""
    for name, value in (("api-key", DEFAULT_API_KEY), ("api-secret", DEFAULT_API_SECRET)):
        (state_dir / name).write_text(value)
        (state_dir / name).chmod(0o600)
    overlay = state_dir / "ports.toml"
    overlay.write_text(
        f'[bot]\nstate_dir = "{state_dir}"\n'
        f'[venue]\nendpoint = "{sim.base_url}"\napi_key_env = "HEDGEBOT_SPOT_TEST_KEY"\n'
        f'api_secret_env = "HEDGEBOT_SPOT_TEST_SECRET"\napi_key_file = "{state_dir / "api-key"}"\n'
        f'api_secret_file = "{state_dir / "api-secret"}"\n'
        f'[prices]\nendpoints = {{ binance = "{sim.base_url}/spot" }}\n'
        "[execution]\nclip_notional = 60000.0\n[risk]\nmax_order_notional = 60000.0\n"
        "[metrics]\nenabled = false\n"
    )
    return load_config(CONFIG_DIR / "live.example.toml", (CONFIG_DIR / "loopback.toml", overlay))
