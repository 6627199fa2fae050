"""The simulator's own wallet controls, for rehearsals: what happens at an exchange without its API (a
deposit from a chain, a withdrawal, Simple Earn subscriptions), done on a running `hedgebot exchange-sim`.

    curl -X POST -H 'X-MBX-APIKEY: sim-api-key' 'http://127.0.0.1:8765/sim/deposit?asset=SOL&amount=50'

Not Binance's API (Binance has no such endpoints): paths under `/sim/`, the simulator's API key in the
header (as its listen-key endpoints take it), parameters in the query or the form body.

    POST /sim/deposit           asset, amount[, wallet=MAIN|FUNDING]     credit the wallet
    POST /sim/withdraw          asset, amount[, wallet=MAIN|FUNDING]     debit it (400 -2010 when short)
    POST /sim/earn/subscribe    asset, amount, kind=flexible|locked      spot wallet -> Simple Earn position
    POST /sim/earn/redeem       asset, amount, kind=flexible|locked      Simple Earn position -> spot wallet

Each answers the asset's balances afterwards. Spot-wallet changes go to the spot user streams at once, as
the spot API's own changes do (`SpotApi.publish`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from aiohttp import web

from bot.exchange_sim import auth, errors
from bot.exchange_sim.answers import error_response
from bot.exchange_sim.earn import EarnPositions, Kind
from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.wallets import InsufficientBalance, UnknownWallet, Wallet, Wallets, wallet_named

PREFIX = "/sim/"
Params = Mapping[str, str]


class SimWalletApi:
    def __init__(self, wallets: Wallets, earn: EarnPositions, secret_for: Callable[[str], str | None],
                 publish: Callable[[], None]) -> None:  # fmt: skip
        self.wallets = wallets
        self.earn = earn
        self._secret_for = secret_for
        self._publish = publish
        self._actions: dict[str, Callable[[Params], object]] = {
            "deposit": lambda p: self.wallets.credit(_wallet(p), _asset(p), _amount(p)),
            "withdraw": lambda p: self.wallets.debit(_wallet(p), _asset(p), _amount(p)),
            "earn/subscribe": lambda p: self.earn.subscribe(self.wallets, _kind(p), _asset(p), _amount(p)),
            "earn/redeem": lambda p: self.earn.redeem(self.wallets, _kind(p), _asset(p), _amount(p)),
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(PREFIX + "{action:.+}", self._serve)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        raw = "&".join(part for part in (request.rel_url.raw_query_string, body) if part)
        try:
            auth.require_api_key(request.headers, self._secret_for)
            action = self._actions.get(request.match_info["action"])
            if action is None:
                raise errors.unknown_path()
            params = auth.parse_params(raw)
            try:
                action(params)
            except InsufficientBalance as exc:
                raise errors.bad_request(-2010, str(exc)) from None
            except (UnknownWallet, ValueError) as exc:
                raise errors.bad_request(-1100, str(exc)) from None
        except BinanceError as error:
            return error_response(error)
        self._publish()
        return web.json_response(self._balances(_asset(params)))

    def _balances(self, asset: str) -> dict[str, Any]:
        return {
            "asset": asset,
            "spot": str(self.wallets.free("MAIN", asset)),
            "funding": str(self.wallets.free("FUNDING", asset)),
            "earn_flexible": str(self.earn.held("flexible").get(asset, Decimal(0))),
            "earn_locked": str(self.earn.held("locked").get(asset, Decimal(0))),
        }


def _asset(params: Params) -> str:
    asset = params.get("asset", "").upper()
    if not asset.isalnum():
        raise errors.missing_parameter("asset")
    return asset


def _amount(params: Params) -> Decimal:
    try:
        amount = Decimal(params.get("amount", ""))
    except InvalidOperation:
        raise errors.missing_parameter("amount") from None
    if not amount.is_finite() or amount <= 0:
        raise errors.bad_parameter("amount")
    return amount


def _wallet(params: Params) -> Wallet:
    return wallet_named(params.get("wallet", "MAIN").upper())


def _kind(params: Params) -> Kind:
    kind = params.get("kind", "flexible")
    if kind not in ("flexible", "locked"):
        raise errors.bad_parameter("kind")
    return cast(Kind, kind)
