"""The control API bounds what a client can hold and what it can slip in (issue 14, item 7): a request must arrive
whole within the read timeout, connections beyond the cap are turned away at once, and a body is refused when a
key repeats or a number is not one a command can mean.

The server is the real one on 127.0.0.1; the clients are raw asyncio streams that send half a request, or
nothing, and aiohttp for the legitimate client. Waits are on the server's own doing (a closed connection, an
answer), each bounded by WAIT_S; the read timeouts are small so those waits are short.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot.commands import Actor, Command
from bot.control.listen import ListenAddress
from bot.control.server import ConnectionLimits, ControlServer

pytestmark = pytest.mark.asyncio

TOKEN = "limits-test-token-0123456789abcdef"
WAIT_S = 10.0  # the most the server may take to do what is awaited; never a synchronisation delay
QUICK = ConnectionLimits(read_timeout_s=0.5, max_connections=256)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Target:
    """The daemon's side of the API: a status, and the commands that got through, in order."""

    commands: list[Command] = field(default_factory=list)

    def status(self) -> dict[str, Any]:
        return {"state": "active", "commands": len(self.commands)}

    async def command(self, command: Command, args: Mapping[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        self.commands.append(command)
        return self.status()


@dataclass
class Served:
    target: Target
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def connect(self, first_bytes: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        if first_bytes:
            writer.write(first_bytes)
            await writer.drain()
        return reader, writer


@asynccontextmanager
async def served(limits: ConnectionLimits = QUICK) -> AsyncIterator[Served]:
    target = Target()
    server = ControlServer(target, TOKEN, limits)
    bound = await server.start(ListenAddress("127.0.0.1", 0))
    try:
        yield Served(target, bound.port)
    finally:
        await server.stop()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (a reset counts as closed)."""
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65_536), WAIT_S):
            received += chunk
    except ConnectionResetError:
        pass
    return received


async def get_status(base_url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/status", headers=AUTH) as response:
        await response.read()
        return response.status


# ---- timeouts --------------------------------------------------------------------------------------------


async def test_two_hundred_half_open_connections_are_all_closed_within_the_timeout_and_a_client_is_still_served() -> (
    None
):
    async with served() as api:
        half_sent = b"POST /commands/kill HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
        silent = [await api.connect() for _ in range(100)]
        slow = [await api.connect(half_sent) for _ in range(100)]
        assert await get_status(api.url) == 200  # served while the 200 are open
        answers = await asyncio.gather(*(closed_by_server(reader) for reader, _ in [*silent, *slow]))
        assert answers == [b""] * 200  # closed without an answer: nothing was asked
        assert await get_status(api.url) == 200
        for _, writer in [*silent, *slow]:
            writer.close()
    assert api.target.commands == []


async def test_a_command_whose_body_never_arrives_is_answered_408_and_closed_and_nothing_is_done() -> None:
    async with served() as api:
        head = (
            "POST /commands/set-ratio HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        reader, writer = await api.connect(head.encode() + b'{"ratio": 0.5')
        answer = await closed_by_server(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"body" in answer
    assert api.target.commands == []


async def test_an_unauthenticated_request_trickling_its_body_is_answered_401_and_then_closed() -> None:
    async with served() as api:
        head = "POST /commands/kill HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
        reader, writer = await api.connect(head.encode() + b"x" * 10)
        answer = await closed_by_server(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert api.target.commands == []


async def test_a_kept_alive_connection_left_idle_after_its_answer_is_closed_after_the_timeout() -> None:
    async with served() as api:
        reader, writer = await api.connect(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = await closed_by_server(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"ok": true}')


# ---- the connection cap ----------------------------------------------------------------------------------


async def test_a_connection_beyond_the_cap_is_refused_at_once_and_a_freed_slot_serves_again() -> None:
    # a read timeout far beyond WAIT_S: a connection closed within WAIT_S was closed by the cap, not the timeout
    async with served(ConnectionLimits(read_timeout_s=600.0, max_connections=8)) as api:
        held = [await api.connect() for _ in range(8)]
        reader, writer = await api.connect()
        refused = await closed_by_server(reader)
        writer.close()
        for _, one in held[:2]:
            one.close()
            await one.wait_closed()
        status = await _eventually_served(api)
        for _, one in held[2:]:
            one.close()
    assert refused.startswith(b"HTTP/1.1 503 ") or refused == b""  # the answer may be lost to the reset
    assert status == 200


async def _eventually_served(api: Served) -> int:
    """The status code of the first /status that gets a slot; the server frees a slot when it sees the close."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while loop.time() < deadline:
        try:
            return await get_status(api.url)
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)  # a pause between probes of a condition, not a synchronisation
    raise AssertionError(f"no slot freed within {WAIT_S:g}s")


# ---- bodies ----------------------------------------------------------------------------------------------


async def post(api: Served, name: str, body: str) -> tuple[int, dict[str, Any]]:
    headers = {**AUTH, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.url}/commands/{name}", data=body.encode(), headers=headers) as response,
    ):
        return response.status, json.loads(await response.read())


async def test_a_repeated_key_is_refused_400_naming_the_key_not_read_as_its_last_value() -> None:
    async with served() as api:
        code, answer = await post(api, "set-ratio", '{"ratio": 0.5, "ratio": 2.5}')
    assert code == 400
    assert "duplicate key 'ratio'" in answer["error"]
    assert api.target.commands == []


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("set-ratio", '{"ratio": -0.0}', "-0.0"),
        ("set-holding", '{"asset": "ETH", "qty": -0.0}', "-0.0"),
        ("set-ratio", '{"ratio": NaN}', "NaN"),
        ("set-ratio", '{"ratio": Infinity}', "Infinity"),
        ("set-ratio", '{"ratio": -Infinity}', "-Infinity"),
        ("set-ratio", '{"ratio": 1e999}', "1e999"),
        ("set-ratio", '{"ratio": true}', "ratio"),
        ("set-ratio", '{"ratio": "1.0"}', "ratio"),
        ("set-ratio", '{"ratio": 0.5, "for": "１h"}', "for"),
        ("set-ratio", '{"ratio": 0.5, "for": "\\uff11h"}', "for"),
        ("set-holding", '{"asset": "ETH", "qty": 1' + "0" * 400 + "}", "digits"),
    ],
)
async def test_a_number_that_is_not_one_a_command_can_mean_is_refused_400_and_nothing_is_done(
    name: str, body: str, says: str
) -> None:
    async with served() as api:
        code, answer = await post(api, name, body)
    assert code == 400, answer
    assert says in answer["error"]
    assert api.target.commands == []


async def test_a_well_formed_command_still_goes_through() -> None:
    async with served() as api:
        code, _ = await post(api, "set-ratio", '{"ratio": 0.5, "for": "2h"}')
    assert code == 200
    assert len(api.target.commands) == 1
