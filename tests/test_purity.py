"""The pure core loads no I/O: importing the domain, the config and its settings, money, commands, hedge, risk,
execution and the engine in a fresh interpreter loads neither asyncio, aiohttp, ccxt, sqlite3, prometheus_client
nor apscheduler, and none of the shell's packages (live, venues, store, feeds, control, ops). bot.logs (structlog)
is allowed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("hedge", "risk", "execution", "core")
FORBIDDEN = (
    "asyncio",
    "aiohttp",
    "ccxt",
    "sqlite3",
    "prometheus_client",
    "apscheduler",
    "bot.live",
    "bot.venues",
    "bot.store",
    "bot.feeds",
    "bot.control",
    "bot.ops",
)


def core_modules() -> list[str]:
    modules = ["bot.domain", "bot.config", "bot.money", "bot.clock", "bot.commands"]
    for package in ("settings", *CORE_PACKAGES):
        for path in sorted((REPO / "bot" / package).glob("*.py")):
            modules.append(f"bot.{package}" if path.stem == "__init__" else f"bot.{package}.{path.stem}")
    return modules


# one fresh interpreter imports the modules one after another and names, for each, what it loaded that is
# forbidden: the first module to pull a forbidden one in is the one named (those after it would find it loaded)
PROBE = """
import importlib, json, sys
modules, forbidden = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def loaded():
    return {f for f in forbidden for name in sys.modules if name == f or name.startswith(f + ".")}
found = {}
for module in modules:
    before = loaded()
    importlib.import_module(module)
    new = sorted(loaded() - before)
    if new:
        found[module] = new
print(json.dumps(found))
"""


def test_importing_the_core_in_a_fresh_interpreter_loads_no_io_and_no_shell() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(core_modules()), json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


def test_the_probe_names_the_module_that_loads_a_forbidden_one() -> None:
    """A guard on the probe itself: the live package is caught loading asyncio, so an empty answer means something."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["bot.domain", "bot.live.daemon"]), json.dumps(["asyncio"])],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == {"bot.live.daemon": ["asyncio"]}
