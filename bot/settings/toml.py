"""What a TOML config file may hold before its values are validated: text TOML can parse, integers TOML allows.

tomllib itself fails on absurd input outside `TOMLDecodeError`: a thousands-deep array exhausts the recursion
limit and an integer of more than 4,300 digits hits Python's conversion limit. Both become a `ConfigError`
naming the file, as does an integer beyond 64 bits (TOML's own limit) or nesting deeper than any setting needs,
named by its key; a value quoted in a message is cut short.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from bot.settings.values import ConfigError

MAX_DEPTH = 8  # section > table > array of tables > values: no setting nests deeper
INT64 = range(-(2**63), 2**63)  # TOML: "an integer that cannot be represented losslessly" is an error
_SHOWN = 60  # characters of a value quoted in an error message


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document in `text`; ConfigError naming `source` when it is not one hedgebot can read."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a usable config (arrays or tables nested hundreds deep)") from None
    except ValueError as exc:  # int() beyond Python's digit limit, raised by the parser itself
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise ConfigError(f"{source}: not a usable config ({first})") from None


def shown(value: Any) -> str:
    """`value` as quoted in a message: its repr, cut short (a 4,000-digit integer is not a readable line)."""
    if isinstance(value, int) and value not in INT64:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 10]}...{text[-3:]} ({len(text)} characters)"


def one_line(text: str) -> str:
    """`text` with every line break and other unprintable character escaped: a message stays one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def check_shape(data: Mapping[str, Any]) -> None:
    """ConfigError naming the first key whose value nests too deep or holds an integer beyond 64 bits."""
    stack: list[tuple[str, Any, int]] = [(str(key), value, 1) for key, value in data.items()]
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested deeper than {MAX_DEPTH} levels; no setting takes that")
        if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
            raise ConfigError(f"{where}: got {shown(value)}, expected an integer of at most 64 bits")
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{key}", item, depth + 1) for key, item in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{index}", item, depth + 1) for index, item in enumerate(value))
