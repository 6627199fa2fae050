"""`hedgebot ctl` loads only what an operator's command needs: no async stack, no data stack, no whole config.

Import time itself is measured by `bench/ctl_import.py`, not asserted here; this test keeps the heavy packages
off the path, which is what keeps that figure small."""

from __future__ import annotations

import json
import subprocess
import sys

CTL_PATH = "from bot.cli import _parser; _parser(ctl_only=True).parse_args(['ctl', 'status']); import bot.control.ctl"
HEAVY = ("asyncio", "aiohttp", "pandas", "numpy", "ccxt", "sqlite3", "structlog", "bot.config", "bot.live")
PROBE = """
import json, sys
exec(sys.argv[1])
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted(h for h in heavy for name in sys.modules if name == h or name.startswith(h + "."))))
"""


def test_the_ctl_command_path_imports_no_async_stack_no_data_stack_and_not_the_whole_config() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, CTL_PATH, json.dumps(HEAVY)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
