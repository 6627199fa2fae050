"""The pure core loads no I/O: importing the domain, the config, hedge, risk, execution or the engine, each in a
fresh interpreter, loads neither asyncio, aiohttp, ccxt, sqlite3, prometheus_client nor apscheduler, and none of
the shell's packages (live, venues, store, feeds, control, ops). bot.logs (structlog) is allowed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    modules = ["bot.domain", "bot.config"]
    for package in CORE_PACKAGES:
        for path in sorted((REPO / "bot" / package).glob("*.py")):
            modules.append(f"bot.{package}" if path.stem == "__init__" else f"bot.{package}.{path.stem}")
    return modules


PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
forbidden = json.loads(sys.argv[2])
print(json.dumps(sorted({f for f in forbidden for name in sys.modules if name == f or name.startswith(f + ".")})))
"""


def loaded_forbidden(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module, json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("module", core_modules())
def test_importing_a_core_module_in_a_fresh_interpreter_loads_no_io_and_no_shell(module: str) -> None:
    assert loaded_forbidden(module) == []
