"""How the loopback exchange's side APIs (spot, COIN-M) answer a REST request, and how any of its APIs answers an
error: Binance's JSON error body (or plain text where Binance sends text), with `Retry-After` on a rate limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bot.exchange_sim.errors import BinanceError
from bot.exchange_sim.faults import Faults, Phase

Handle = Callable[[str, str, str, Mapping[str, str]], Any]  # method, path, raw parameters, headers → payload


def error_response(error: BinanceError) -> web.Response:
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    if error.plain_text:
        return web.Response(status=error.status, text=error.msg, headers=headers, content_type=error.content_type)
    return web.json_response(error.body(), status=error.status, headers=headers)


async def rest_answer(
    request: web.Request, prefix: str, faults: Faults, handle: Handle, publish: Callable[[], None]
) -> web.StreamResponse:
    """The request (its path without the API's `prefix`, its query and body parameters together) handled, unless
    an injected fault takes it first; what it changed is published to the streams whatever the outcome."""
    method, path = request.method, request.path.removeprefix(prefix)
    body = await request.text()
    raw = "&".join(part for part in (request.rel_url.raw_query_string, body) if part)
    try:
        rule = faults.take(Phase.BEFORE, method, path)
        if rule is not None:
            raise rule.as_error()
        answer = handle(method, path, raw, request.headers)
    except BinanceError as error:
        return error_response(error)
    finally:
        publish()
    return web.json_response(answer)
