"""Hostile config files: whatever a TOML file holds, loading gives a Config or one ConfigError naming the key.

Known keys get values of every TOML type (and of the wrong one), with NaN, infinities, huge numbers, absurd
durations and unicode; unknown keys and sections are mixed in; whole files are random text or random bytes.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, load_config, parse_config
from bot.domain import parse_duration_ms

EXAMPLES = 250
SECTIONS = {name: sorted(field.annotation.model_fields) for name, field in Config.model_fields.items()}  # type: ignore[union-attr]  # every field of Config is a section model

TRICKY = st.sampled_from(
    ["", " ", "9" * 400 + "s", "9" * 30 + "d", "1e400", "nan", "-1", "0s", "30 days", "BTC/USDT:USDT", "btcusdt",
     "ETH/BTC:BTC", "unix:/tmp/x", "127.0.0.1:99999", "live", "paper", "replay", "exchange", "é", "\u202e", "🦔",
     "\x00", "a" * 300, math.nan, math.inf, -math.inf, -0.0, 1e308, 2**63 - 1, -(2**63), 0, -1]
)  # fmt: skip
SCALAR = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(datetime.UTC)),
    TRICKY,
)
KEY = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)  # utf-8: no lone surrogates
VALUE = TRICKY | st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=2),
    max_leaves=5,
)


def _is_duration(default: object) -> bool:
    try:
        return isinstance(default, str) and parse_duration_ms(default) >= 0
    except ValueError:
        return False


DURATION_KEYS = [
    (section, key)
    for section, field in Config.model_fields.items()
    for key, setting in field.annotation.model_fields.items()  # type: ignore[union-attr]  # sections are models
    if _is_duration(setting.default)
]
KNOWN_KEY = st.sampled_from([(section, key) for section, keys in SECTIONS.items() for key in keys])
ANY_KEY = KNOWN_KEY | st.tuples(st.sampled_from([*SECTIONS, "botx"]), KEY)


@st.composite
def config_documents(draw: st.DrawFn) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """A config as TOML data with one to three keys set to any value, and those (section, key) pairs."""
    changed = draw(st.sets(ANY_KEY, min_size=1, max_size=3))
    data: dict[str, dict[str, Any]] = {}
    for section, key in changed:
        data.setdefault(section, {})[key] = draw(VALUE)
    return data, changed


def names_a_changed_key(message: str, changed: set[tuple[str, str]]) -> bool:
    """The message names one of the keys that were changed: by its dotted path, by its section and its name, or
    (for a section that does not exist) by the section."""
    return any(
        f"{section}.{key}" in message
        or (section in message and key in message)
        or (section not in SECTIONS and f"{section}: unknown key" in message)
        for section, key in changed
    )


def check(load: Any, changed: set[tuple[str, str]]) -> None:
    """`load()` gives a Config, or a ConfigError naming one of the `changed` keys; nothing else escapes."""
    try:
        config = load()
    except ConfigError as exc:
        error = str(exc)
    else:
        assert isinstance(config, Config)
        return
    assert names_a_changed_key(error, changed), error


# ---- values of the wrong type and shape --------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(
    key=st.sampled_from(DURATION_KEYS),
    text=st.from_regex(r"\A[0-9]{1,400}(\.[0-9]{1,5})?(ms|s|m|h|d|w)\Z") | st.text(max_size=10),
)
@example(key=("alerts", "min_interval"), text="9" * 400 + "s")  # once an OverflowError, not a config error
def test_any_duration_however_long_or_garbled_gives_a_config_or_a_config_error_naming_the_key(
    key: tuple[str, str], text: str
) -> None:
    section, name = key
    check(lambda: parse_config({section: {name: text}}), {key})


@settings(max_examples=EXAMPLES)
@given(document=config_documents())
@example(document=({"portfolio": {"holdings": {":": 0}}}, {("portfolio", "holdings")}))  # once named no key
def test_any_value_for_any_key_gives_a_config_or_a_config_error_naming_the_key(
    document: tuple[dict[str, Any], set[tuple[str, str]]],
) -> None:
    data, changed = document
    check(lambda: parse_config(data, "fuzz.toml"), changed)


def toml_value(value: Any) -> str:
    """`value` written as TOML (the writer tests need; tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int | datetime.date):
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but TOML also wants DEL escaped and no surrogate pairs."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_text(data: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{toml_string(section)}]")
        lines.extend(f"{toml_string(key)} = {toml_value(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("configs") / "hedgebot.toml"


@settings(max_examples=EXAMPLES)
@given(document=config_documents())
def test_any_value_written_to_a_toml_file_loads_or_is_a_config_error_naming_the_key(
    scratch: Path, document: tuple[dict[str, Any], set[tuple[str, str]]]
) -> None:
    data, changed = document
    scratch.write_text(toml_text(data), encoding="utf-8")
    check(lambda: load_config(scratch), changed)


# ---- files that are not TOML, or not text -------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_any_file_content_loads_or_is_a_config_error_naming_the_file(scratch: Path, content: bytes) -> None:
    scratch.write_bytes(content)
    try:
        config = load_config(scratch)
    except ConfigError as exc:
        error = str(exc)
    else:
        assert isinstance(config, Config)
        return
    assert str(scratch) in error
