"""An instrument listed on several venues is placed once, at start: kept where it is held, else the cheapest
liquid venue (taker fee + a day's funding for a short)."""

from __future__ import annotations

from bot.execution.venue_choice import VenueQuote, choose_venue

ETH = "ETH/USDT:USDT"


def test_the_cheapest_liquid_venue_is_chosen_and_the_choice_says_why() -> None:
    quotes = [
        VenueQuote("main", 0.0004, -0.0001, 5e9),  # shorts pay 1 bp a settlement: 7 bp a day with the fee
        VenueQuote("second", 0.00055, 0.0001, 5e9),  # shorts receive: 5.5 − 3 = 2.5 bp
    ]
    choice = choose_venue(ETH, quotes)
    assert choice.venue == "second"
    assert choice.reason.startswith("cheapest: cost 0.000250")
    assert choice.as_record()["quotes"][0]["cost"] == quotes[0].cost


def test_a_venue_below_the_liquidity_limit_is_no_candidate() -> None:
    quotes = [VenueQuote("main", 0.0004, 0.0, 5e9), VenueQuote("second", 0.0001, 0.001, 1e6, min_volume=1e8)]
    assert choose_venue(ETH, quotes).venue == "main"


def test_an_open_position_is_never_moved() -> None:
    quotes = [VenueQuote("main", 0.0004, -0.001, 5e9, position=-3.0), VenueQuote("second", 0.0, 0.001, 5e9)]
    choice = choose_venue(ETH, quotes)
    assert (choice.venue, choice.reason) == ("main", "holds -3 there: not moved")


def test_without_a_usable_quote_the_default_venue_keeps_it() -> None:
    quotes = [VenueQuote("main", None, None, None), VenueQuote("second", 0.0004, None, 5e9)]
    assert choose_venue(ETH, quotes).venue == "main"
