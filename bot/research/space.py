"""The grid of a sweep: dotted config keys, each with the values to try, and the trials they make.

A grid file is TOML with a `[grid]` table; a key is a dotted key of the config (`hedge.window`), written quoted
(`"hedge.window" = [...]`) or as nested tables (`[grid.hedge]` then `window = [...]`); its value is the list of
values to try. Every combination is one trial, in the file's order (the last key varies fastest).

Everything is checked before any trial runs, with the real config model: a key the config does not have, a value
it refuses, or a combination it refuses (a sample longer than the window) is one line naming the key.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, parse_config
from bot.settings.toml import parse_toml, shown

# Set by the sweep itself, per trial: the period (--start/--end, walk-forward folds), the data files, the mode
# and the state directory (a fresh temporary one per trial).
RESERVED = ("bot.mode", "bot.state_dir", "market.")
MAX_TRIALS = 1_000_000  # a grid beyond this is a typo (a list where a range was meant), not a sweep

Override = tuple[str, Any]  # (dotted key, value)


@dataclass(frozen=True, slots=True)
class Grid:
    """Keys in the file's order, each with its values."""

    axes: tuple[tuple[str, tuple[Any, ...]], ...]

    @property
    def size(self) -> int:
        size = 1
        for _, values in self.axes:
            size *= len(values)
        return size

    def combinations(self) -> list[tuple[Override, ...]]:
        keys = [key for key, _ in self.axes]
        return [tuple(zip(keys, values, strict=True)) for values in itertools.product(*(v for _, v in self.axes))]


def read_space_file(path: Path) -> dict[str, Any]:
    """The TOML of a grid file; ConfigError (one line naming the file) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read grid file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    return parse_toml(text, str(path))


def load_grid(path: Path) -> Grid:
    """The grid in `path`; ConfigError (one line naming the file and key) when it is not a usable grid."""
    return parse_grid(read_space_file(path), str(path))


def check_key(source: str, table: str, key: str) -> None:
    if any(key == reserved or key.startswith(reserved) for reserved in RESERVED):
        raise ConfigError(f"{source}: {table}.{key}: set by the sweep itself (period, data, state), not a key to vary")


def parse_grid(data: Mapping[str, Any], source: str = "grid") -> Grid:
    extra = sorted(set(data) - {"grid"})
    if extra:
        raise ConfigError(f"{source}: unknown table {extra[0]!r}; a grid file holds one [grid] (or [search]) table")
    table = data.get("grid")
    if not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{source}: no [grid] table of dotted config keys, each with a list of values to try")
    axes = tuple(_axes(table, ""))
    for key, values in axes:
        if not values:
            raise ConfigError(f"{source}: grid.{key}: an empty list of values; give at least one")
        check_key(source, "grid", key)
    grid = Grid(axes)
    if grid.size > MAX_TRIALS:
        raise ConfigError(f"{source}: the grid makes {grid.size:,} trials, more than {MAX_TRIALS:,}")
    return grid


def _axes(table: Mapping[str, Any], prefix: str) -> list[tuple[str, tuple[Any, ...]]]:
    axes: list[tuple[str, tuple[Any, ...]]] = []
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            axes.extend(_axes(value, f"{key}."))
        elif isinstance(value, list):
            axes.append((key, tuple(value)))
        else:
            raise ConfigError(f"grid.{key}: got {shown(value)}, expected a list of values to try")
    return axes


def with_values(config: Config, overrides: Sequence[Override]) -> Config:
    """`config` with each dotted key set, validated by the config model (ConfigError naming the key)."""
    data = config.model_dump()
    for key, value in overrides:
        _set(data, key, value)
    return parse_config(data, "sweep")


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    node = data
    for depth, part in enumerate(path):
        child = node.get(part)
        if not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise ConfigError(f"sweep: {key}: {where} is not a config section")
        node = child
    node[last] = value


def check_grid(config: Config, grid: Grid) -> list[tuple[Override, ...]]:
    """Every combination of the grid, each checked against the config model: the trials to run.

    Each key and value alone first, so a bad one is named by itself; then each combination (a value valid alone
    may be refused beside another: `hedge.sample` longer than `hedge.window`)."""
    for key, values in grid.axes:
        for value in values:
            with_values(config, [(key, value)])
    combinations = grid.combinations()
    for combination in combinations:
        try:
            with_values(config, combination)
        except ConfigError as exc:
            shown_values = ", ".join(f"{key} = {shown(value)}" for key, value in combination)
            raise ConfigError(f"{exc} (the trial {shown_values})") from None
    return combinations
