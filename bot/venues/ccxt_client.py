"""The ccxt client of the live venue and the market feed: construction, endpoint override, keys, REST calls.

`make_client` builds a ccxt.pro client (REST and websockets in one) for `[venue] exchange`; with
`[venue] endpoint` every REST and websocket URL points at that host instead (the loopback exchange in tests).
The client is a subclass of ccxt's (ccxt itself is untouched) that survives a message it cannot parse, shows
every message to observers (`wake_on_messages`) and reports each watch's connection to `run_stream`.
`CcxtRest` makes REST calls through the error mapping of `ccxt_errors`: queries are retried with backoff
while the wait is short, creates and cancels never. `FreshEntries` tells unread entries of ccxt's caches.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt.pro as ccxt_pro

from bot.config import VenueSection
from bot.domain import parse_duration_ms
from bot.execution.venue_errors import Fatal, Retryable
from bot.logs import get_logger
from bot.secrets import SecretError, read_secret, redact
from bot.venues.ccxt_errors import Backoff, Operation, map_ccxt_error, report_connection, retry_after_s

__all__ = [
    "CcxtRest",
    "FreshEntries",
    "make_client",
    "make_spot_client",
    "point_at",
    "read_api_keys",
    "read_api_password",
    "unless_closed",
    "wake_on_messages",
]

K = TypeVar("K")
V = TypeVar("V")


def read_api_keys(venue: VenueSection) -> tuple[str, str]:
    """The API key and secret (environment, else 0600 files); Fatal naming what is missing."""
    try:
        key = read_secret(venue.api_key_env, venue.api_key_file)
        secret = read_secret(venue.api_secret_env, venue.api_secret_file)
    except SecretError as exc:
        raise Fatal(str(exc)) from None
    if not key or not secret:
        missing = [name for name, value in ((venue.api_key_env, key), (venue.api_secret_env, secret)) if not value]
        raise Fatal(f"live mode needs exchange API keys: set {' and '.join(missing)} (or venue.api_*_file)")
    if venue.exchange in _NEEDS_PASSWORD and not read_api_password(venue):
        raise Fatal(
            f"live mode on {venue.exchange} needs the API key's passphrase: set {venue.api_password_env}"
            " (or venue.api_password_file)"
        )
    return key, secret


_NEEDS_PASSWORD = frozenset({"okx"})  # ccxt: requiredCredentials password (OKX's API passphrase)


def read_api_password(venue: VenueSection) -> str | None:
    """The API passphrase (environment, else a 0600 file) some exchanges sign with (OKX); None when unset."""
    try:
        return read_secret(venue.api_password_env, venue.api_password_file)
    except SecretError as exc:
        raise Fatal(str(exc)) from None


def make_client(
    venue: VenueSection,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    password: str | None = None,
    timeout_ms: int = 10_000,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A ccxt.pro client for `venue.exchange`, public only when no key is given; close it when done.

    `password` is the API passphrase of exchanges that sign with one (OKX), from `read_api_password`."""
    config: dict[str, Any] = {
        "timeout": timeout_ms,
        "enableRateLimit": venue.rate_limit,
        "options": {
            "recvWindow": parse_duration_ms(venue.request_window),  # Binance and Bybit; others ignore it
            "defaultType": "swap",  # derivatives by default (okx defaults to spot)
            "fetchCurrencies": False,  # not needed, and it calls a spot host that needs a spot-enabled key
            "warnOnFetchOpenOrdersWithoutSymbol": False,
            "watchPositions": {"fetchPositionsSnapshot": False},  # positions come from REST snapshots
        },
        **(overrides or {}),
    }
    if api_key and secret:
        config |= {"apiKey": api_key, "secret": secret}
        if password:
            config["password"] = password
    exchange = _tolerant(getattr(ccxt_pro, venue.exchange))(config)
    if venue.endpoint:
        point_at(exchange, venue.endpoint)
    return exchange


def make_spot_client(
    exchange_id: str,
    endpoint: str | None = None,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A ccxt.pro client of `exchange_id`'s spot markets (prices of holdings, spot balances); close it when done.

    Only spot markets are loaded (Binance would also read its futures, options and margin hosts)."""
    options: dict[str, Any] = {"defaultType": "spot", "fetchCurrencies": False}
    if exchange_id == "binance":
        options |= {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False}
    config: dict[str, Any] = {"timeout": 10_000, "enableRateLimit": True, "options": options, **(overrides or {})}
    if api_key and secret:
        config |= {"apiKey": api_key, "secret": secret}
    exchange = _tolerant(getattr(ccxt_pro, exchange_id))(config)
    if endpoint:
        point_at(exchange, endpoint)
    return exchange


def point_at(exchange: Any, endpoint: str) -> None:
    """Send every REST and websocket request of `exchange` to `endpoint` (http[s]://host:port[/prefix]).

    ccxt picks its futures error table by the exchange's own host name; at another host that table is merged
    into the shared one, so -2019 still raises InsufficientFunds rather than a plain ExchangeError.
    """
    target = urlsplit(endpoint)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise Fatal(f"venue.endpoint {endpoint!r} is not a URL like 'http://127.0.0.1:8765'")
    ws_scheme = "wss" if target.scheme == "https" else "ws"
    schemes = {"http": target.scheme, "https": target.scheme, "ws": ws_scheme, "wss": ws_scheme}

    def rewrite(url: str) -> str:
        parts = urlsplit(url)
        scheme = schemes.get(parts.scheme)
        if scheme is None:
            return url
        return urlunsplit((scheme, target.netloc, target.path.rstrip("/") + parts.path, parts.query, ""))

    exchange.urls["api"] = _map_strings(exchange.urls["api"], rewrite)
    specific = exchange.exceptions.get(exchange.options.get("defaultSubType") or "linear")
    if isinstance(specific, Mapping):
        for kind in ("exact", "broad"):
            exchange.exceptions[kind] = {**exchange.exceptions.get(kind, {}), **specific.get(kind, {})}


def _map_strings(value: Any, rewrite: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return rewrite(value)
    if isinstance(value, Mapping):
        return {key: _map_strings(item, rewrite) for key, item in value.items()}
    return value


def _tolerant(base: Any) -> Any:
    """`base` with two changes to its websocket side (a subclass: ccxt itself is untouched).

    - A message ccxt cannot parse is dropped and counted in `malformed_messages`. Without this, the exception
      escapes ccxt's receive loop, which then stops for good: the stream would go silent. That covers a frame
      ccxt cannot even decode (truncated, or JSON with NaN): its websocket client decodes outside
      `handle_message`, so each client's decoder is guarded too (`client`).
    - Every decoded message is shown to the observers added with `add_message_observer`: ccxt resolves one
      watch per batch of messages, so a detail only a raw message carries (why a balance changed) is read here.
    - Each watch reports its connection (`report_connection`), so `run_stream` re-syncs by REST only once
      the subscription is live.
    """
    log = get_logger(component="ccxt_client")

    def handle_message(self: Any, client: Any, message: Any) -> None:
        try:
            base.handle_message(self, client, message)
            for observe in self.__dict__.get("message_observers", ()):
                observe(message)
        except Exception as exc:  # one malformed message: count it, keep the connection
            self.malformed_messages += 1
            log.warning("stream_message_malformed", exchange=self.id, error=redact(repr(exc))[:300])

    def client(self: Any, url: str) -> Any:
        ws = base.client(self, url)
        if not ws.__dict__.get("tolerant_decode"):
            decode = ws.handle_text_or_binary_message

            def guarded(data: Any) -> Any:
                try:
                    return decode(data)
                except Exception as exc:  # a frame that is not JSON at all: count it, keep the connection
                    self.malformed_messages += 1
                    log.warning("stream_message_malformed", exchange=self.id, error=redact(repr(exc))[:300])
                    return None

            ws.handle_text_or_binary_message = guarded
            ws.tolerant_decode = True
        return ws

    def add_message_observer(self: Any, observer: Callable[[Any], None]) -> None:
        self.__dict__.setdefault("message_observers", []).append(observer)

    def watch(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        future = base.watch(self, url, *args, **kwargs)
        _report(self, url)
        return future

    def watch_multiple(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        future = base.watch_multiple(self, url, *args, **kwargs)
        _report(self, url)
        return future

    members = {
        "handle_message": handle_message,
        "add_message_observer": add_message_observer,
        "client": client,
        "watch": watch,
        "watch_multiple": watch_multiple,
    }
    return type(base.__name__, (base,), {**members, "malformed_messages": 0})


def _report(exchange: Any, url: str) -> None:
    client = exchange.clients.get(url)
    if client is not None:
        report_connection(client.connected)


class CcxtRest:
    """REST calls of one client, with ccxt's exceptions mapped (and queries retried)."""

    def __init__(self, client: Any, backoff: Backoff, attempts: int, rng: random.Random) -> None:
        self.client = client
        self.backoff = backoff
        self.attempts = max(1, attempts)
        self.rng = rng
        self.log = get_logger(component="ccxt_client", exchange=str(client.id))

    async def call(self, operation: Operation, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One request; a failure raises the project's exception for it (creates: UnknownOutcome on timeout)."""
        try:
            return await method(*args)
        except Exception as exc:
            headers = getattr(self.client, "last_response_headers", None)
            mapped = map_ccxt_error(exc, operation, retry_after=retry_after_s(headers))
            if mapped is None:
                raise
            raise mapped from exc

    async def read(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """A query, retried with backoff while the wait is short; a Retry-After beyond the cap reaches the caller."""
        for attempt in range(self.attempts):
            try:
                return await self.call(Operation.READ, method, *args)
            except Retryable as exc:
                delay = max(self.backoff.delay_s(attempt, self.rng), exc.retry_after_s or 0.0)
                if attempt + 1 >= self.attempts or delay > self.backoff.cap_s:
                    raise
                self.log.info("query_retrying", error=str(exc), delay_s=round(delay, 3))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")


def unless_closed(client: Any, watch: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """`watch`, refused once the client was closed: a ccxt watch would quietly reopen a closed client (and
    leak its new session); this one raises ExchangeClosedByUser, which ends the stream."""

    async def watch_while_open() -> Any:
        if getattr(client, "closed_by_user", False):
            raise ccxt_pro.ExchangeClosedByUser(f"{client.id} was closed")
        return await watch()

    return watch_while_open


def wake_on_messages(client: Any, wake: asyncio.Event) -> None:
    """Set `wake` after every websocket message the client handles (clients made by `make_client`)."""
    if hasattr(client, "add_message_observer"):
        client.add_message_observer(lambda _message: wake.set())


class FreshEntries:
    """Which entries of ccxt's caches have not been read yet, or have changed since they were.

    ccxt's order cache (`ArrayCacheBySymbolById`) updates an order it already holds in place: the same object
    carries the new status. So an entry is unread when its object was not there at the last read, or when its
    content differs from the copy taken then (an order read "open" and since filled). The entries last seen are
    held, so an id cannot be reused by another object while it is remembered.
    """

    def __init__(self) -> None:
        self._read: dict[str, dict[int, tuple[object, object]]] = {}  # cache -> id -> (entry, copy when read)

    def fresh(self, cache: str, items: Iterable[tuple[K, V]]) -> list[tuple[K, V]]:
        """The (key, entry) pairs of `cache` that are new or changed since the last call, in their order."""
        before = self._read.get(cache, {})
        now = {id(entry): (key, entry) for key, entry in items}
        self._read[cache] = {ident: (entry, _copy(entry)) for ident, (_, entry) in now.items()}
        return [(key, entry) for ident, (key, entry) in now.items() if _changed(before.get(ident), entry)]


def _copy(entry: object) -> object:
    return dict(entry) if isinstance(entry, dict) else entry  # ccxt's entries are dicts; a shallow copy suffices


def _changed(seen: tuple[object, object] | None, entry: object) -> bool:
    """Whether `entry` differs from what was read of it (`seen`: the object then and its copy)."""
    if seen is None or seen[0] is not entry:
        return True
    return isinstance(entry, dict) and entry != seen[1]
