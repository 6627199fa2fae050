"""Hostile config files: whatever a TOML file holds, loading gives a Config or one ConfigError naming the key.

Known keys get values of every TOML type (and of the wrong one), with NaN, infinities, huge numbers, absurd
durations and unicode; unknown keys and sections are mixed in; whole files are random text or random bytes, or
the shipped configs (and the embedded default) with keys changed, removed or added. At the command line every
such file is accepted by `hedgebot check-config` (exit 0) or refused in one line (exit 2), never a traceback;
and a config `check-config` accepts runs (`hedgebot run`, a short paper span) or is refused in one line.
`bench/config_fuzz.py` runs the same properties over more inputs and prints the counts.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.cli import main
from bot.config import Config, ConfigError, load_config, parse_config
from bot.domain import parse_duration_ms
from bot.settings.toml import one_line

EXAMPLES = 250
ENTRY = "second"  # the id a table-of-tables section (`[venues.<id>]`) is fuzzed under


def _section_models() -> dict[str, type[BaseModel]]:
    """Every section of Config by its dotted name: a model, or a table of models (`venues` → `venues.second`)."""
    models: dict[str, type[BaseModel]] = {}
    for name, field in Config.model_fields.items():
        annotation = field.annotation
        if get_origin(annotation) is dict:
            models[f"{name}.{ENTRY}"] = get_args(annotation)[1]
        else:
            models[name] = annotation  # type: ignore[assignment]  # every other field of Config is a section model
    return models


SECTION_MODELS = _section_models()
SECTIONS = {name: sorted(model.model_fields) for name, model in SECTION_MODELS.items()}

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
    for section, model in SECTION_MODELS.items()
    for key, setting in model.model_fields.items()
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
        nested(data, section)[key] = draw(VALUE)
    return data, changed


def nested(data: dict[str, Any], section: str) -> dict[str, Any]:
    """The table of a dotted section name in `data`, made on the way (`venues.second` → data["venues"]["second"])."""
    table = data
    for part in section.split("."):
        table = table.setdefault(part, {})
    if section == f"venues.{ENTRY}":  # an entry trades an instrument of the default config unless fuzzed otherwise
        table.setdefault("instruments", ["ETH/USDT:USDT"])
    return table


def names_a_changed_key(message: str, changed: set[tuple[str, str]]) -> bool:
    """The message names one of the keys that were changed: by its dotted path, by its section and its name, or
    (for a section that does not exist) by the section. The message is one line: it names them escaped."""
    escaped = {(one_line(section), one_line(key)) for section, key in changed}  # messages escape line breaks
    return any(
        f"{section}.{key}" in message
        or (section in message and key in message)
        or (section not in SECTIONS and f"{section}: unknown key" in message)
        for section, key in escaped
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
    data: dict[str, Any] = {}
    nested(data, section)[name] = text
    check(lambda: parse_config(data), {key})


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


# ---- whole files: the shipped configs and the embedded default, mutated, through the command line -------------

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def _without_nulls(value: Any) -> Any:
    """`value` without the None entries TOML cannot write (a key left out is the same None default)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


BASES: dict[str, dict[str, Any]] = {
    "embedded default": _without_nulls(Config().model_dump(mode="json")),
    **{path.name: tomllib.loads(path.read_text()) for path in sorted(CONFIG_DIR.glob("*.toml"))},
}


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, dict[str, Any], set[tuple[str, str]]]:
    """A shipped config (or the default) with one to three keys set to any value, removed, or added."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = json.loads(json.dumps(BASES[name], default=str))  # a deep copy; dates become their ISO text
    changed: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(1, 3))):
        section, key = draw(ANY_KEY)
        table = nested(data, section)
        if key in table and draw(st.booleans()) and draw(st.booleans()):
            del table[key]
        elif key in table and isinstance(table[key], list) and table[key] and draw(st.booleans()):
            table[key] = [*table[key], table[key][0]]  # a list with its first entry repeated
        else:
            table[key] = draw(VALUE)
        changed.add((section, key))
    return name, data, changed


@dataclass
class Outcome:
    """How one command ended: its exit status and what it printed, or the exception that escaped it."""

    code: int | None
    out: str
    err: str
    escaped: Exception | None = None

    @property
    def kind(self) -> str:
        """accepted (exit 0), refused (exit 2, one line on stderr), or traceback (anything else)."""
        if self.escaped is None and self.code == 0:
            return "accepted"
        if self.escaped is None and self.code == 2 and self.err.count("\n") == 1 and self.err.startswith("hedgebot: "):
            return "refused"
        return "traceback"


def hedgebot(*argv: str) -> Outcome:
    """`hedgebot ARGV` in this process, as the console script runs it: exit status and output, or what escaped."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            return Outcome(exc.code if isinstance(exc.code, int) else 1, out.getvalue(), err.getvalue())
        except BaseException as exc:
            return Outcome(None, out.getvalue(), err.getvalue(), exc)
    return Outcome(code, out.getvalue(), err.getvalue())


def check_config_outcome(path: Path, text: str) -> Outcome:
    path.write_text(text, encoding="utf-8")
    return hedgebot("check-config", str(path))


@settings(max_examples=EXAMPLES, deadline=None)
@given(mutated=mutated_files())
def test_any_shipped_config_mutated_is_accepted_or_refused_in_one_line_by_check_config(
    scratch: Path, mutated: tuple[str, dict[str, Any], set[tuple[str, str]]]
) -> None:
    _, data, _ = mutated
    outcome = check_config_outcome(scratch, toml_text(data))
    assert outcome.kind != "traceback", (outcome.code, outcome.err, outcome.escaped)


def deep_array(depth: int) -> str:
    return "[hedge]\ninstruments = " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize(
    "text",
    [
        deep_array(3000),
        deep_array(600),
        f"[bot]\nseed = {'9' * 5000}\n",
        f"[bot]\nseed = {'9' * 4000}\n",
        "[risk]\nmax_leverage = inf\n",
        '[hedge]\nratio = "1.0"\n',
        '[bot]\nmode = "live"\n[portfolio]\nquote = "USD"\n[hedge]\ninstruments = ["BTC/USD:BTC-250328"]\n'
        '[venue]\nexchange = "bybit"\n',  # dated inverse contracts trade live on binancecoinm only
    ],
    ids=["3000-deep", "600-deep", "5000-digits", "4000-digits", "inf", "string-ratio", "dated-inverse-live"],
)
def test_absurd_files_are_refused_in_one_line_with_exit_two_by_check_config_and_run(tmp_path: Path, text: str) -> None:
    path = tmp_path / "absurd.toml"
    path.write_text(text)
    for outcome in (hedgebot("check-config", str(path)), hedgebot("run", "--config", str(path), "--span", "1d")):
        assert outcome.kind == "refused", (outcome.code, outcome.err, outcome.escaped)
        assert str(path) in outcome.err


# ---- what check-config accepts, run runs ---------------------------------------------------------------------

FAST = {"bot": {"span": "1d", "seed": 7}, "hedge": {"window": "2d", "min_samples": 24}}
RUN_DURATIONS = st.sampled_from(["1ms", "1s", "59s", "1m", "5m", "1h", "6h", "1d", "2d", "3d", "0s", "7d"])
RUN_NUMBERS = st.one_of(
    st.sampled_from([0, 0.0, -1, 1, 3, 1e-9, 1e-300, 0.5, 1.0, 2.9, 100, 10_000, 1e6, 1e300, -1e300, 2**63 - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63 - 1),
)
RUN_SYMBOLS = st.lists(
    st.sampled_from(
        ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BTC/USDT:USDT@quarterly", "ETH/USDT:USDT-240329",
         "DOGE/USDT:USDT", "XRP/USDT:USDT", "ETH/USDT", "BTC/USD:BTC"]
    ),
    max_size=3,
)  # fmt: skip
# The settings a paper run on the synthetic market reads; a run needs no network, so the sections that reach one
# (venue, control, metrics, alerts, telegram) and the market's source are left as they are.
RUN_KEYS = [
    (section, key, strategy)
    for section in ("bot", "market", "portfolio", "hedge", "risk", "execution", "paper")
    for key, field in Config.model_fields[section].annotation.model_fields.items()  # type: ignore[union-attr]
    if (section, key) not in {("bot", "state_dir"), ("bot", "log_file"), ("bot", "mode"), ("market", "source")}
    for strategy in [
        RUN_DURATIONS
        if _is_duration(field.default)
        else RUN_SYMBOLS
        if key in {"instruments", "proxies"}
        else st.sampled_from(["fixed", "beta", "min_variance", "tiered", "nope"])
        if key == "policy"
        else st.dictionaries(st.sampled_from(["ETH", "SOL", "BTC", "DOGE", "ZZZ", "USDT"]), RUN_NUMBERS, max_size=3)
        if key in {"holdings", "holdings_value", "locked"}
        else st.sampled_from(["down", "nearest", "up"])
        if key == "rounding"
        else st.booleans()
        if isinstance(field.default, bool)
        else RUN_NUMBERS
    ]
]


@st.composite
def runnable_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A fast paper config with one or two of the settings a run reads changed to plausible and edge values."""
    data: dict[str, Any] = json.loads(json.dumps(FAST))
    for index in draw(st.lists(st.integers(0, len(RUN_KEYS) - 1), min_size=1, max_size=2, unique=True)):
        section, key, strategy = RUN_KEYS[index]
        data.setdefault(section, {})[key] = draw(strategy)
    return data


def fast_enough(data: dict[str, Any]) -> bool:
    """Whether a run of this config is short enough for a test: a synthetic price at least every second."""
    step = data.get("market", {}).get("step", "1m")
    try:
        return parse_duration_ms(step) >= 1_000
    except ValueError:
        return True  # refused before it runs


def run_outcome(state_dir: Path, data: dict[str, Any]) -> tuple[Outcome, Outcome | None]:
    """check-config on `data`, then (when accepted) a one-day paper run of it in `state_dir`."""
    data = {**data, "bot": {**data.get("bot", {}), "state_dir": str(state_dir)}}
    path = state_dir / "fuzz.toml"
    checked = check_config_outcome(path, toml_text(data))
    if checked.kind != "accepted":
        return checked, None
    return checked, hedgebot("run", "--config", str(path), "--span", "1d")


@settings(max_examples=12, deadline=None)
@given(data=runnable_documents().filter(fast_enough))
def test_a_config_check_config_accepts_runs_or_is_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    checked, ran = run_outcome(tmp_path_factory.mktemp("run"), data)
    assert checked.kind != "traceback", (checked.err, checked.escaped)
    if ran is not None:
        assert ran.kind != "traceback", (data, ran.code, ran.err, ran.escaped)


def tally(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(outcome.kind for outcome in outcomes)
