"""`[prices]`: where each spot holding's price comes from when the market is the exchange's (live, paper on
exchange data). Pure: the section, and the resolution of each holding's ordered list of sources.

A source is a spot market on a ccxt exchange, written `"<exchange>:<BASE>/<QUOTE>"` (`"binance:SOL/USDT"`:
its last price, streamed, re-synced by REST), or `"index"`: the index price the hedge venue publishes with its
perpetual of that base (a composite of spot prices; the only way a derivative's stream prices a holding, and
only when so configured or when that perpetual is itself a hedge instrument). Each holding's sources are
`sources.<BASE>` when given, else the spot pair on `exchange` (when set) followed by `"index"` when the
holding's own perpetual is a hedge instrument. A holding left with none is a config error (`check-config`),
never a failure at start. The first source in the list that is fresh prices the holding; the next one takes
over while it is stale (older than `[risk] max_price_age`), and it takes back as soon as it is fresh again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from bot.settings.values import Asset, Section

SPOT_EXCHANGES = ("binance", "bybit", "okx", "kucoin", "gate", "kraken", "coinbase")
SpotExchange = Literal["binance", "bybit", "okx", "kucoin", "gate", "kraken", "coinbase"]
INDEX = "index"
_SPOT_SOURCE = re.compile(r"^(?P<exchange>[a-z0-9]+):(?P<base>[A-Z0-9]{1,20})/(?P<quote>[A-Z0-9]{1,20})$")
_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")


@dataclass(frozen=True, slots=True)
class PriceSource:
    """One source of a holding's price: a spot pair on `exchange`, or (exchange "") the hedge venue's index."""

    exchange: str
    symbol: str  # "SOL/USDT"; for the index, the holding's spot pair it prices

    @property
    def is_index(self) -> bool:
        return not self.exchange

    @property
    def key(self) -> str:
        return INDEX if self.is_index else f"{self.exchange}:{self.symbol}"


def parse_source(text: str) -> PriceSource:
    """'binance:SOL/USDT' or 'index' (whose symbol the caller fills in); ValueError naming the text otherwise."""
    if text == INDEX:
        return PriceSource("", "")
    match = _SPOT_SOURCE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a price source: expected 'index' or 'EXCHANGE:BASE/QUOTE' ('okx:SOL/USDT')")
    if match.group("exchange") not in SPOT_EXCHANGES:
        known = ", ".join(SPOT_EXCHANGES)
        raise ValueError(f"{text!r}: spot exchange {match.group('exchange')!r} is not one of {known}")
    return PriceSource(match.group("exchange"), f"{match.group('base')}/{match.group('quote')}")


class PricesSection(Section):
    """`[prices]`: the spot sources of the holdings' prices (see the module docstring)."""

    exchange: SpotExchange | None = None  # the default source of every holding: its pair on this spot exchange
    endpoints: dict[str, str] = Field(default_factory=dict)  # spot exchange -> its REST/websocket host (loopback)
    sources: dict[Asset, tuple[str, ...]] = Field(default_factory=dict)  # per holding, tried in order

    @field_validator("sources")
    @classmethod
    def _sources_parse(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for base, texts in value.items():
            if not texts:
                raise ValueError(f"sources.{base} is empty: list at least one source, or leave it out")
            if len(set(texts)) != len(texts):
                raise ValueError(f"sources.{base} lists a source twice")
            for text in texts:
                parse_source(text)
        return value

    @field_validator("endpoints")
    @classmethod
    def _endpoints_are_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for exchange, url in value.items():
            if exchange not in SPOT_EXCHANGES:
                raise ValueError(f"endpoints.{exchange}: not a spot exchange ({', '.join(SPOT_EXCHANGES)})")
            if not _URL.match(url):
                raise ValueError(f"endpoints.{exchange} = {url!r} is not a URL like 'http://127.0.0.1:8765/spot'")
        return value


def holding_sources(
    prices: PricesSection, bases: Iterable[str], quote: str, hedged_perpetuals: Iterable[str]
) -> dict[str, tuple[PriceSource, ...]]:
    """Each holding's sources in order (an empty tuple: none; `check_price_sources` refuses that)."""
    hedged = set(hedged_perpetuals)
    resolved: dict[str, tuple[PriceSource, ...]] = {}
    for base in dict.fromkeys(bases):
        pair = f"{base}/{quote}"
        if base in prices.sources:
            parsed = [parse_source(text) for text in prices.sources[base]]
        else:
            parsed = [PriceSource(prices.exchange, pair)] if prices.exchange else []
            if f"{pair}:{quote}" in hedged:
                parsed.append(PriceSource("", ""))
        resolved[base] = tuple(PriceSource("", pair) if s.is_index else s for s in parsed)
    return resolved


def check_price_sources(sources: Mapping[str, tuple[PriceSource, ...]], quote: str) -> None:
    """ValueError, one line, for a holding with no source or a source not quoted in the portfolio's quote."""
    for base, listed in sources.items():
        if not listed:
            raise ValueError(
                f"holding {base!r} has no price source on the exchange's market: set [prices] exchange (its spot"
                f" pair {base}/{quote} there) or prices.sources.{base} = ['binance:{base}/{quote}']"
            )
        for source in listed:
            if not source.symbol.endswith(f"/{quote}"):
                raise ValueError(f"prices.sources.{base}: {source.key!r} is not quoted in portfolio.quote {quote!r}")
