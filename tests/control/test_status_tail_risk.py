"""The live book's one-day VaR and ES, hedged and unhedged, from the engine's rolling returns: in `ctl status`
over the real control API, and as Prometheus gauges on the metrics endpoint."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.control.render import status_text

pytestmark = pytest.mark.asyncio


def _figures(status: dict[str, Any]) -> list[tuple[str, str, str, float]]:
    tail = status["tail_risk"]
    return [
        (method, book, measure, value)
        for method in ("historical", "filtered")
        for book, pair in tail[method].items()
        for measure, value in pair.items()
    ]


async def test_status_shows_var_and_es_hedged_and_unhedged_once_the_window_holds_enough_returns(
    tmp_path: Path,
    start_live: Callable[[Path, Any], AbstractAsyncContextManager[Any]],
    config_data: Callable[..., dict[str, Any]],
) -> None:
    running: Any
    async with start_live(tmp_path, config_data(tmp_path)) as running:
        status = await running.api.eventually(
            lambda s: s["tail_risk"] is not None and s["positions"], "VaR with a hedge position"
        )
        tail = status["tail_risk"]
        assert tail["level"] == 0.99
        assert tail["samples"] >= 3  # the config's min_samples
        figures = _figures(status)
        assert {(m, b, k) for m, b, k, _ in figures} == {
            (m, b, k) for m in ("historical", "filtered") for b in ("unhedged", "hedged") for k in ("var", "es")
        }
        assert all(math.isfinite(value) for *_, value in figures)
        for method in ("historical", "filtered"):
            for pair in tail[method].values():
                assert pair["es"] >= pair["var"]  # the mean of the tail is never below its threshold
        text = status_text(status)
        assert f"VaR 99 %  1 day, {tail['samples']} samples: historical unhedged " in text
        assert " filtered unhedged " in text


async def test_the_metrics_endpoint_serves_var_and_es_as_gauges(
    tmp_path: Path,
    start_live: Callable[[Path, Any], AbstractAsyncContextManager[Any]],
    config_data: Callable[..., dict[str, Any]],
) -> None:
    running: Any
    async with start_live(tmp_path, config_data(tmp_path)) as running:
        port = running.session.ops.metrics_port
        await running.api.eventually(lambda s: s["tail_risk"] is not None, "VaR in the status")
        await running.daemon.tick()  # gauges are refreshed on every tick
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
        samples = {
            tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "hedgebot_tail_risk_quote"
        }
        labels = {
            (("book", b), ("measure", k), ("method", m))
            for m in ("historical", "filtered")
            for b in ("unhedged", "hedged")
            for k in ("var", "es")
        }
        assert set(samples) == labels
        assert all(math.isfinite(v) for v in samples.values())
        unhedged_es = samples[(("book", "unhedged"), ("measure", "es"), ("method", "historical"))]
        unhedged_var = samples[(("book", "unhedged"), ("measure", "var"), ("method", "historical"))]
        assert unhedged_es >= unhedged_var
