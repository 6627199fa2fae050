"""The paper venue's reserve: top-ups move it into the simulated account, it refuses what it does not hold, and it
survives a restart with the account's state."""

from __future__ import annotations

import pytest

from bot.execution.transfers import TransferVenue
from bot.execution.venue_errors import Rejected
from bot.risk.topup import TopUp
from bot.venues.paper import PaperSettings, PaperVenue

pytestmark = pytest.mark.asyncio


def _top_up(amount: float, seq: int = 1) -> TopUp:
    return TopUp(1_000, f"hb-tu-3e8-{seq}", amount, "spot", "rally")


async def test_a_top_up_moves_the_reserve_into_the_account_and_is_listed() -> None:
    venue = PaperVenue(PaperSettings(collateral=10_000.0, reserve=5_000.0))
    assert isinstance(venue, TransferVenue)
    done = await venue.transfer_in(_top_up(3_000.0))
    account = await venue.fetch_account()
    assert account.wallet_balance == pytest.approx(13_000.0)
    assert venue.reserve.balance == pytest.approx(2_000.0)
    assert await venue.transfers_in("spot") == [done]
    assert await venue.transfers_in("funding") == []


async def test_a_top_up_beyond_the_reserve_is_refused_and_moves_nothing() -> None:
    venue = PaperVenue(PaperSettings(collateral=10_000.0, reserve=1_000.0))
    with pytest.raises(Rejected, match=r"reserve holds 1,000\.00"):
        await venue.transfer_in(_top_up(3_000.0))
    assert (await venue.fetch_account()).wallet_balance == pytest.approx(10_000.0)


async def test_the_reserve_and_its_history_survive_a_restart_from_the_saved_state() -> None:
    venue = PaperVenue(PaperSettings(collateral=10_000.0, reserve=5_000.0))
    await venue.transfer_in(_top_up(3_000.0))
    restarted = PaperVenue(PaperSettings(collateral=10_000.0, reserve=5_000.0))
    restarted.restore(venue.state())
    assert restarted.reserve.balance == pytest.approx(2_000.0)
    assert [t.amount for t in await restarted.transfers_in("spot")] == [3_000.0]
    assert (await restarted.fetch_account()).wallet_balance == pytest.approx(13_000.0)
