"""The simulator's Binance spot API over HTTP and websockets, beside its USDⓈ-M one (`ExchangeSim.spot`).

REST at `/api/v3/...` (Binance's spot host answers there) and, the same, under `/spot/api/v3/...`; market
streams at `/spot/ws[/<n>]` and `/spot/stream?streams=...` (Binance serves them from its own host, whose `/ws`
path would collide with the futures streams'), so a ccxt `binance` client pointed at `http://HOST:PORT/spot`
(bot.venues.ccxt_client.point_at) reaches all of it. Streams: `<pair>@miniTicker`, `@ticker`, `@bookTicker`,
`@kline_<interval>`, `@depth5|10|20`, and `!miniTicker@arr`, `!ticker@arr`. The spot user stream (a listen
key from `POST /api/v3/userDataStream`, then `/spot/ws/<listenKey>`) and the WebSocket API's user data
subscription (`/spot/ws-api/v3`, what ccxt's spot `watch_balance` uses: spot_ws_api.py) send `balanceUpdate`
and `outboundAccountPosition` whenever a spot-wallet balance changes, however it changed (a transfer, a
deposit or withdrawal a test makes: `deposit`, `withdraw`).

Balances are the spot ('MAIN') wallet of `bot/exchange_sim/wallets.py`, the same `Wallets` the transfer
endpoints move money in, so a transfer shows on both sides. Its streams have their own `stream_faults` (silence
them, or `hub.drop_all()`), so a test can take spot prices away while the futures streams keep going.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.exchange_sim import auth, errors, spot_payloads
from bot.exchange_sim.answers import error_response, rest_answer
from bot.exchange_sim.candles import INTERVALS_MS
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.faults import Faults
from bot.exchange_sim.sim_wallet_api import SimWalletApi
from bot.exchange_sim.spot import SpotMarket, SpotPair
from bot.exchange_sim.spot_rest import SPOT_ROUTES, SpotView
from bot.exchange_sim.spot_ws_api import SpotWsApi
from bot.exchange_sim.streams import Payload, StreamHub
from bot.exchange_sim.wallets import Wallet, Wallets

_PREFIX = "/spot"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LISTEN_KEY_PATH = "/api/v3/userDataStream"
_PARTIAL_DEPTHS = {"depth5": 5, "depth10": 10, "depth20": 20}


class SpotApi:
    def __init__(self, exchange: SimExchange, faults: Faults, auth_clock: Clock) -> None:
        self.exchange = exchange
        self.market = SpotMarket(exchange.market, exchange.settings)
        self.rest_faults = faults  # the simulator's: a rule on "/api/v3/account" fails that read
        self.stream_faults = Faults()
        self.hub = StreamHub(self.stream_faults, self._snapshot, self._is_listen_key)
        self._auth_clock = auth_clock
        settings = exchange.settings
        self.ws_api = SpotWsApi(settings.secret_for, settings.recv_window_max_ms, auth_clock, self.stream_faults)
        # /sim/deposit, /sim/withdraw, /sim/earn/...: what happens at the exchange without its API, for rehearsals
        self.sim_wallets = SimWalletApi(exchange.wallets, exchange.earn, settings.secret_for, self._publish_balances)
        self._listen_key: str | None = None
        self._published: dict[str, Decimal] = {}  # spot balances as last told to the user stream
        self._moved: dict[str, SpotPair] = {}

    @property
    def wallets(self) -> Wallets:
        """The account's spot and funding wallets: the exchange's own, where the transfer endpoints move money."""
        return self.exchange.wallets

    def balances(self) -> dict[str, Decimal]:
        return self.wallets.assets("MAIN")

    def add_routes(self, app: web.Application, sapi: Handler) -> None:
        """The spot routes; `sapi` serves the wallet endpoints (`/sapi/...`) a client of the spot host sends
        under its prefix (`/spot/sapi/...`), as the exchange's own host serves them."""

        async def unprefixed_sapi(request: web.Request) -> web.StreamResponse:
            path = request.path.removeprefix(_PREFIX)  # the query kept as sent: a signed GET is signed over it
            return await sapi(request.clone(rel_url=request.rel_url.with_path(path, keep_query=True)))

        app.router.add_route("*", "/api/{tail:.*}", self._dispatch)
        app.router.add_route("*", _PREFIX + "/api/{tail:.*}", self._dispatch)
        app.router.add_route("*", _PREFIX + "/sapi/{tail:.*}", unprefixed_sapi)
        app.router.add_get(_PREFIX + "/ws", self._websocket)
        app.router.add_get(_PREFIX + "/ws/{tail}", self._websocket)
        app.router.add_get(_PREFIX + "/stream", self._combined)
        self.ws_api.add_routes(app)
        self.sim_wallets.add_routes(app)

    async def stop(self) -> None:
        await self.hub.drop_all()
        await self.ws_api.drop_all()

    def deposit(self, asset: str, qty: Decimal | float | str, wallet: Wallet = "MAIN") -> None:
        """Credit `qty` of `asset` as a deposit from outside would, and tell the user streams at once."""
        self.wallets.credit(wallet, asset, qty)
        self._publish_balances()

    def withdraw(self, asset: str, qty: Decimal | float | str, wallet: Wallet = "MAIN") -> None:
        """Debit `qty` of `asset` as a withdrawal would (InsufficientBalance when short), and tell the streams."""
        self.wallets.debit(wallet, asset, qty)
        self._publish_balances()

    # ---- the market ---------------------------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        for pair in self.market.on_event(event):
            self._moved[pair.id] = pair

    def publish(self) -> None:
        """Send what moved since the last call to the market streams, and balance changes to the user stream."""
        moved, self._moved = list(self._moved.values()), {}
        if moved:
            self.hub.publish_market(lambda stream: self._payloads(stream, moved))
        self._publish_balances()

    def _publish_balances(self) -> None:
        now = self.balances()
        changed = {a: now.get(a, Decimal(0)) for a in {*now, *self._published} if now.get(a) != self._published.get(a)}
        before, self._published = self._published, now
        if not changed:
            return
        events = spot_payloads.balance_events(changed, before, self._auth_clock.now_ms())
        if self._listen_key is not None:
            self.hub.publish_user(events)
        self.ws_api.publish(events)

    def _snapshot(self, stream: str) -> list[Payload]:
        return self._payloads(stream, self.market.listed())

    def _payloads(self, stream: str, moved: list[SpotPair]) -> list[Payload]:
        name, _, channel = stream.partition("@")
        name = name.lower()
        if name in ("!miniticker", "!ticker"):
            build = spot_payloads.mini_ticker if name == "!miniticker" else spot_payloads.full_ticker
            rows = [row for pair in moved if (row := build(self.market, pair)) is not None]
            return [rows] if rows else []
        pair = self.market.by_id(name)
        if pair is None or pair not in moved:
            return []
        value = self._value(pair, channel.split("@", 1)[0])
        return [value] if value is not None else []

    def _value(self, pair: SpotPair, channel: str) -> dict[str, Any] | None:
        market = self.market
        if channel == "miniTicker":
            return spot_payloads.mini_ticker(market, pair)
        if channel == "ticker":
            return spot_payloads.full_ticker(market, pair)
        if channel == "bookTicker":
            market.update_id += 1
            return spot_payloads.book_ticker(market, pair, market.update_id)
        if channel in _PARTIAL_DEPTHS:
            market.update_id += 1
            bids, asks = market.levels(pair)
            levels = _PARTIAL_DEPTHS[channel]
            return {"lastUpdateId": market.update_id, "bids": [[p, q] for p, q in bids.items()][:levels],
                    "asks": [[p, q] for p, q in asks.items()][:levels]}  # fmt: skip
        if channel.startswith("kline_") and (step := INTERVALS_MS.get(channel[len("kline_") :])) is not None:
            now = market.now_ms
            candles = market.candles(pair).klines(step, now - now % step, None, 1)
            interval = channel[len("kline_") :]
            return spot_payloads.kline_event(pair, candles[-1], interval, step, now) if candles else None
        return None

    # ---- REST -----------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        return await rest_answer(request, _PREFIX, self.rest_faults, self._handle, self.publish)

    def _handle(self, method: str, path: str, raw: str, headers: Mapping[str, str]) -> Any:
        settings = self.exchange.settings
        if path == _LISTEN_KEY_PATH:
            auth.require_api_key(headers, settings.secret_for)
            return self._listen_key_request(method)
        route = SPOT_ROUTES.get((method, path))
        if route is None:
            raise errors.unknown_path()
        signed, handler = route
        if signed:
            secret = auth.require_api_key(headers, settings.secret_for)
            params = auth.check_signed(raw, secret, self._auth_clock.now_ms(), settings.recv_window_max_ms)
        else:
            params = auth.parse_params(raw)
        view = SpotView(self.market, self.balances, self._auth_clock.now_ms(), settings.taker_fee_bps)
        return handler(view, params)

    def _listen_key_request(self, method: str) -> dict[str, str]:
        if method == "POST":
            if self._listen_key is None:
                self._listen_key = secrets.token_hex(32)
                self._publish_balances()  # what changed before goes to the open WebSocket API sessions only
            return {"listenKey": self._listen_key}
        if method in ("PUT", "DELETE"):
            if self._listen_key is None:
                raise errors.listen_key_does_not_exist()
            if method == "DELETE":
                self._listen_key = None
            return {}
        raise errors.unknown_path()

    # ---- websockets -----------------------------------------------------------------------------------

    def _is_listen_key(self, key: str) -> bool:
        return self._listen_key is not None and key == self._listen_key

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "")
        if tail and "@" not in tail and not tail.isdigit():  # /spot/ws/<listenKey>: the spot user stream
            if not self._is_listen_key(tail):
                return error_response(errors.listen_key_does_not_exist())
            return await self.hub.serve_user(request, tail)
        return await self.hub.serve_market(request, [tail] if "@" in tail else [])

    async def _combined(self, request: web.Request) -> web.StreamResponse:
        names = [s for s in request.query.get("streams", "").split("/") if s]
        return await self.hub.serve_market(request, names, combined=True)
