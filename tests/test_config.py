"""Config files are validated into frozen models; every mistake is named with its value and expectation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.config import Config, ConfigError, load_config, parse_config

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def test_the_paper_config_file_is_exactly_the_embedded_default() -> None:
    assert load_config(CONFIG_DIR / "paper.toml") == Config()


@pytest.mark.parametrize("name", ["paper.toml", "backtest.toml", "live.example.toml", "hedge-best.toml"])
def test_every_shipped_config_is_valid(name: str) -> None:
    path = CONFIG_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not shipped yet")
    load_config(path)


def test_an_unknown_key_is_named_with_its_value() -> None:
    with pytest.raises(ConfigError, match=r"hedge\.ratoi: unknown key \(value 0\.5\)"):
        parse_config({"hedge": {"ratoi": 0.5}})


def test_a_wrong_type_names_the_key_the_value_and_what_was_expected() -> None:
    with pytest.raises(ConfigError, match=r"hedge\.ratio: got 'half', expected a valid number"):
        parse_config({"hedge": {"ratio": "half"}})


def test_a_bad_duration_and_a_bad_symbol_are_both_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"hedge": {"window": "30 days", "instruments": ["btcusdt"]}})
    assert "hedge.window: '30 days' is not a duration" in str(caught.value)
    assert "hedge.instruments.0: 'btcusdt' is not a ccxt unified symbol" in str(caught.value)


def test_a_hedge_instrument_in_another_quote_currency_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"not quoted in portfolio\.quote 'USDT'"):
        parse_config({"hedge": {"instruments": ["BTC/USD:BTC"]}})


def test_a_file_that_is_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[bot\nmode = paper")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.toml")


def test_the_models_are_frozen() -> None:
    config = Config()
    with pytest.raises(ValueError, match="frozen"):
        config.hedge.ratio = 2.0  # type: ignore[misc]  # the point of the test is that this is refused


_value = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
_section = st.sampled_from(["bot", "market", "portfolio", "hedge", "risk", "execution", "paper", "nosuch"])
_key = st.sampled_from(["mode", "ratio", "window", "instruments", "holdings", "collateral", "zzz", "source"])


@given(st.dictionaries(_section, st.dictionaries(_key, _value, max_size=3), max_size=3))
def test_any_config_is_either_valid_or_refused_with_a_config_error(data: dict[str, dict[str, object]]) -> None:
    try:
        parse_config(data)
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("config: ")


# Settings that cannot apply to a live run, left out of config/live.example.toml: the simulated account, the
# synthetic and replayed markets (config/paper.toml, config/backtest.toml), and the basis that prices dated
# contracts only where the data has none (live, the exchange prices them). A whole section or "section.key".
NOT_LIVE_SETTINGS = frozenset(
    {
        "paper",
        "bot.span",
        "bot.seed",
        "market.step",
        "market.prices",
        "market.funding",
        "market.perp",
        "market.start",
        "market.end",
        "execution.dated_basis_annual",
    }
)


def _section_models() -> dict[str, type[BaseModel]]:
    models = {}
    for name, field in Config.model_fields.items():
        model = field.annotation
        assert isinstance(model, type), name
        assert issubclass(model, BaseModel), name
        models[name] = model
    return models


def _template_blocks(text: str) -> dict[str, str]:
    """Each top-level section's lines, its sub-tables (`[portfolio.holdings]`) included."""
    blocks: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        header = re.match(r"\[([a-z_]+)[].]", line)
        if header:
            section = header.group(1)
        blocks.setdefault(section, []).append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def _documents(block: str, section: str, key: str) -> bool:
    """`key = ...` set, `# key = ...` shown at its default, or a `[section.key]` sub-table."""
    pattern = rf"^(#[ \t]*)?{re.escape(key)}[ \t]*=|^\[{re.escape(section)}\.{re.escape(key)}\]"
    return re.search(pattern, block, re.MULTILINE) is not None


def test_not_live_settings_name_real_settings() -> None:
    models = _section_models()
    for name in NOT_LIVE_SETTINGS:
        section, _, key = name.partition(".")
        assert section in models, name
        assert not key or key in models[section].model_fields, name


def test_the_live_template_documents_every_live_setting() -> None:
    blocks = _template_blocks((CONFIG_DIR / "live.example.toml").read_text())
    undocumented, misplaced = [], []
    for section, model in _section_models().items():
        block = blocks.get(section, "")
        for key in model.model_fields:
            name = f"{section}.{key}"
            if section in NOT_LIVE_SETTINGS or name in NOT_LIVE_SETTINGS:
                if _documents(block, section, key):
                    misplaced.append(name)
            elif not _documents(block, section, key):
                undocumented.append(name)
    assert not undocumented, (
        f"config/live.example.toml does not document {undocumented}: add each to its section as `key = value` or"
        " `# key = value` with its default and what it does, or to NOT_LIVE_SETTINGS if it cannot apply live"
    )
    assert not misplaced, f"config/live.example.toml shows {misplaced}, which cannot apply to a live run"
    assert "paper" not in blocks, "config/live.example.toml has a [paper] section; live runs do not read it"


@pytest.mark.parametrize("window", ["0s", "61s", "2m"])
def test_a_request_window_venues_would_refuse_is_a_config_error_naming_it(window: str) -> None:
    with pytest.raises(ConfigError, match=rf"venue.request_window.*{window}.*at most 60s"):
        parse_config({"venue": {"request_window": window}})
