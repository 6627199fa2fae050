"""A search instead of a grid: optuna's TPE sampler proposes the trials, a batch at a time, each a backtest.

A `[search]` table in the grid file gives each dotted key a list of choices (`["7d", "30d"]`) or a range
(`{low = 0.02, high = 0.3}`; integers when both ends are integers, `log = true` for a log scale). `--trials`
trials are run in batches of `--batch` (default 8): the sampler proposes a batch from what it has been told,
the batch runs on the workers, its results are told, the next is proposed. With a fixed seed and batch the
proposals, so the results, do not depend on where the trials ran. Every choice and both ends of every range are
checked against the config model before the first trial; a proposal the model refuses as a combination (a
sample longer than the window) is told as failed and not run.

optuna is pinned in pyproject.toml: a well-kept optimiser whose ask/tell interface lets this module keep the
trials on its own runners (the process pool, Dask) instead of optuna's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bot.config import Config, ConfigError
from bot.research.cluster import Runner
from bot.research.space import Override, check_key, with_values
from bot.research.trials import TrialResult, TrialSpec
from bot.research.walk_forward import OBJECTIVES
from bot.settings.toml import shown


@dataclass(frozen=True, slots=True)
class Choice:
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float
    integer: bool
    log: bool = False


@dataclass(frozen=True, slots=True)
class Search:
    axes: tuple[tuple[str, Choice | Range], ...]


def parse_search(data: Mapping[str, Any], source: str) -> Search:
    extra = sorted(set(data) - {"search"})
    table = data.get("search")
    if extra or not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{source}: a search file holds one [search] table of dotted keys, each choices or a range")
    return Search(tuple((key, _axis(source, key, value)) for key, value in _flat(table, "")))


def _flat(table: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """Dotted keys to their lists or ranges (a range is a table with `low`: not a section to descend into)."""
    flat: list[tuple[str, Any]] = []
    for name, value in table.items():
        if isinstance(value, Mapping) and "low" not in value:
            flat.extend(_flat(value, f"{prefix}{name}."))
        else:
            flat.append((f"{prefix}{name}", value))
    return flat


def _axis(source: str, key: str, value: Any) -> Choice | Range:
    check_key(source, "search", key)
    where = f"{source}: search.{key}"
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: an empty list of choices; give at least one")
        return Choice(tuple(value))
    if not isinstance(value, Mapping) or set(value) - {"low", "high", "log"} or not {"low", "high"} <= set(value):
        raise ConfigError(f"{where}: got {shown(value)}, expected a list of choices or {{low = ..., high = ...}}")
    low, high, log = value["low"], value["high"], value.get("log", False)
    numbers = all(isinstance(end, int | float) and not isinstance(end, bool) for end in (low, high))
    if not numbers or not isinstance(log, bool) or not low < high or (log and low <= 0):
        raise ConfigError(f"{where}: got {shown(dict(value))}, expected numbers low < high (low > 0 with log)")
    return Range(low, high, isinstance(low, int) and isinstance(high, int), log)


def check_search(config: Config, search: Search) -> None:
    """Each choice, and each end of each range, set alone in the config: ConfigError naming the key."""
    for key, axis in search.axes:
        values = axis.values if isinstance(axis, Choice) else (axis.low, axis.high)
        for value in values:
            with_values(config, [(key, value)])


def run_search(
    runner: Runner,
    base: Config,
    search: Search,
    *,
    trials: int,
    batch: int,
    seed: int,
    objective: str,
    period: tuple[date, date],
) -> list[TrialResult]:
    """`trials` proposals of the sampler, run a batch at a time; the results in the order they were proposed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial on stderr: the table says it all
    direction: Literal["maximize", "minimize"] = "maximize" if OBJECTIVES[objective] else "minimize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = {key: _distribution(optuna, axis) for key, axis in search.axes}
    results: list[TrialResult] = []
    proposed = 0
    while proposed < trials:
        asked = [study.ask(distributions) for _ in range(min(batch, trials - proposed))]
        runnable: list[tuple[Any, TrialSpec]] = []
        for trial in asked:
            overrides: tuple[Override, ...] = tuple((key, trial.params[key]) for key, _ in search.axes)
            try:
                with_values(base, overrides)
            except ConfigError:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            runnable.append((trial, TrialSpec(len(results) + len(runnable), overrides, *period)))
        proposed += len(asked)
        done = runner.run(base, [spec for _, spec in runnable])
        for (trial, _), result in zip(runnable, done, strict=True):
            study.tell(trial, result.metric(objective))
        results.extend(done)
    return results  # numbered 0, 1, ... in the order they ran: a refused proposal leaves no gap


def _distribution(optuna: Any, axis: Choice | Range) -> Any:
    if isinstance(axis, Choice):
        return optuna.distributions.CategoricalDistribution(axis.values)
    if axis.integer:
        return optuna.distributions.IntDistribution(int(axis.low), int(axis.high), log=axis.log)
    return optuna.distributions.FloatDistribution(float(axis.low), float(axis.high), log=axis.log)
