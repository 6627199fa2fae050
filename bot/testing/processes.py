"""`hedgebot` as a real process against the loopback exchange, for tests that run the command line end to end.

The exchange plays prices in real time (`exchange_in_real_time`); `write_config` writes a small config trading on
it; `hedgebot_run` starts `hedgebot run` as a subprocess and `hedgebot` runs one command (`ctl`, `report`,
`check-config`) to its end. Conditions are awaited by asking the daemon's control API (`status_when`,
`hedged_status`), never by waiting a fixed time. What a helper shows on failure (a daemon's stderr, its status)
goes through `bot.secrets.redact` first, so a test that registers its secrets never prints them.

    async with exchange_in_real_time() as sim:
        config = write_config(tmp_path / "live.toml", sim, "live", tmp_path)
        async with hedgebot_run(config, env) as process, ControlClient(address, token) as control:
            status = await hedged_status(control, sim, process)
            code, out, err = await stopped(process)

Shipped with the package (like `bot.testing.loopback`) so every suite that runs the daemon as a process
runs it the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clock import Clock, WallClock
from bot.control.client import ControlClient, DaemonUnreachable
from bot.domain import MS_PER_MINUTE, MarketEvent
from bot.exchange_sim.server import ExchangeSim
from bot.exchange_sim.settings import SimSettings
from bot.secrets import redact
from bot.testing.loopback import BTC_PERP, ETH, ETH_PERP, LOOPBACK_HEDGE, priced

__all__ = [
    "BTC_PERP",
    "ETH",
    "ETH_PERP",
    "GUARD_S",
    "HEDGEBOT",
    "AlertSinks",
    "Finished",
    "alert_sinks",
    "eventually",
    "exchange_in_real_time",
    "hedgebot",
    "hedgebot_run",
    "hedged_status",
    "lots",
    "lots_of",
    "status_when",
    "stopped",
    "toml_text",
    "walk",
    "write_config",
]

GUARD_S = 60.0  # the most a condition may take (a subprocess starts ccxt); never a synchronisation delay
HEDGEBOT = Path(sys.executable).parent / "hedgebot"
T = TypeVar("T")


class Finished(NamedTuple):
    """How a `hedgebot` process ended: its exit code and what it printed."""

    code: int
    out: str
    err: str


def walk(start_ms: int, end_ms: int, step_ms: int, seed: int, calm: float = 1.0) -> list[MarketEvent]:
    """BTC and ETH (spot index and perpetual alike) on a random walk, one price per asset per step; `calm` scales
    the steps (0.2: a fifth of the usual 0.2 % and 0.3 %)."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible price path, not cryptography
    btc, eth, events = 30_000.0, 2_000.0, []
    for ts in range(start_ms, end_ms + 1, step_ms):
        btc = round(btc * (1 + rng.gauss(0, 0.002 * calm)), 1)
        eth = round(eth * (1 + rng.gauss(0, 0.003 * calm)), 2)
        events.extend(priced(ts, btc, eth))
    return events


@asynccontextmanager
async def exchange_in_real_time(
    settings: SimSettings | None = None,
    *,
    live_minutes: int = 10,
    seed: int = 5,
    calm: float = 1.0,
    countdown_clock: Clock | None = None,
    dialect: type[ExchangeSim] = ExchangeSim,
) -> AsyncIterator[ExchangeSim]:
    """The loopback exchange (`settings`: its keys, say) with 70 minutes of history up to now, then a price a
    second for `live_minutes`, played in real time; `countdown_clock`: the time its countdownCancelAll runs on;
    `dialect`: the simulator class of another exchange's API (bot.exchange_sim.bybit.BybitSim)."""
    now = WallClock().now_ms()
    past = walk(now - 70 * MS_PER_MINUTE, now, MS_PER_MINUTE, seed, calm)
    live = walk(now + 1_000, now + live_minutes * MS_PER_MINUTE, 1_000, seed + 1, calm)
    sim = dialect(
        dataclasses.replace(settings or SimSettings(), time_multiplier=1.0),
        [*past, *live],
        countdown_clock=countdown_clock,
    )
    await sim.start()
    await sim.advance(len(past))
    player = asyncio.create_task(sim.run_feed())
    try:
        yield sim
    finally:
        player.cancel()
        await sim.stop()


def write_config(path: Path, sim: ExchangeSim, mode: str, state_dir: Path, **sections: Mapping[str, Any]) -> Path:
    """A small live (or paper) config on the loopback exchange: 10 ETH held, hedged by beta on the ETH perpetual
    in two clips a second apart; its control API on a Unix socket. `sections` override keys section by section."""
    defaults: dict[str, Mapping[str, Any]] = {
        "bot": {"mode": mode, "state_dir": str(state_dir)},
        "market": {"source": "exchange"},
        "portfolio.holdings": {"ETH": 10.0},
        "hedge": LOOPBACK_HEDGE,
        "risk": {"max_price_age": "30s"},
        "execution": {"clip_notional": 12_000.0, "clip_interval": "1s", "on_shutdown": "cancel"},
        # no client-side pacing on the loopback exchange: ccxt's throttle by endpoint weight held each start-up's
        # reconciliation ~4.7 s (a daemon started again and again, by kill tests above all, paid it every time)
        "venue": {"endpoint": sim.base_url, "rate_limit": False},
        "control": {"listen": f"unix:{state_dir / 'control.sock'}"},
        "metrics": {"enabled": False},
    }
    names = [*defaults, *(name for name in sections if name not in defaults)]
    path.write_text(toml_text({name: {**defaults.get(name, {}), **sections.get(name, {})} for name in names}))
    return path


def toml_text(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """Sections of plain values (strings, numbers, booleans, lists of them) as TOML: JSON spells them alike."""
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
        for name, values in sections.items()
    )


@asynccontextmanager
async def hedgebot_run(config: Path, env: Mapping[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """`hedgebot run --config CONFIG` with `env` added to this environment; killed if still running at the end."""
    process = await _spawn(["run", "--config", str(config)], env, config.parent)
    try:
        yield process
    finally:
        await _reap(process)


async def hedgebot(*args: str, env: Mapping[str, str], cwd: Path) -> Finished:
    """`hedgebot ARGS...` run to its end (at most GUARD_S), with `env` added to this environment."""
    process = await _spawn(args, env, cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    finally:
        await _reap(process)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


async def _spawn(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(HEDGEBOT), *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env={**os.environ, **env},
    )  # fmt: skip


async def _reap(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def eventually(
    probe: Callable[[], T | Awaitable[T | None] | None], what: str, process: asyncio.subprocess.Process | None = None
) -> T:
    """The first truthy answer of `probe` (a function or a coroutine function), asked every 0.1 s for at most
    GUARD_S; fails at once, showing the daemon's stderr (redacted), if `process` exits first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while loop.time() < deadline:
        if process is not None and process.returncode is not None:
            _, err = await process.communicate()
            raise AssertionError(f"the daemon exited ({process.returncode}) before {what}: {redact(err.decode())}")
        answer = probe()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return cast(T, answer)
        await asyncio.sleep(0.1)  # a short pause between probes of a condition, not a synchronisation
    raise AssertionError(f"gave up after {GUARD_S:g}s waiting for {what}")


async def status_when(
    control: ControlClient,
    process: asyncio.subprocess.Process,
    done: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any]:
    """The daemon's first status for which `done` holds (see `eventually`); a failure shows the last one."""
    last: dict[str, Any] = {}

    async def probe() -> dict[str, Any] | None:
        nonlocal last
        try:
            last = await control.status()
        except DaemonUnreachable:
            return None
        return last if done(last) else None

    try:
        return await eventually(probe, what, process)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status {redact(str(last))}") from None


async def hedged_status(
    control: ControlClient, sim: ExchangeSim, process: asyncio.subprocess.Process
) -> dict[str, Any]:
    """The daemon's status once its positions are the exchange's and nothing is working any more."""

    def hedged(status: dict[str, Any]) -> bool:
        exchange = lots(sim)
        idle = not status["working_parents"] and not status["closing_parents"] and status["open_orders"] == 0
        return idle and bool(exchange) and lots_of(status["positions"]) == exchange

    return await status_when(control, process, hedged, "a finished hedge")


def lots_of(positions: Mapping[Any, float]) -> dict[str, float]:
    """Positions to the ETH and BTC lot (0.001): float sums of fills differ from the lot multiple in the 1e-15s."""
    return {symbol: round(qty, 3) for symbol, qty in positions.items() if round(qty, 3)}


def lots(sim: ExchangeSim) -> dict[str, float]:
    return lots_of({p.symbol: p.qty for p in sim.exchange.account.positions()})


async def stopped(process: asyncio.subprocess.Process) -> Finished:
    """SIGTERM, then the daemon's exit code and everything it printed."""
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


# ---- alert sinks ---------------------------------------------------------------------------------------------


@dataclass
class AlertSinks:
    """A loopback stand-in for a Slack-style webhook and the Telegram Bot API (`[alerts] telegram_api_base =
    sinks.base`, a webhook URL under `sinks.base`). It keeps the path and the raw body of every POST, answers the
    first `telegram_failures` sendMessage calls with a 500, and the rest as the real services would."""

    telegram_failures: int = 0
    base: str = ""
    posts: list[tuple[str, str]] = field(default_factory=list)

    def bodies(self, telegram: bool) -> list[str]:
        """The raw bodies posted to Telegram's sendMessage, or (`telegram=False`) to any webhook."""
        return [body for path, body in self.posts if path.endswith("/sendMessage") is telegram]

    async def receive(self, request: web.Request) -> web.Response:
        self.posts.append((request.path, await request.text()))
        if not request.path.endswith("/sendMessage"):
            return web.Response(text="ok")
        if self.telegram_failures > 0:
            self.telegram_failures -= 1
            return web.json_response({"ok": False, "description": "Internal Server Error"}, status=500)
        return web.json_response({"ok": True, "result": {}})


@asynccontextmanager
async def alert_sinks(telegram_failures: int = 0) -> AsyncIterator[AlertSinks]:
    """`AlertSinks` served on 127.0.0.1 for as long as the context lasts."""
    sinks = AlertSinks(telegram_failures)
    app = web.Application()
    app.router.add_post("/{tail:.*}", sinks.receive)
    async with TestServer(app, host="127.0.0.1") as server:
        sinks.base = str(server.make_url("")).rstrip("/")
        yield sinks
