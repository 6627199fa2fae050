"""A realtime session also serves Prometheus metrics that follow the hedge (bot/ops/runtime.py), over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.runtime import OpsRuntime


async def _scrape(port: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.asyncio
async def test_metrics_show_fills_state_and_the_hedge_ratio_while_the_daemon_hedges(
    tmp_path: Path, start_live: Callable[..., AbstractAsyncContextManager[Any]], config_data: Callable[..., Any]
) -> None:
    async with start_live(tmp_path, config_data(tmp_path)) as running:
        ops: OpsRuntime = running.session.ops
        assert ops.metrics_port

        await running.api.eventually(lambda status: status["counts"]["fills"] > 0, "a first fill")
        await running.api.eventually(lambda status: bool(status["positions"]), "a hedge position")
        await running.daemon.tick()  # gauges are refreshed on every tick
        samples = await _scrape(ops.metrics_port)
        assert samples["hedgebot_fills_total[]"] >= 1
        assert samples["hedgebot_trading_state[('state', 'active')]"] == 1.0
        target = samples["hedgebot_hedge_ratio_target[('symbol', 'BTC/USDT:USDT')]"]
        assert target == pytest.approx(0.5, abs=0.05)  # the fixed 50 % policy of the test config
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{ops.metrics_port}/readyz") as ready:
            assert ready.status == 200
