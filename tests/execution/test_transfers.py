"""Resolving a top-up whose answer was lost, from the venue's transfer history."""

from __future__ import annotations

from bot.execution.transfers import VenueTransfer, find_in_history
from bot.risk.topup import TopUp

TOP_UP = TopUp(1_000, "hb-tu-3e8-1", 3_000.0, "spot", "rally")


def test_the_oldest_unclaimed_transfer_of_the_amount_asked_is_the_top_up() -> None:
    history = [
        VenueTransfer("7", 3_000.0, 900, "spot"),  # there before it was sent
        VenueTransfer("8", 2_000.0, 1_100, "spot"),
        VenueTransfer("10", 3_000.0, 1_300, "spot"),
        VenueTransfer("9", 3_000.0, 1_200, "spot"),
    ]
    assert find_in_history(TOP_UP, history, frozenset({"7"})) == history[3]


def test_a_transfer_from_another_wallet_or_already_claimed_is_not_it() -> None:
    history = [VenueTransfer("1", 3_000.0, 1_100, "funding"), VenueTransfer("2", 3_000.0, 1_200, "spot")]
    assert find_in_history(TOP_UP, history, frozenset({"2"})) is None
