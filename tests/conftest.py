"""Shared fixtures: where the real market data lives, and a skip when it is absent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from bot.exchange_sim import ExchangeSim
from bot.testing.loopback import running_sim

# Tests never assert on wall-clock time: no per-example deadline, no "too slow" health check (CI is shared).
settings.register_profile("hedgebot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hedgebot")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


def _require(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real market data {path} is absent (expected ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real Binance data; tests that need it skip with a clear reason where it is absent."""
    _require("README.md")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prices_1h() -> Path:
    return _require("prices_1h.csv.gz")


@pytest.fixture(scope="session")
def funding_8h() -> Path:
    return _require("funding_8h.csv.gz")


@pytest.fixture(scope="session")
def perp_1h() -> Path:
    return _require("perp_1h.csv.gz")


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[ExchangeSim]:
    """A started loopback exchange with BTC at 30,000 and ETH at 2,000 (market time T0)."""
    async with running_sim() as simulator:
        yield simulator
