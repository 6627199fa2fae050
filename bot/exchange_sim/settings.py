"""What the exchange simulator is told at start-up: address, credentials, markets, pacing, book depth.

Two clocks, on purpose. Market time is the time of the latest market event: it stamps prices, orders, fills,
funding and expiries, so a replay is deterministic. Request signing is checked against the wall clock
(`/fapi/v1/time` reports it too), because an unmodified ccxt client stamps its requests with its own clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_API_KEY = "sim-api-key"
DEFAULT_API_SECRET = "sim-api-secret"  # noqa: S105 -- a loopback-only test credential, not a secret


@dataclass(frozen=True, slots=True)
class SimSettings:
    host: str = "127.0.0.1"
    port: int = 0  # 0: the OS picks a free port
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    quote: str = "USDT"
    bases: tuple[str, ...] = ("BTC", "ETH")  # one perpetual each, plus two quarterlies when `quarterlies`
    spot_only: tuple[str, ...] = ()  # coins listed on the spot market only (no perpetual): bot/exchange_sim/spot.py
    quarterlies: bool = True  # list CURRENT_QUARTER and NEXT_QUARTER contracts
    collateral: float = 100_000.0  # starting USDT wallet balance
    # Binance COIN-M (/dapi, bot/exchange_sim/coinm.py): one inverse perpetual per coin listed here (BTCUSD_PERP),
    # plus its two quarterlies (BTCUSD_260327) when `quarterlies`, each margined by its own wallet in that coin,
    # starting at `coinm_collateral` coins; () serves no COIN-M
    coinm_bases: tuple[str, ...] = ()
    coinm_collateral: float = 10.0
    # starting quote-asset balances of the spot ('MAIN') and funding wallets: a reserve the account can move into
    # the futures wallet through POST /sapi/v1/asset/transfer (wallets.py, transfers.py)
    spot_reserve: float = 0.0
    funding_reserve: float = 0.0
    leverage: int = 20  # every symbol's leverage until POST /fapi/v1/leverage sets its own (capped by its brackets)
    taker_fee_bps: float = 4.0
    maker_fee_bps: float = 2.0
    book_levels: int = 5  # depth levels per side behind the best bid/ask
    level_notional: float = 250_000.0  # quote value per level when no BookObserved gave sizes
    level_spacing_ticks: int = 1  # price distance between levels, in ticks
    spread_ticks: int = 1  # synthesised spread around the mark when no book was observed
    basis_annual: float = 0.05  # dated contract premium over the perpetual when it has no prices of its own
    funding_interval_hours: float = 8.0
    recv_window_max_ms: int = 60_000
    # Pacing of `serve`: events per wall second, or event-time seconds per wall second; neither = as fast as
    # possible. Tests step manually with `ExchangeSim.advance` instead.
    events_per_second: float | None = None
    time_multiplier: float | None = None
    extra_api_keys: dict[str, str] = field(default_factory=dict)  # more key -> secret pairs that are accepted

    def __post_init__(self) -> None:
        for name in ("events_per_second", "time_multiplier"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"SimSettings.{name}={value!r}: expected a positive number or None")
        if not self.bases:
            raise ValueError("SimSettings.bases is empty: list at least one base asset, e.g. ('BTC',)")
        if self.book_levels < 1:
            raise ValueError(f"SimSettings.book_levels={self.book_levels!r}: expected at least 1")
        if not 1 <= self.leverage <= 125:
            raise ValueError(f"SimSettings.leverage={self.leverage!r}: expected 1..125")

    def secret_for(self, api_key: str) -> str | None:
        if api_key == self.api_key:
            return self.api_secret
        return self.extra_api_keys.get(api_key)
