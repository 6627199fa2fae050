"""Building ccxt clients: endpoint override, keys, and what each exchange can do (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
import pytest_asyncio

from bot.config import VenueSection
from bot.execution.venue_errors import Fatal
from bot.venues.ccxt_client import make_client, read_api_keys
from bot.venues.ccxt_parse import capabilities_of

ENDPOINT = "http://127.0.0.1:8765"


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(exchange: str, endpoint: str | None = ENDPOINT) -> Any:
        client = make_client(VenueSection.model_validate({"exchange": exchange, "endpoint": endpoint}))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def every_url(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [url for item in value.values() for url in every_url(item)]
    return []


@pytest.mark.asyncio
async def test_an_endpoint_points_every_rest_and_websocket_url_at_that_host(clients: Callable[..., Any]) -> None:
    client = clients("binanceusdm")
    urls = every_url(client.urls["api"])
    assert client.urls["api"]["fapiPrivateV3"] == f"{ENDPOINT}/fapi/v3"
    assert client.urls["api"]["ws"]["linear"] == "ws://127.0.0.1:8765/ws"
    assert all(url.startswith(("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/")) for url in urls)


@pytest.mark.asyncio
async def test_at_another_host_binance_futures_errors_keep_their_meaning(clients: Callable[..., Any]) -> None:
    client = clients("binanceusdm")
    assert client.exceptions["exact"]["-2019"] is ccxt.InsufficientFunds
    assert client.exceptions["exact"]["-2013"] is ccxt.OrderNotFound


@pytest.mark.asyncio
async def test_an_endpoint_that_is_not_a_url_is_fatal() -> None:
    with pytest.raises(Fatal, match="not a URL"):
        make_client(VenueSection(endpoint="127.0.0.1:8765"))


@pytest.mark.asyncio
async def test_binanceusdm_streams_marks_with_funding_books_and_the_user_stream(clients: Callable[..., Any]) -> None:
    caps = capabilities_of(clients("binanceusdm"))
    assert (caps.mark_stream, caps.funding_stream, caps.book_stream) == ("watch_mark_prices", "mark", True)
    assert caps.user_streams == ("watch_orders", "watch_my_trades", "watch_balance", "watch_positions")
    assert (caps.client_id_param, caps.marks_from_funding_rates, caps.fetch_orders) == ("origClientOrderId", True, True)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("exchange", "mark", "funding", "client_id_param"),
    [
        ("bybit", "watch_tickers", "ticker", "orderLinkId"),
        ("okx", "watch_mark_prices", "watch_funding_rate", "clOrdId"),
    ],
)
async def test_bybit_and_okx_load_and_map_their_capabilities_without_network(
    clients: Callable[..., Any], exchange: str, mark: str, funding: str, client_id_param: str
) -> None:
    client = clients(exchange)
    caps = capabilities_of(client)
    assert (caps.exchange, caps.derivatives, caps.mark_stream, caps.funding_stream) == (exchange, True, mark, funding)
    assert (caps.client_id_param, caps.set_leverage, caps.set_margin_mode, caps.user_stream) == (
        client_id_param,
        True,
        True,
        True,
    )
    assert client.options["defaultType"] == "swap"
    assert all("127.0.0.1:8765" in url or "{" not in url for url in every_url(client.urls["api"]))


@pytest.mark.asyncio
async def test_a_client_made_without_keys_is_public(clients: Callable[..., Any]) -> None:
    client = clients("binanceusdm", endpoint=None)
    assert client.apiKey in (None, "")
    assert client.urls["api"]["fapiPublic"].startswith("https://")


def test_keys_come_from_the_environment_or_a_private_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret-value\n")
    secret_file.chmod(0o600)
    monkeypatch.setenv("HEDGEBOT_API_KEY", "env-key-value")
    monkeypatch.delenv("HEDGEBOT_API_SECRET", raising=False)
    assert read_api_keys(VenueSection(api_secret_file=secret_file)) == ("env-key-value", "file-secret-value")
    secret_file.chmod(0o644)
    with pytest.raises(Fatal, match="chmod 600"):
        read_api_keys(VenueSection(api_secret_file=secret_file))
