"""A paper daemon on the synthetic market with its control API on 127.0.0.1, and a client for it.

`live_daemon` runs the whole realtime session (feed paced by the wall clock at SPEED, the 1 s timer, the
API) exactly as `hedgebot run --realtime` wires it; `idle_daemon` is a started daemon with the API and no
feed, for tests where nothing but the request may change the state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio

from bot import logs
from bot.clock import WallClock
from bot.config import load_config
from bot.control.listen import ListenAddress
from bot.control.server import ControlServer
from bot.control.settings import ControlSettings
from bot.domain import MarketEvent
from bot.live.assembly import build_daemon, synthetic_plan
from bot.live.daemon import Daemon
from bot.live.session import Session
from bot.store.journal import Journal

TOKEN = "control-test-token-0123456789abcdef"
SPEED = 1200.0  # simulated seconds per wall second: one synthetic minute every 50 ms
WAIT_S = 20.0  # the most any condition may take to come true before a test fails

T = TypeVar("T")


# One clip moves the whole hedge (~39,000 of BTC perp). With several clips, float sums of fills can leave the
# position a hair below a lot multiple, and the clip planner's round-down then leaves one lot unflattened
# (reported; see the helper's report). Until that is fixed, single clips keep "flatten reaches zero" exact.
ONE_CLIP = 100_000.0


def paper_config(state_dir: Path, **sections: Mapping[str, Any]) -> dict[str, Any]:
    """A small paper config: fixed 50 % hedge on the BTC perp, sampled every simulated minute."""
    data: dict[str, Any] = {
        "bot": {"state_dir": str(state_dir), "span": "30d"},
        "hedge": {"policy": "fixed", "ratio": 0.5, "sample": "1m", "window": "1h", "min_samples": 3},
        "risk": {"max_order_notional": ONE_CLIP},
        "execution": {"clip_notional": ONE_CLIP, "clip_interval": "30s"},
        "control": {"listen": "127.0.0.1:0"},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return data


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    """The config as a TOML file (values: strings, numbers, bools, lists, and tables written inline)."""
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value)  # a JSON string, number or bool is the same in TOML


@dataclass
class Api:
    """Authenticated requests to one daemon's control API, answered as (HTTP status, JSON body)."""

    http: aiohttp.ClientSession
    base_url: str
    auth: Mapping[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {TOKEN}"})

    async def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.base_url + path, **kwargs) as response:
            return response.status, await response.json()

    async def post(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.base_url + path, **kwargs) as response:
            return response.status, await response.json()

    async def status(self) -> dict[str, Any]:
        code, body = await self.get("/status", headers=dict(self.auth))
        assert code == 200, body
        return dict(body["status"])

    async def command(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        code, body = await self.post(f"/commands/{name}", json=dict(args or {}), headers=dict(self.auth))
        assert code == 200, body
        return dict(body["status"])

    async def eventually(
        self, condition: Callable[[dict[str, Any]], bool], what: str, timeout_s: float = WAIT_S
    ) -> dict[str, Any]:
        """The first status that meets `condition`, polled every 50 ms for at most `timeout_s`."""

        async def probe() -> dict[str, Any] | None:
            status = await self.status()
            return status if condition(status) else None

        return await eventually(probe, what, timeout_s)


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = WAIT_S) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await probe()
        if value is not None:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout_s:g}s waiting for {what}")
        await asyncio.sleep(0.05)  # a short pause between probes of a condition, not a synchronisation


@dataclass
class Running:
    daemon: Daemon
    journal: Journal
    api: Api
    config_path: Path
    log_file: Path
    session: Session | None = None


def configure_logs(tmp_path: Path) -> Path:
    log_file = tmp_path / "hedgebot.log"
    logs.configure(log_file, "info")
    return log_file


def _daemon(tmp_path: Path, data: Mapping[str, Any]) -> tuple[Daemon, Journal, Path, Iterable[MarketEvent]]:
    config_path = write_config(tmp_path / "hedgebot.toml", data)
    config = load_config(config_path)
    plan = synthetic_plan(config, WallClock().now_ms(), config.span_ms, realtime=True)
    journal = Journal(tmp_path / "journal.sqlite")
    daemon = build_daemon(config, plan, journal)
    daemon.reloader = lambda: load_config(config_path)
    return daemon, journal, config_path, plan.events


def _http() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S))


@asynccontextmanager
async def live(tmp_path: Path, data: Mapping[str, Any]) -> AsyncIterator[Running]:
    """The whole realtime session, as `hedgebot run --realtime` wires it, with its API on 127.0.0.1."""
    log_file = configure_logs(tmp_path)
    daemon, journal, config_path, events = _daemon(tmp_path, data)
    control = ControlSettings(ListenAddress("127.0.0.1", 0), TOKEN)
    session = Session(daemon, events, realtime=True, speed=SPEED, control=control)
    task = asyncio.create_task(session.run())
    ready = asyncio.create_task(session.ready.wait())
    await asyncio.wait({task, ready}, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        task.result()  # the session failed to start: show why
    assert session.control_address is not None, "the session did not start in time"
    http = _http()
    api = Api(http, f"http://127.0.0.1:{session.control_address.port}")
    try:
        yield Running(daemon, journal, api, config_path, log_file, session)
    finally:
        session.stop()
        try:
            await asyncio.wait_for(task, WAIT_S)
        finally:
            await http.close()
            journal.close()


@asynccontextmanager
async def idle(tmp_path: Path, address: ListenAddress) -> AsyncIterator[Running]:
    """A started daemon serving the API, with no feed: nothing but a request can change its state."""
    log_file = configure_logs(tmp_path)
    daemon, journal, config_path, _ = _daemon(tmp_path, paper_config(tmp_path))
    await daemon.start()
    server = ControlServer(daemon, TOKEN)
    bound = await server.start(address)
    http = (
        _http()
        if bound.unix_path is None
        else aiohttp.ClientSession(connector=aiohttp.UnixConnector(str(bound.unix_path)))
    )
    base_url = "http://localhost" if bound.unix_path is not None else f"http://127.0.0.1:{bound.port}"
    try:
        yield Running(daemon, journal, Api(http, base_url), config_path, log_file)
    finally:
        await http.close()
        await server.stop()
        await daemon.venue.close()
        journal.close()


@pytest_asyncio.fixture
async def live_daemon(tmp_path: Path) -> AsyncIterator[Running]:
    async with live(tmp_path, paper_config(tmp_path)) as running:
        yield running


@pytest_asyncio.fixture
async def idle_daemon(tmp_path: Path) -> AsyncIterator[Running]:
    async with idle(tmp_path, ListenAddress("127.0.0.1", 0)) as running:
        yield running


@pytest.fixture
def start_live() -> Callable[[Path, Mapping[str, Any]], AbstractAsyncContextManager[Running]]:
    """For tests with their own config: `async with start_live(tmp_path, config_data(...)) as running`."""
    return live


@pytest.fixture
def start_idle() -> Callable[[Path, ListenAddress], AbstractAsyncContextManager[Running]]:
    return idle


@pytest.fixture
def config_data() -> Callable[..., dict[str, Any]]:
    """`config_data(state_dir, hedge={...})`: the test config as data, with some sections changed."""
    return paper_config


@pytest.fixture
def token() -> str:
    return TOKEN
