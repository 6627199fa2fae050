"""Soak benchmark: the paper daemon on 7 simulated days of 1-second synthetic prices, as fast as possible.

Prints resident memory (VmRSS) at the start, at every eighth of the run and at the end, with the events per
second of the whole engine (feed → estimators → policy → limits → paper venue → journal). Memory that keeps
climbing from the middle to the end points at something that grows with every event.
Run: .venv/bin/python bench/soak.py [--days 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot import logs
from bot.config import Config, parse_config
from bot.domain import MS_PER_DAY, MarketEvent
from bot.live.assembly import as_fast_as_possible, build_daemon, journal_for, synthetic_plan
from bot.live.session import FIXED_START_MS

SAMPLES = 8  # RSS readings spread over the run, besides the one before it starts


def _config(state_dir: str) -> Config:
    """The default paper portfolio, hedged by min-variance on 5-minute returns over one day: a short warm-up,
    so almost every event of the run is a trading one."""
    return parse_config(
        {
            "bot": {"state_dir": state_dir, "log_level": "warning"},
            "market": {"step": "1s"},
            "hedge": {"sample": "5m", "window": "1d", "min_samples": 72},
        },
        "soak",
    )


def rss_mib() -> float:
    """Resident memory now (VmRSS), in MiB; the peak from getrusage where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(slots=True)
class Probe:
    """Reads RSS each time the events cross the next of `SAMPLES` equal steps of simulated trading time."""

    trading_from_ms: int
    span_ms: int
    readings: list[tuple[int, float, float]] = field(default_factory=list)  # (events, seconds, MiB)
    started: float = field(default_factory=time.perf_counter)

    def watch(self, events: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
        step = max(1, self.span_ms // SAMPLES)
        due = self.trading_from_ms + step
        for count, event in enumerate(events, start=1):
            if event.ts >= due:
                self.readings.append((count, time.perf_counter() - self.started, rss_mib()))
                due += step
            yield event


def soak(days: float) -> None:
    with tempfile.TemporaryDirectory() as state:
        config = _config(state)
        logs.configure(config.path_in_state("soak.log"), "warning")
        plan = synthetic_plan(config, FIXED_START_MS, int(days * MS_PER_DAY), realtime=False)
        journal = journal_for(config, durable=False, name="soak.sqlite")
        daemon = build_daemon(config, plan, journal)
        probe = Probe(plan.trading_from_ms, int(days * MS_PER_DAY))
        gc.collect()
        start_rss = rss_mib()

        async def go() -> int:
            await daemon.start()
            summary = await daemon.run(as_fast_as_possible(probe.watch(plan.events)))
            return summary.totals.events

        started = time.perf_counter()
        events = asyncio.run(go())
        elapsed = time.perf_counter() - started
        end_rss = rss_mib()
        journal.close()
    _print(days, events, elapsed, start_rss, probe.readings, end_rss, daemon.totals.fills)


def _print(
    days: float,
    events: int,
    elapsed: float,
    start_rss: float,
    readings: list[tuple[int, float, float]],
    end_rss: float,
    fills: int,
) -> None:
    print(f"soak: {days:g} simulated days of 1 s synthetic prices (plus 1 day of warm-up), paper venue")
    print(f"  {'events':>12}  {'seconds':>8}  {'RSS MiB':>8}")
    print(f"  {0:>12,}  {0.0:>8.1f}  {start_rss:>8.1f}   start (before the warm-up day)")
    for n, (count, seconds, mib) in enumerate(readings, start=1):
        print(f"  {count:>12,}  {seconds:>8.1f}  {mib:>8.1f}   {n}/{SAMPLES} of the trading days")
    print(f"  {events:>12,}  {elapsed:>8.1f}  {end_rss:>8.1f}   end")
    middle = readings[len(readings) // 2 - 1][2] if readings else start_rss
    print(f"events {events:,} in {elapsed:.1f} s = {events / elapsed:,.0f} events/s; fills {fills:,}")
    print(f"RSS start {start_rss:.1f} MiB, middle {middle:.1f} MiB, end {end_rss:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=float, default=7.0, help="simulated days to run (default 7)")
    args = parser.parse_args(argv)
    soak(args.days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
