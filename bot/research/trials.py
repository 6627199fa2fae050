"""One trial of a sweep: the config with the trial's values, backtested by the code `hedgebot backtest` runs.

A trial runs in a worker process (a local process pool, or a Dask worker). What it costs beyond the backtest
itself is kept small: the replay (events read and validated from the CSV files) is loaded once per worker and
kept in the process (`cached_replay`), the modules are imported once, each trial's journal and log go to a fresh
temporary state directory (so no trial sees another's journal, and the backtest lock, which guards one state
directory, never serialises them), and no HTML is written per trial.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.feeds.replay import Replay, ReplaySpec, load_replay
from bot.live.session import run_backtest
from bot.report.backtest import result_json
from bot.research.space import Override, with_values

_KEPT_REPLAYS = 16  # distinct (symbols, period) a worker keeps: a walk-forward's folds × its window lengths
_replays: OrderedDict[ReplaySpec, Replay] = OrderedDict()
_lock = threading.Lock()  # a Dask worker may run trials on threads: one backtest at a time per process


@dataclass(frozen=True, slots=True)
class TrialSpec:
    """What one trial runs: its place in the sweep, its values, its period (`end` exclusive)."""

    index: int
    overrides: tuple[Override, ...]
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class TrialResult:
    """The figures a sweep compares, from the backtest's JSON result (cost = fees + slippage, in the quote)."""

    index: int
    overrides: tuple[Override, ...]
    start: date
    end: date
    variance_reduction: float
    drawdown_reduction: float
    capture_spread: float
    pnl: float
    fees: float
    slippage: float
    funding: float
    trades: int
    # CPU seconds the trial took in its worker: what it costs on an idle core, however busy the machine was
    cpu_seconds: float = field(default=0.0, compare=False)

    @property
    def cost(self) -> float:
        return round(self.fees + self.slippage, 2)

    def metric(self, name: str) -> float:
        return float(self.cost if name == "cost" else getattr(self, name))

    def as_json(self) -> dict[str, Any]:
        return {
            "trial": self.index,
            "values": {key: value for key, value in self.overrides},
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "variance_reduction": self.variance_reduction,
            "drawdown_reduction": self.drawdown_reduction,
            "capture_spread": self.capture_spread,
            "pnl": self.pnl,
            "cost": self.cost,
            "fees": self.fees,
            "slippage": self.slippage,
            "funding": self.funding,
            "trades": self.trades,
        }


def cached_replay(spec: ReplaySpec) -> Replay:
    """The replay of `spec`, read from the files the first time this process is asked for it."""
    replay = _replays.get(spec)
    if replay is None:
        replay = _replays[spec] = load_replay(spec)
        while len(_replays) > _KEPT_REPLAYS:
            _replays.popitem(last=False)
    else:
        _replays.move_to_end(spec)
    return replay


def trial_config(base: Config, spec: TrialSpec, state_dir: Path) -> Config:
    """The base config with the trial's values, its period and its own state directory."""
    quiet = [] if any(key == "bot.log_level" for key, _ in spec.overrides) else [("bot.log_level", "error")]
    fixed: list[Override] = [
        ("bot.mode", "paper"),
        ("bot.state_dir", state_dir),
        *quiet,  # log lines cost time and say nothing a sweep reads; the level changes no decision
        ("market.source", "replay"),
        ("market.start", spec.start),
        ("market.end", spec.end),
    ]
    return with_values(base, [*fixed, *spec.overrides])


def _memory_dir() -> str | None:
    """Shared memory where this machine has it (the journal and log never touch a disk), else the temp dir."""
    shm = "/dev/shm"  # noqa: S108 -- a directory made private by mkdtemp (0700) inside it
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def run_trial(base: Config, spec: TrialSpec, scratch: str | None = None) -> TrialResult:
    """Backtest one trial in this process (in a fresh temporary state directory, removed after)."""
    with _lock:
        began = time.process_time()
        state_dir = Path(tempfile.mkdtemp(prefix=f"sweep-{spec.index}-", dir=scratch or _memory_dir()))
        try:
            config = trial_config(base, spec, state_dir)
            summary = run_backtest(config, load=cached_replay, handle_signals=False)
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
    result = result_json(summary)
    effectiveness, hedged = result["effectiveness"], result["hedged"]
    return TrialResult(
        index=spec.index,
        overrides=spec.overrides,
        start=spec.start,
        end=spec.end,
        variance_reduction=effectiveness["variance_reduction"],
        drawdown_reduction=effectiveness["drawdown_reduction"],
        capture_spread=effectiveness["capture_spread"],
        pnl=hedged["pnl"],
        fees=hedged["fees"],
        slippage=round(summary.totals.slippage_cost, 2),
        funding=hedged["funding"],
        trades=hedged["trades"],
        cpu_seconds=time.process_time() - began,
    )
