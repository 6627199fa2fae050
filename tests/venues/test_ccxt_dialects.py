"""bybit and okx through the venue, offline: their own REST payloads through ccxt's parsers into instruments,
and the margin mode and leverage the venue sets at start-up arriving in each exchange's own dialect.

A loopback recorder (aiohttp on 127.0.0.1) stands in for the exchange: it answers each request with the
exchange's recorded market payloads (tests/venues/payloads, in the formats of Bybit's v5 instruments-info and
OKX's v5 public/instruments) or a canned success, and keeps what it was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.config import Config, VenueSection, parse_config
from bot.domain import ClientOrderId, Instrument, InstrumentKind, OrderRequest, Side, Symbol
from bot.execution.venue_errors import Fatal
from bot.secrets import MASK, redact
from bot.venues.ccxt_client import make_client, read_api_keys, read_api_password
from bot.venues.ccxt_venue import CcxtVenue, open_ccxt_venue

PAYLOADS = Path(__file__).parent / "payloads"
NO_THROTTLE = {"enableRateLimit": False}
KEY, SECRET, PASSPHRASE = "dialect-key-0001", "dialect-secret-0001", "dialect-passphrase-0001"
GUARD_S = 10.0  # a stuck start fails the test instead of hanging it; never a synchronisation delay
MARCH_27 = 1_806_048_000_000  # 2027-03-26 08:00 UTC, the quarterlies' delivery in the payloads


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    query: Mapping[str, str]
    body: Any  # the JSON body: an object, or a list (OKX's batch orders)
    headers: Mapping[str, str]


Answer = Callable[[str, str, Mapping[str, str]], Any]  # (method, path, query) -> JSON, or None: the default


@dataclass
class Recorder:
    """An exchange stand-in on loopback: canned answers, every request kept (websocket upgrades refused)."""

    exchange: str
    answer: Answer
    received: list[Received] = field(default_factory=list)
    url: str = ""
    streams_tried: asyncio.Event = field(default_factory=asyncio.Event)  # a websocket upgrade was asked for

    async def handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        body = json.loads(text) if text.startswith(("{", "[")) else {}
        self.received.append(Received(request.method, request.path, dict(request.query), body, dict(request.headers)))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            self.streams_tried.set()
            return web.Response(status=404)  # the venue's user streams: not what these tests are about
        answer = self.answer(request.method, request.path, request.query)
        return web.json_response(answer if answer is not None else self._success())

    def _success(self) -> Any:
        if self.exchange == "okx":
            return {"code": "0", "msg": "", "data": []}
        return {"retCode": 0, "retMsg": "OK", "result": {"list": []}, "retExtInfo": {}, "time": 1_767_225_600_000}

    def posts(self) -> list[Received]:
        return [r for r in self.received if r.method == "POST"]


RecorderFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def recorders() -> AsyncIterator[RecorderFactory]:
    runners: list[web.AppRunner] = []

    async def start(exchange: str, answer: Answer) -> Recorder:
        recorder = Recorder(exchange, answer)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return recorder

    yield start
    for runner in runners:
        await runner.cleanup()


# ---- each exchange's answers ---------------------------------------------------------------------------


def bybit_answers(*, unified: bool, leverage_answer: Any = None) -> Answer:
    def answer(method: str, path: str, query: Mapping[str, str]) -> Any:
        if path == "/v5/market/instruments-info":
            category = query.get("category")
            if category in ("linear", "inverse") and query.get("status") != "PreLaunch":
                return payload(f"bybit_instruments_{category}.json")
            return {"retCode": 0, "retMsg": "OK", "result": {"category": category, "list": [], "nextPageCursor": ""}}
        if path == "/v5/user/query-api":  # ccxt asks which kind of account the key belongs to
            return {"retCode": 0, "retMsg": "", "result": {"unified": 0, "uta": 1 if unified else 0, "readOnly": 0}}
        if path == "/v5/account/info":
            return {"retCode": 0, "retMsg": "OK", "result": {"unifiedMarginStatus": 5 if unified else 1}}
        if path == "/v5/position/set-leverage" and leverage_answer is not None:
            return leverage_answer
        return None

    return answer


def okx_answers(method: str, path: str, query: Mapping[str, str]) -> Any:
    if path == "/api/v5/public/instruments":
        kind = {"SWAP": "swap", "FUTURES": "futures"}.get(query.get("instType", ""))
        return payload(f"okx_instruments_{kind}.json") if kind else {"code": "0", "msg": "", "data": []}
    return None


# ---- markets: the exchange's payloads through ccxt's parser and ours -----------------------------------


async def instruments_of(recorder: Recorder, symbols: list[str]) -> dict[Symbol, Instrument]:
    client = make_client(VenueSection.model_validate({"exchange": recorder.exchange, "endpoint": recorder.url}))
    venue = CcxtVenue(client, [Symbol(s) for s in symbols])
    try:
        return await venue.load_instruments(venue.symbols)
    finally:
        await venue.close()


def described(instrument: Instrument) -> tuple[Any, ...]:
    i = instrument
    return (
        i.kind,
        i.inverse,
        i.settle,
        i.contract_size,
        i.lot_step,
        i.tick_size,
        i.min_qty,
        i.min_notional,
        i.expiry_ms,
    )


PERPETUAL, FUTURE = InstrumentKind.PERPETUAL, InstrumentKind.FUTURE


@pytest.mark.asyncio
async def test_bybit_instruments_info_maps_perpetual_and_dated_linear_and_inverse_contracts(
    recorders: RecorderFactory,
) -> None:
    recorder = await recorders("bybit", bybit_answers(unified=True))
    loaded = await instruments_of(
        recorder, ["BTC/USDT:USDT", "BTC/USDC:USDC-270326", "BTC/USD:BTC", "BTC/USD:BTC-270326"]
    )
    assert {s: described(i) for s, i in loaded.items()} == {
        # linear: one contract is one coin; the minimum notional is Bybit's lotSizeFilter.minNotionalValue
        "BTC/USDT:USDT": (PERPETUAL, False, "USDT", 1.0, 0.001, 0.1, 0.001, 5.0, None),
        "BTC/USDC:USDC-270326": (FUTURE, False, "USDC", 1.0, 0.001, 0.5, 0.001, 1.0, MARCH_27),
        # inverse: one contract is 1 USD, settled in BTC; Bybit states no minimum notional for them
        "BTC/USD:BTC": (PERPETUAL, True, "BTC", 1.0, 1.0, 0.5, 1.0, 0.0, None),
        "BTC/USD:BTC-270326": (FUTURE, True, "BTC", 1.0, 1.0, 0.5, 1.0, 0.0, MARCH_27),
    }
    categories = {r.query.get("category") for r in recorder.received if r.path == "/v5/market/instruments-info"}
    assert {"linear", "inverse"} <= categories


@pytest.mark.asyncio
async def test_okx_public_instruments_map_perpetual_and_dated_linear_and_inverse_contracts(
    recorders: RecorderFactory,
) -> None:
    recorder = await recorders("okx", okx_answers)
    loaded = await instruments_of(
        recorder, ["BTC/USDT:USDT", "BTC/USDT:USDT-270326", "BTC/USD:BTC", "BTC/USD:BTC-270326"]
    )
    assert {s: described(i) for s, i in loaded.items()} == {
        # linear: ctVal 0.01 BTC per contract; OKX states no minimum notional for contracts
        "BTC/USDT:USDT": (PERPETUAL, False, "USDT", 0.01, 0.01, 0.1, 0.01, 0.0, None),
        "BTC/USDT:USDT-270326": (FUTURE, False, "USDT", 0.01, 0.1, 0.1, 0.1, 0.0, MARCH_27),
        # inverse: ctVal 100 USD per contract, settled in BTC
        "BTC/USD:BTC": (PERPETUAL, True, "BTC", 100.0, 1.0, 0.1, 1.0, 0.0, None),
        "BTC/USD:BTC-270326": (FUTURE, True, "BTC", 100.0, 1.0, 0.1, 1.0, 0.0, MARCH_27),
    }
    kinds = {r.query.get("instType") for r in recorder.received if r.path == "/api/v5/public/instruments"}
    assert {"SWAP", "FUTURES"} <= kinds


# ---- start-up: margin mode and leverage in each exchange's dialect -------------------------------------


def live_config(recorder: Recorder, instruments: list[str], **venue: Any) -> Config:
    section = {"exchange": recorder.exchange, "endpoint": recorder.url, "margin_mode": "isolated", "leverage": 3}
    return parse_config({"venue": {**section, **venue}, "hedge": {"instruments": instruments}})


async def started(recorder: Recorder, config: Config) -> None:
    """Open the venue of `config` and run its start-up, through to its user streams' first connection."""
    venue = await open_ccxt_venue(config, overrides=NO_THROTTLE)
    try:
        await venue.start()
        await asyncio.wait_for(recorder.streams_tried.wait(), GUARD_S)
    finally:
        await venue.close()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", KEY)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", SECRET)
    monkeypatch.setenv("HEDGEBOT_API_PASSWORD", PASSPHRASE)


SETUP_PATHS = ("/v5/account/set-margin-mode", "/v5/position/switch-isolated", "/v5/position/set-leverage")


@pytest.mark.asyncio
@pytest.mark.usefixtures("keys")
async def test_on_a_bybit_unified_account_isolated_margin_is_set_for_the_account_and_leverage_per_symbol(
    recorders: RecorderFactory,
) -> None:
    recorder = await recorders("bybit", bybit_answers(unified=True))
    await started(recorder, live_config(recorder, ["BTC/USDT:USDT", "ETH/USDT:USDT"]))
    sent = [(r.path, dict(r.body)) for r in recorder.posts() if r.path in SETUP_PATHS]
    assert sent == [
        ("/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"}),
        (
            "/v5/position/set-leverage",
            {"symbol": "BTCUSDT", "buyLeverage": "3", "sellLeverage": "3", "category": "linear"},
        ),
        ("/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"}),
        (
            "/v5/position/set-leverage",
            {"symbol": "ETHUSDT", "buyLeverage": "3", "sellLeverage": "3", "category": "linear"},
        ),
    ]
    assert all(r.headers.get("X-BAPI-API-KEY") == KEY for r in recorder.posts())


@pytest.mark.asyncio
@pytest.mark.usefixtures("keys")
async def test_on_a_bybit_classic_account_isolated_margin_is_switched_per_symbol_with_its_leverage(
    recorders: RecorderFactory,
) -> None:
    recorder = await recorders("bybit", bybit_answers(unified=False))
    await started(recorder, live_config(recorder, ["BTC/USDT:USDT"]))
    sent = [(r.path, dict(r.body)) for r in recorder.posts() if r.path in SETUP_PATHS]
    assert sent == [
        (
            "/v5/position/switch-isolated",
            {"category": "linear", "symbol": "BTCUSDT", "tradeMode": 1, "buyLeverage": "3", "sellLeverage": "3"},
        ),
        (
            "/v5/position/set-leverage",
            {"symbol": "BTCUSDT", "buyLeverage": "3", "sellLeverage": "3", "category": "linear"},
        ),
    ]


@pytest.mark.asyncio
@pytest.mark.usefixtures("keys")
async def test_bybits_leverage_not_modified_is_no_error_at_start(recorders: RecorderFactory) -> None:
    unchanged = {"retCode": 110043, "retMsg": "Set leverage not modified", "result": {}, "retExtInfo": {}}
    recorder = await recorders("bybit", bybit_answers(unified=True, leverage_answer=unchanged))
    await started(recorder, live_config(recorder, ["BTC/USDT:USDT"]))  # a restart with the same leverage
    assert [r.path for r in recorder.posts() if r.path == "/v5/position/set-leverage"] == ["/v5/position/set-leverage"]


@pytest.mark.asyncio
@pytest.mark.usefixtures("keys")
async def test_on_okx_margin_mode_and_leverage_are_set_per_instrument_in_its_mgnmode_with_the_passphrase(
    recorders: RecorderFactory,
) -> None:
    recorder = await recorders("okx", okx_answers)
    await started(recorder, live_config(recorder, ["BTC/USDT:USDT", "BTC/USDT:USDT-270326"]))
    sent = [dict(r.body) for r in recorder.posts() if r.path == "/api/v5/account/set-leverage"]
    assert sent == [
        {"lever": 3, "mgnMode": "isolated", "instId": "BTC-USDT-SWAP"},  # set_margin_mode
        {"lever": 3, "mgnMode": "isolated", "instId": "BTC-USDT-SWAP", "posSide": "net"},  # set_leverage
        {"lever": 3, "mgnMode": "isolated", "instId": "BTC-USDT-270326"},
        {"lever": 3, "mgnMode": "isolated", "instId": "BTC-USDT-270326", "posSide": "net"},
    ]
    signed = [r for r in recorder.received if "OK-ACCESS-SIGN" in r.headers]
    assert signed
    assert all(r.headers.get("OK-ACCESS-PASSPHRASE") == PASSPHRASE for r in signed)


def okx_order_answers(method: str, path: str, query: Mapping[str, str]) -> Any:
    if path == "/api/v5/trade/batch-orders" and method == "POST":
        accepted = {"clOrdId": "hb-okx-1", "ordId": "612345678901234567", "sCode": "0", "sMsg": "", "tag": ""}
        return {"code": "0", "msg": "", "data": [accepted], "inTime": "", "outTime": ""}
    return okx_answers(method, path, query)


@pytest.mark.asyncio
@pytest.mark.usefixtures("keys")
async def test_on_okx_every_order_carries_the_configured_margin_mode(recorders: RecorderFactory) -> None:
    recorder = await recorders("okx", okx_order_answers)
    venue = await open_ccxt_venue(live_config(recorder, ["BTC/USDT:USDT"]), overrides=NO_THROTTLE)
    try:
        request = OrderRequest(ClientOrderId("hb-okx-1"), Symbol("BTC/USDT:USDT"), Side.SELL, 0.05, reduce_only=True)
        update = await venue.create_order(request)
    finally:
        await venue.close()
    (batch,) = [r.body for r in recorder.posts() if r.path == "/api/v5/trade/batch-orders"]  # how ccxt sends one
    (order,) = batch
    assert (order["instId"], order["tdMode"], order["clOrdId"], order["sz"]) == (
        "BTC-USDT-SWAP",
        "isolated",  # OKX's default would be cross
        "hb-okx-1",
        "0.05",
    )
    assert order["reduceOnly"] is True
    assert (update.client_id, update.exchange_id) == ("hb-okx-1", "612345678901234567")


# ---- the OKX passphrase: environment or a 0600 file, redacted ---------------------------------------------


def test_okx_live_mode_without_a_passphrase_is_fatal_and_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_API_KEY", KEY)
    monkeypatch.setenv("HEDGEBOT_API_SECRET", SECRET)
    monkeypatch.delenv("HEDGEBOT_API_PASSWORD", raising=False)
    with pytest.raises(Fatal, match="HEDGEBOT_API_PASSWORD"):
        read_api_keys(VenueSection(exchange="okx"))
    assert read_api_keys(VenueSection(exchange="binanceusdm")) == (KEY, SECRET)  # only okx signs with one


def test_the_passphrase_comes_from_a_private_file_and_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEBOT_API_PASSWORD", raising=False)
    secret_file = tmp_path / "passphrase"
    secret_file.write_text("file-passphrase-0001\n")
    secret_file.chmod(0o600)
    venue = VenueSection(exchange="okx", api_password_file=secret_file)
    assert read_api_password(venue) == "file-passphrase-0001"
    assert redact("signed with file-passphrase-0001") == f"signed with {MASK}"
    secret_file.chmod(0o640)
    with pytest.raises(Fatal, match="chmod 600"):
        read_api_password(venue)
