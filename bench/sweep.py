"""Sweep benchmark: what one trial of `hedgebot sweep` costs against `hedgebot backtest` on the same config, and
what a 1,000-trial sweep would take on the cores of this machine.

Both run in this process, interleaved, on config/backtest.toml over --start → --end (default 2021-01-01 →
2023-01-01): the backtest as the command runs it (the replay read from the CSV files each time, the journal and
the log in a state directory on disk at the configured log level), and the sweep's trial (the replay read once
per worker and kept, journal and log in a temporary directory in memory, log at `error`). The 1,000-trial
figure is the trial's median CPU time × 1,000 / workers: trials are independent, a worker runs one at a time, and
CPU time (not wall time) is what a trial costs on an idle core, however busy the machine is while measuring.
Run: .venv/bin/python bench/sweep.py [--start 2021-01-01] [--end 2023-01-01] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.config import Config, load_config, with_overrides
from bot.live.session import run_backtest
from bot.research.trials import TrialSpec, run_trial

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def base_config(state_dir: str) -> Config:
    market = {
        "source": "replay",
        "prices": DATA / "prices_1h.csv.gz",
        "funding": DATA / "funding_8h.csv.gz",
        "perp": DATA / "perp_1h.csv.gz",
    }
    return with_overrides(load_config(REPO / "config" / "backtest.toml"), market=market, bot={"state_dir": state_dir})


Timing = tuple[float, float]  # wall seconds, CPU seconds of this process


def as_the_command_runs_it(base: Config, start: date, end: date) -> Timing:
    with tempfile.TemporaryDirectory(dir=REPO / "var") as state:  # on disk, as the config's var/ is
        config = with_overrides(base, market={"start": start, "end": end}, bot={"state_dir": state})
        wall, cpu = time.perf_counter(), time.process_time()
        run_backtest(config)
        return time.perf_counter() - wall, time.process_time() - cpu


def as_a_sweep_trial(base: Config, start: date, end: date) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    run_trial(base, TrialSpec(0, (), start, end))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", type=date.fromisoformat, default=date(2021, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (DATA / "prices_1h.csv.gz").exists():
        print(f"skipped: {DATA} is absent (../shared/data beside the repository)")
        return 0
    (REPO / "var").mkdir(exist_ok=True)
    base = base_config(str(REPO / "var"))
    as_a_sweep_trial(base, args.start, args.end)  # the worker's first trial reads the files; later ones do not
    command: list[Timing] = []
    trial: list[Timing] = []
    for _ in range(args.rounds):
        command.append(as_the_command_runs_it(base, args.start, args.end))
        trial.append(as_a_sweep_trial(base, args.start, args.end))
    print(f"period {args.start} → {args.end}, {args.rounds} interleaved rounds, medians (wall s / CPU s)")
    for name, runs in (("hedgebot backtest path", command), ("sweep trial, warm worker", trial)):
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f"{name:26} {wall:7.2f} / {cpu:7.2f}")
    ratio = statistics.median(r[1] for r in command) / statistics.median(r[1] for r in trial)
    per_trial = statistics.median(r[1] for r in trial)
    print(f"the trial's overhead removed: {ratio:.2f}× less CPU than the command's path")
    minutes = per_trial * 1000 / args.workers / 60
    print(f"1,000 trials on {args.workers} idle cores: {minutes:.1f} min (CPU s per trial × 1,000 / cores; target 15)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
