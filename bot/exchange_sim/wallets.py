"""The simulated exchange's non-futures wallets: spot ('MAIN') and funding ('FUNDING') balances per asset. Pure.

The USDⓈ-M futures wallet is `BracketedAccount`'s (margin.py); these are the two other wallets of the same
Binance account, named as Binance's universal-transfer types name them (MAIN_UMFUTURE, FUNDING_UMFUTURE). The
transfer endpoints (transfers.py) move stablecoins between them and the futures wallet; the spot API reads its
balances here. Balances are exact decimal amounts (Binance books wallets to 8 decimals), never negative.

Usage:
    wallets = Wallets.funded({"MAIN": {"USDT": 200_000}})
    wallets.free("MAIN", "USDT")            # Decimal('200000')
    wallets.debit("MAIN", "USDT", Decimal("5000"))   # raises InsufficientBalance when short
    wallets.credit("FUNDING", "USDT", Decimal("5000"))
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Literal, get_args

Wallet = Literal["MAIN", "FUNDING"]
WALLETS: Final[tuple[Wallet, ...]] = get_args(Wallet)
_PLACES: Final = Decimal("0.00000001")  # Binance books wallet balances to 8 decimals


class UnknownWallet(ValueError):
    """A wallet name that is neither 'MAIN' nor 'FUNDING'."""


class InsufficientBalance(ValueError):
    """A debit larger than the wallet's free balance of that asset; nothing was moved."""

    def __init__(self, wallet: Wallet, asset: str, wanted: Decimal, free: Decimal) -> None:
        super().__init__(f"{wallet} wallet holds {free} {asset}, cannot debit {wanted}")
        self.wallet = wallet
        self.asset = asset
        self.wanted = wanted
        self.free = free


def wallet_named(name: str) -> Wallet:
    for wallet in WALLETS:
        if wallet == name:
            return wallet
    raise UnknownWallet(f"unknown wallet {name!r}: expected one of {', '.join(WALLETS)}")


def _amount(value: Decimal | float | int | str) -> Decimal:
    amount = Decimal(str(value)).quantize(_PLACES)
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {value!r}: expected a positive finite number")
    return amount


class Wallets:
    """Free balances of the spot and funding wallets, per asset (upper-case, e.g. 'USDT')."""

    def __init__(self) -> None:
        self._balances: dict[Wallet, dict[str, Decimal]] = {wallet: {} for wallet in WALLETS}

    @classmethod
    def funded(cls, balances: Mapping[str, Mapping[str, Decimal | float | int | str]]) -> Wallets:
        """Wallets holding `balances` ({wallet: {asset: amount}}); zero amounts are skipped."""
        wallets = cls()
        for name, assets in balances.items():
            wallet = wallet_named(name)
            for asset, amount in assets.items():
                if Decimal(str(amount)) != 0:
                    wallets.credit(wallet, asset, amount)
        return wallets

    def free(self, wallet: Wallet, asset: str) -> Decimal:
        return self._balances[wallet].get(asset.upper(), Decimal(0))

    def assets(self, wallet: Wallet) -> dict[str, Decimal]:
        """Every asset the wallet holds a non-zero balance of."""
        return {asset: amount for asset, amount in self._balances[wallet].items() if amount != 0}

    def credit(self, wallet: Wallet, asset: str, amount: Decimal | float | int | str) -> Decimal:
        """Add `amount` (> 0); returns the new balance."""
        key = asset.upper()
        balance = self.free(wallet, key) + _amount(amount)
        self._balances[wallet][key] = balance
        return balance

    def debit(self, wallet: Wallet, asset: str, amount: Decimal | float | int | str) -> Decimal:
        """Take `amount` (> 0); raises InsufficientBalance (and moves nothing) when short. Returns the new balance."""
        key = asset.upper()
        wanted = _amount(amount)
        free = self.free(wallet, key)
        if wanted > free:
            raise InsufficientBalance(wallet, key, wanted, free)
        self._balances[wallet][key] = free - wanted
        return free - wanted
