"""Inverse (coin-margined) hedge legs in the config: one settlement coin, a USD quote, posted holdings, paper only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def test_an_inverse_perpetual_is_a_hedge_instrument_whose_account_settles_in_its_coin() -> None:
    config = parse_config({"hedge": {"instruments": ["BTC/USD:BTC"]}})
    assert config.settlement_currency == "BTC"
    assert parse_config({}).settlement_currency == "USDT"


def test_linear_and_inverse_legs_in_one_hedge_account_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"hedge": {"instruments": ["BTC/USD:BTC", "ETH/USDT:USDT"]}})
    message = str(caught.value)
    assert "settle in ['BTC', 'USDT']: one hedge account holds one settlement currency" in message
    assert "\n" not in message


def test_inverse_legs_of_two_coins_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"settle in \['BTC', 'ETH'\]"):
        parse_config({"hedge": {"instruments": ["BTC/USD:BTC", "ETH/USD:ETH"]}})


def test_an_inverse_contract_not_quoted_in_usd_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'BTC/EUR:BTC': an inverse contract is quoted in USD"):
        parse_config({"hedge": {"instruments": ["BTC/EUR:BTC"]}})


def test_an_inverse_leg_under_a_quote_that_is_not_a_usd_currency_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"portfolio.quote 'EUR' is not a USD currency"):
        parse_config(
            {"portfolio": {"quote": "EUR", "holdings": {"ETH": 1.0}}, "hedge": {"instruments": ["ETH/USD:ETH"]}}
        )


def test_live_trading_of_inverse_contracts_is_refused_as_not_supported_yet() -> None:
    with pytest.raises(ConfigError, match=r"live trading of inverse contracts is not supported yet"):
        parse_config(
            {"bot": {"mode": "live"}, "market": {"source": "exchange"}, "hedge": {"instruments": ["BTC/USD:BTC"]}}
        )


def test_a_posted_holding_must_be_the_coin_the_hedge_account_settles_in() -> None:
    with pytest.raises(ConfigError, match=r"portfolio.posted 'SOL': the hedge account settles in ETH"):
        parse_config(
            {"portfolio": {"holdings": {"SOL": 10.0}, "posted": ["SOL"]}, "hedge": {"instruments": ["ETH/USD:ETH"]}}
        )


def test_a_posted_holding_must_be_given_as_a_quantity() -> None:
    with pytest.raises(ConfigError, match=r"portfolio.posted 'ETH' is not in portfolio.holdings"):
        parse_config(
            {
                "portfolio": {"holdings_value": {"ETH": 1000.0}, "posted": ["ETH"]},
                "hedge": {"instruments": ["ETH/USD:ETH"]},
            }
        )


@pytest.mark.parametrize("name", ["inverse-eth.toml", "inverse-btc.toml"])
def test_the_inverse_config_templates_load(name: str) -> None:
    config = load_config(REPO / "config" / name)
    assert config.settlement_currency in {"ETH", "BTC"}
