"""A mapping validated into a settings model, every pydantic error turned into one line naming its key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.settings.toml import check_shape, one_line, shown
from bot.settings.values import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: Mapping[str, Any], source: str, section: str = "") -> Model:
    """`data` as a `model`; ConfigError naming `source` and each bad key (under `section`, when one is given)."""
    try:
        check_shape(data)  # integers beyond 64 bits, absurd nesting: refused by key before validation
        return model.model_validate(data)
    except ConfigError as exc:
        raise ConfigError(one_line(f"{source}: {_under(section, str(exc))}")) from None
    except ValidationError as exc:
        lines = [_under(section, _describe(error)) for error in exc.errors(include_url=False)]
        raise ConfigError(one_line(f"{source}: " + "; ".join(lines))) from None


def _under(section: str, line: str) -> str:
    return f"{section}.{line}" if section and not line.startswith(f"{section}.") else line


def _describe(error: Mapping[str, Any]) -> str:
    where = one_line(".".join(str(part) for part in error["loc"])) or "(top level)"
    value = error.get("input")
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (value {shown(value)})"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    if message.startswith("Value error, "):  # our own validators already explain themselves
        return f"{where}: {message.removeprefix('Value error, ')}"
    expected = message.removeprefix("Input should be ").removeprefix("input should be ")
    return f"{where}: got {shown(value)}, expected {expected}"
