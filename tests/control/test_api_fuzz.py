"""Hostile requests to the control API over real HTTP on 127.0.0.1: always a JSON answer, never a 500.

Any command name (unicode too), any JSON arguments of any type, bodies that are not JSON, nested past the
parser's depth or over the size limit, and any Authorization header: each is refused with a 4xx whose error
says what was wrong, and a refused request leaves the daemon as it was (a command the engine refuses, 409,
is journaled as refused, and changes nothing else).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.commands import COMMAND_NAMES
from bot.control.server import MAX_BODY_BYTES

pytestmark = pytest.mark.asyncio

EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

TRICKY = st.sampled_from(
    ["", "ETH", "eth", "1h", "9" * 400 + "h", "0s", "-1h", "30d", "31d", "NaN", "\u202e", "🦔", "\x00", "a" * 500,
     math.nan, math.inf, -math.inf, 0, -1, 3.0, 3.0000001, 1e12, 1e13, 10**30, True, False, None]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12) | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
KNOWN_ARGS = ("ratio", "for", "asset", "qty", "flatten")
ARG_NAMES = st.sampled_from(KNOWN_ARGS) | st.text(max_size=8)
NAMES = st.sampled_from(COMMAND_NAMES) | st.text(min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))


async def state(running: Any) -> tuple[dict[str, Any], int]:
    """What a request could change: the daemon's status (less the clock) and the journaled orders."""
    status = await running.api.status()
    return {k: v for k, v in status.items() if k not in ("now", "feed_age_s")}, running.journal.count("orders")


async def post(running: Any, name: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    path = "/commands/" + quote(name, safe="")
    async with running.api.http.post(running.api.base_url + path, data=body, headers=headers or running.api.auth) as r:
        assert r.content_type == "application/json", (r.status, await r.text())
        return r.status, await r.json()


def encoded(args: Any) -> bytes:
    import json

    return json.dumps(args, allow_nan=True).encode()


async def assert_refused_or_done(running: Any, name: str, body: bytes) -> tuple[int, str]:
    """Send the request; a 4xx must carry an error and leave the daemon's state as it was."""
    before = await state(running)
    code, answer = await post(running, name, body)
    assert code in (200, 400, 404, 409, 413), (code, answer)
    if code == 200:
        assert answer["ok"] is True
        return code, ""
    assert answer["ok"] is False
    assert isinstance(answer["error"], str)
    assert answer["error"]
    assert await state(running) == before, (name, body, answer)
    return code, answer["error"]


@FUZZ
@given(name=NAMES, args=st.dictionaries(ARG_NAMES, JSON, max_size=3))
@example(name="set-ratio", args={"ratio": 0.5, "for": "9" * 400 + "h"})  # a duration no float can hold
@example(name="set-holding", args={"asset": "ETH", "qty": 10**400})  # an integer no float can hold
async def test_any_command_with_any_arguments_is_done_or_refused_with_a_reason_and_no_change(
    idle_daemon: Any, name: str, args: dict[str, Any]
) -> None:
    code, error = await assert_refused_or_done(idle_daemon, name, encoded(args))
    if code == 404:  # a name with a slash is a longer path, which no route serves
        assert "unknown command" in error or ("/" in name and error == "Not Found")
    if code == 400:  # names the command, and the argument that was wrong, given or missing
        assert name in error
        named = [*args, *(repr(key)[1:-1] for key in args), *KNOWN_ARGS]  # unprintable keys are named escaped
        assert any(key in error for key in named) or "takes no arguments" in error


@FUZZ
@given(
    body=st.binary(max_size=200)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.integers(min_value=1, max_value=MAX_BODY_BYTES // 2).map(lambda depth: b"[" * depth)
    | st.integers(min_value=1, max_value=MAX_BODY_BYTES // 5).map(lambda depth: b'{"a":' * depth)
    | JSON.filter(lambda v: not isinstance(v, dict)).map(encoded),
    name=st.sampled_from(COMMAND_NAMES),
)
async def test_a_body_that_is_not_a_json_object_is_a_400_saying_so_and_changes_nothing(
    idle_daemon: Any, body: bytes, name: str
) -> None:
    code, error = await assert_refused_or_done(idle_daemon, name, body)
    if body.strip():
        assert code == 400
        assert "body" in error


@FUZZ
@given(size=st.integers(min_value=MAX_BODY_BYTES - 64, max_value=4 * MAX_BODY_BYTES), name=NAMES)
async def test_a_body_past_the_limit_is_a_413_and_one_within_it_a_400_for_its_unknown_argument(
    idle_daemon: Any, size: int, name: str
) -> None:
    padding = b'{"pad": "' + b"x" * size + b'"}'
    code, error = await assert_refused_or_done(idle_daemon, name, padding)
    if name not in COMMAND_NAMES:  # the name is judged first: its body is never read
        assert code == 404
    elif len(padding) > MAX_BODY_BYTES:
        assert code == 413
        assert str(MAX_BODY_BYTES) in error
    else:
        assert code == 400


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)


@FUZZ
@given(authorization=HEADER_TEXT | HEADER_TEXT.map(lambda t: "Bearer " + t), name=NAMES)
async def test_any_authorization_but_the_token_is_a_401_and_changes_nothing(
    idle_daemon: Any, token: str, authorization: str, name: str
) -> None:
    if authorization.strip() == f"Bearer {token}":
        return
    before = await state(idle_daemon)
    code, answer = await post(idle_daemon, name, b"{}", headers={"Authorization": authorization})
    assert (code, answer["ok"]) == (401, False)
    assert "Bearer" in answer["error"]
    assert await state(idle_daemon) == before
