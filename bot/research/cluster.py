"""Where trials run: in this process, on a pool of local processes (every core by default), or on a Dask cluster.

Dask distributed is the engine for more than one machine: pure Python and pip-installable (no native build, no
separate runtime), a scheduler and workers started with one command each (`dask scheduler`,
`dask worker tcp://host:8786`), and `LocalCluster` runs the same thing on one machine for the tests. A worker
is a long-lived process, so what a trial caches in its process (the replay) serves every later trial there.

Results come back in trial order whatever ran them, so a sweep's output does not depend on where it ran.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, Protocol

from bot.config import Config, ConfigError
from bot.research.trials import TrialResult, TrialSpec, run_trial


class Runner(Protocol):
    def run(self, base: Config, specs: Sequence[TrialSpec]) -> list[TrialResult]: ...

    def close(self) -> None: ...


class InProcess:
    """Every trial here, one after the other: the reference the other runners must equal."""

    def __init__(self, scratch: str | None = None) -> None:
        self.scratch = scratch

    def run(self, base: Config, specs: Sequence[TrialSpec]) -> list[TrialResult]:
        return [run_trial(base, spec, self.scratch) for spec in specs]

    def close(self) -> None:
        return None


def _warm() -> None:
    """A pool worker's start: the backtest's modules are imported once here, not by its first trial."""
    import bot.research.trials  # noqa: F401 -- imported for its side effect: everything a trial needs is loaded


class LocalPool:
    """A pool of `workers` processes on this machine; each keeps its replays between trials."""

    def __init__(self, workers: int, scratch: str | None = None) -> None:
        self.scratch = scratch
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_warm)

    def run(self, base: Config, specs: Sequence[TrialSpec]) -> list[TrialResult]:
        # one trial per task, in order: trials differ in cost (a long window decides more), so small tasks balance
        return list(self._pool.map(partial(run_trial, base, scratch=self.scratch), specs))

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class DaskCluster:
    """The workers of a running Dask scheduler (`--cluster tcp://host:8786`)."""

    def __init__(self, address: str, scratch: str | None = None) -> None:
        import distributed

        client_class: Any = distributed.Client  # distributed's methods carry no annotations: used as Any here
        self.scratch = scratch
        try:
            self._client: Any = client_class(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, or not an address at all
            raise ConfigError(f"--cluster {address}: cannot reach a Dask scheduler there ({exc})") from None

    def run(self, base: Config, specs: Sequence[TrialSpec]) -> list[TrialResult]:
        # sent to each worker once, not with every task; a key of its own (hash=False): a batch after this one
        # scattering the same config must not share a key this batch's end is releasing
        base_future = self._client.scatter(base, broadcast=True, hash=False)
        futures = self._client.map(_run_on_worker, [base_future] * len(specs), specs, scratch=self.scratch, pure=False)
        results: list[TrialResult] = self._client.gather(futures)  # in the order of `specs`
        return results

    def close(self) -> None:
        self._client.close()


class Counted:
    """A runner that adds up the trials it ran and the CPU seconds they took in their workers."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.trials = 0
        self.cpu_seconds = 0.0

    def run(self, base: Config, specs: Sequence[TrialSpec]) -> list[TrialResult]:
        results = self.runner.run(base, specs)
        self.trials += len(results)
        self.cpu_seconds += sum(result.cpu_seconds for result in results)
        return results

    def close(self) -> None:
        self.runner.close()


def _run_on_worker(base: Config, spec: TrialSpec, scratch: str | None = None) -> TrialResult:
    return run_trial(base, spec, scratch)


def local_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def open_runner(workers: int | None, cluster: str | None, scratch: str | None) -> Runner:
    """`cluster` (a scheduler address) wins; else `workers` local processes (default every core; 1 = here)."""
    if cluster is not None:
        return DaskCluster(cluster, scratch)
    count = workers or local_cores()
    return InProcess(scratch) if count == 1 else LocalPool(count, scratch)
