"""The synthetic market's price on a date is the same whatever `hedge.window` (the warm-up) is."""

from __future__ import annotations

import itertools
from pathlib import Path

from bot.config import parse_config
from bot.domain import MS_PER_DAY, MS_PER_HOUR, PriceObserved
from bot.live.assembly import synthetic_plan, warmup_ms
from bot.live.session import FIXED_START_MS


def _prices(tmp_path: Path, window: str, *, realtime: bool, hourly: bool = True) -> dict[tuple[int, str], float]:
    config = parse_config({"bot": {"state_dir": str(tmp_path)}, "hedge": {"window": window, "min_samples": 24}})
    plan = synthetic_plan(config, FIXED_START_MS, MS_PER_DAY, realtime=realtime)
    events = itertools.chain(plan.warmup, plan.events)
    kept = (e for e in events if isinstance(e, PriceObserved) and (e.ts % MS_PER_HOUR == 0 or not hourly))
    return {(e.ts, e.symbol): e.price for e in kept}


def test_prices_from_start_on_do_not_depend_on_the_window(tmp_path: Path) -> None:
    short, long = _prices(tmp_path, "2d", realtime=False), _prices(tmp_path, "7d", realtime=False)
    trading = {key: price for key, price in short.items() if key[0] >= FIXED_START_MS}
    assert len(trading) > 24 * 6
    assert trading == {key: long[key] for key in trading}


def test_the_warm_up_history_on_a_date_does_not_depend_on_the_window_either(tmp_path: Path) -> None:
    short, long = _prices(tmp_path, "2d", realtime=False), _prices(tmp_path, "7d", realtime=False)
    history = {key: price for key, price in short.items() if key[0] < FIXED_START_MS}
    assert history
    assert history == {key: long[key] for key in history}
    assert min(ts for ts, _ in long) <= FIXED_START_MS - 7 * MS_PER_DAY  # the longer window reaches further back


def test_a_realtime_runs_prices_and_warm_up_on_a_date_do_not_depend_on_the_window(tmp_path: Path) -> None:
    short = _prices(tmp_path, "2d", realtime=True, hourly=False)
    long = _prices(tmp_path, "7d", realtime=True, hourly=False)
    assert {key for key in short if key[0] < FIXED_START_MS}  # a warm-up
    assert short == {key: long[key] for key in short}


def test_the_fast_runs_clock_starts_where_its_warm_up_history_starts(tmp_path: Path) -> None:
    config = parse_config({"bot": {"state_dir": str(tmp_path)}, "hedge": {"window": "2d", "min_samples": 24}})
    plan = synthetic_plan(config, FIXED_START_MS, MS_PER_DAY, realtime=False)
    first = next(iter(plan.events))
    assert plan.clock.now_ms() <= first.ts
    assert first.ts >= FIXED_START_MS - warmup_ms(config)


def test_a_window_longer_than_the_markets_lead_reads_history_that_is_the_same_on_each_date(tmp_path: Path) -> None:
    longer, longest = _prices(tmp_path, "35d", realtime=True), _prices(tmp_path, "40d", realtime=True)
    assert min(ts for ts, _ in longest) <= FIXED_START_MS - 40 * MS_PER_DAY + MS_PER_HOUR
    assert longer == {key: longest[key] for key in longer}
