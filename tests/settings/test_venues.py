"""`[venues.<id>]`: hedge legs on several venues; one clear line for each mistake, `[venue]` the default."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from bot.execution.venue_routes import VenueRoutes

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _second(**keys: Any) -> dict[str, Any]:
    return {"venues": {"second": {"instruments": [BTC], "api_key_env": "K2", "api_secret_env": "S2", **keys}}}


def test_a_config_without_venues_trades_every_instrument_on_the_default_venue() -> None:
    config = parse_config({})
    assert config.venue_routes() == {}
    assert list(config.venue_sections()) == ["main"]
    assert VenueRoutes(config.hedge.instruments, {}).venue_of(BTC) == "main"


def test_an_instrument_listed_on_a_venue_trades_there_and_the_rest_on_the_default() -> None:
    config = parse_config(_second(endpoint="http://127.0.0.1:9"))
    assert config.venue_routes() == {BTC: "second"}
    routes = VenueRoutes(config.hedge.instruments, config.venue_routes())
    assert (routes.venue_of(BTC), routes.venue_of(ETH), routes.venue_of("ETH/USDT")) == ("second", "main", "main")
    assert routes.legs_on("second") == (BTC,)
    assert routes.split([BTC, ETH]) == {"main": [ETH], "second": [BTC]}


def test_a_quarterly_legs_dated_contracts_and_its_perpetual_go_where_the_leg_is() -> None:
    routes = VenueRoutes(["BTC/USDT:USDT@quarterly", ETH], {"BTC/USDT:USDT@quarterly": "second"})
    assert routes.venue_of("BTC/USDT:USDT-260327") == "second"
    assert routes.venue_of(BTC) == "second"
    assert routes.venue_of(ETH) == "main"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"venues": {"second": {"instruments": ["XRP/USDT:USDT"]}}}, "'XRP/USDT:USDT' is not one of [hedge]"),
        ({"venues": {"main": {"instruments": [BTC]}}}, "not 'main', the id of [venue]"),
        ({"venues": {"Second": {"instruments": [BTC]}}}, "a venue id is a lower-case name"),
        ({"venues": {"second": {}}}, "name the [hedge] instruments this venue trades"),
        ({"venues": {"a": {"instruments": [BTC]}, "b": {"instruments": [BTC]}}}, "listed on venues 'a' and 'b'"),
        ({"venues": {"a": {"instruments": [BTC, BTC]}}}, "listed twice"),
    ],
)
def test_a_mistake_in_venues_is_one_line_naming_it(data: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(data)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value).strip()


def test_live_venues_reading_the_same_key_variable_are_refused() -> None:
    live = {"bot": {"mode": "live"}, "market": {"source": "exchange"}, "portfolio": {"holdings": {"ETH": 1.0}}}
    with pytest.raises(ConfigError) as caught:
        parse_config({**live, "venues": {"second": {"instruments": [BTC]}}})
    assert "[venues.second] reads its API key from the same variable HEDGEBOT_API_KEY as [venue]" in str(caught.value)
    assert parse_config({**live, **_second()}).venue_routes() == {BTC: "second"}


def test_inverse_legs_stay_on_one_venue() -> None:
    inverse = {"portfolio": {"quote": "USD", "holdings": {"BTC": 1.0}}, "hedge": {"instruments": ["BTC/USD:BTC"]}}
    with pytest.raises(ConfigError, match="linear"):
        parse_config({**inverse, "venues": {"second": {"instruments": ["BTC/USD:BTC"]}}})


def test_an_instrument_is_placed_or_chosen_by_cost_never_both() -> None:
    config = parse_config({"venues": {"second": {"candidates": [ETH]}, "third": {"candidates": [ETH]}}})
    assert config.venue_candidates() == {ETH: ("main", "second", "third")}
    with pytest.raises(ConfigError, match=r"list it in instruments \(placed\) or in candidates"):
        parse_config({"venues": {"second": {"instruments": [ETH]}, "third": {"candidates": [ETH]}}})
