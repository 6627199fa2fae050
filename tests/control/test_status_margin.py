"""`ctl status`'s margin and liquidation line describes the positions it shows, not the account of the last
hourly valuation (a paper account is read as it stands)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio


async def test_the_liquidation_line_covers_every_position_as_soon_as_it_is_shown(
    tmp_path: Path,
    start_live: Callable[[Path, Any], AbstractAsyncContextManager[Any]],
    config_data: Callable[..., dict[str, Any]],
) -> None:
    running: Any
    async with start_live(tmp_path, config_data(tmp_path)) as running:
        status = await running.api.eventually(lambda s: s["positions"], "the first hedge fill")
        assert {line["symbol"] for line in status["liquidation"]} == set(status["positions"])
        assert status["margin_ratio"] is not None
