"""`[prices]`: each holding's price sources, resolved in order; a holding with none is refused at check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config, overlays_from, parse_config
from bot.settings.sources import PriceSource

LIVE = {"bot": {"mode": "live"}, "market": {"source": "exchange"}}
REPO = Path(__file__).resolve().parents[2]


def test_a_holding_takes_its_pair_on_the_spot_exchange_then_its_hedged_perpetuals_index() -> None:
    config = parse_config({**LIVE, "portfolio": {"holdings": {"ETH": 1.0, "SOL": 2.0}}, "prices": {"exchange": "okx"}})
    assert config.holding_price_sources() == {
        "ETH": (PriceSource("okx", "ETH/USDT"), PriceSource("", "ETH/USDT")),
        "SOL": (PriceSource("okx", "SOL/USDT"),),
    }


def test_a_holding_listed_in_sources_takes_exactly_that_list() -> None:
    prices = {"exchange": "binance", "sources": {"WBTC": ["kraken:BTC/USDT", "binance:WBTC/USDT"]}}
    config = parse_config({**LIVE, "portfolio": {"holdings": {"WBTC": 1.0}}, "prices": prices})
    assert [s.key for s in config.holding_price_sources()["WBTC"]] == ["kraken:BTC/USDT", "binance:WBTC/USDT"]


def test_a_holding_with_no_price_source_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="holding 'SOL' has no price source"):
        parse_config({**LIVE, "portfolio": {"holdings": {"ETH": 1.0, "SOL": 2.0}}})


def test_a_synthetic_market_needs_no_price_source() -> None:
    parse_config({"portfolio": {"holdings": {"SOL": 2.0}}})


@pytest.mark.parametrize(
    ("source", "why"),
    [("binance:SOL-USDT", "not a price source"), ("ftx:SOL/USDT", "is not one of"), ("binance:SOL/BTC", "quoted")],
)
def test_a_malformed_source_is_a_config_error_naming_it(source: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        parse_config({**LIVE, "portfolio": {"holdings": {"SOL": 2.0}}, "prices": {"sources": {"SOL": [source]}}})


def test_check_config_refuses_a_holding_with_no_price_source_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "live.toml"
    path.write_text('[bot]\nmode = "live"\n[market]\nsource = "exchange"\n[portfolio.holdings]\nDOGE = 1000.0\n')
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holding 'DOGE' has no price source" in err


def test_an_overlay_replaces_the_configs_keys_one_by_one(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(
        '[venue]\nendpoint = "http://127.0.0.1:9999"\n[prices]\nendpoints = { binance = "http://x:1/spot" }\n'
    )
    config = load_config(REPO / "config" / "live.example.toml", overlays_from({"HEDGEBOT_OVERLAY": str(overlay)}))
    assert (config.venue.endpoint, config.venue.leverage) == ("http://127.0.0.1:9999", 3)
    assert (config.prices.exchange, config.prices.endpoints) == ("binance", {"binance": "http://x:1/spot"})
