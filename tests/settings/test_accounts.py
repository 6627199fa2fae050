"""`[[portfolio.accounts]]` (bot/settings/accounts.py): which wallets an account may list, and its stream."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings.accounts import SpotAccount


def test_an_account_follows_its_user_stream_unless_told_not_to() -> None:
    assert SpotAccount(exchange="binance", assets=("SOL",)).stream
    assert not SpotAccount(exchange="binance", assets=("SOL",), stream=False).stream


def test_binance_accounts_may_add_their_simple_earn_positions() -> None:
    account = SpotAccount(exchange="binance", assets=("SOL",), wallets=("spot", "funding", "earn"))
    assert account.wallets == ("spot", "funding", "earn")


def test_earn_on_an_exchange_other_than_binance_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match=r"'earn' .* binance only, not okx"):
        SpotAccount(exchange="okx", assets=("SOL",), wallets=("spot", "earn"))


def test_a_wallet_listed_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most once"):
        SpotAccount(exchange="binance", assets=("SOL",), wallets=("earn", "earn"))
