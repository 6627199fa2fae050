"""The simulator's spot and funding wallets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.exchange_sim.wallets import InsufficientBalance, UnknownWallet, Wallets


def test_a_wallet_debit_larger_than_its_balance_raises_and_keeps_the_balance() -> None:
    wallets = Wallets.funded({"MAIN": {"USDT": 100}})
    with pytest.raises(InsufficientBalance, match="MAIN wallet holds 100"):
        wallets.debit("MAIN", "usdt", Decimal("100.5"))
    assert wallets.free("MAIN", "USDT") == Decimal("100")
    assert wallets.debit("MAIN", "USDT", 40) == Decimal("60")
    assert wallets.assets("FUNDING") == {}


def test_a_reserve_in_an_unknown_wallet_is_refused_by_name() -> None:
    with pytest.raises(UnknownWallet, match="'MARGIN'"):
        Wallets.funded({"MARGIN": {"USDT": 1}})
