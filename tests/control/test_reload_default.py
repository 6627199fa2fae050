"""`ctl reload` on a daemon started without `--config`: it re-reads the same source, the embedded default."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.live.session import config_reloader


@pytest.mark.asyncio
async def test_reload_on_the_default_daemon_reapplies_the_embedded_default_and_undoes_a_set_holding(
    tmp_path: Path,
    start_live: Callable[[Path, Any], AbstractAsyncContextManager[Any]],
    config_data: Callable[..., dict[str, Any]],
) -> None:
    default = Config()
    same_history = {"window": default.hedge.window, "sample": default.hedge.sample}  # fixed while running
    data = config_data(tmp_path, hedge=same_history, portfolio={"holdings": dict(default.portfolio.holdings)})
    running: Any
    async with start_live(tmp_path, data) as running:
        running.daemon.reloader = config_reloader(None)  # what `hedgebot run` wires without --config
        changed = await running.api.command("set-holding", {"asset": "SOL", "qty": 1.0})
        assert changed["holdings"]["SOL"] == 1.0
        reloaded = await running.api.command("reload")
        assert reloaded["holdings"]["SOL"] == default.portfolio.holdings["SOL"]


def test_the_reloader_without_a_config_path_reads_the_embedded_default() -> None:
    assert config_reloader(None)() == Config()
