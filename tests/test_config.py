"""Config files are validated into frozen models; every mistake is named with its value and expectation."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import get_args, get_origin

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
        parse_config({"hedge": {"instruments": ["BTC/USD:USD"]}})


def test_a_quote_that_is_a_prefix_of_the_instruments_quote_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'BTC/USDT:USDT' is not quoted in portfolio\.quote 'USD'"):
        parse_config({"portfolio": {"quote": "USD"}})


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
        "portfolio.posted",  # inverse (coin-margined) hedges trade in paper and backtests only, so far (issue 21)
    }
)


def _section_models() -> dict[str, type[BaseModel]]:
    models = {}
    for name, field in Config.model_fields.items():
        model = field.annotation
        if get_origin(model) is dict:  # [venues.<id>]: tables of one model, documented as one
            model = get_args(model)[1]
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


# ---- issue 14, item 6: values that switched governance off or crashed `run` after `check-config` passed -------


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("risk", "max_leverage"),
        ("risk", "max_instrument_leverage"),
        ("risk", "max_position_notional"),
        ("risk", "max_order_notional"),
        ("risk", "price_band_bps"),
        ("execution", "clip_notional"),
        ("execution", "limit_offset_bps"),
        ("execution", "max_slippage_bps"),
        ("paper", "collateral"),
        ("paper", "taker_fee_bps"),
        ("paper", "maker_fee_bps"),
        ("hedge", "min_trade_notional"),
        ("portfolio", "holdings"),
    ],
)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_an_infinite_or_nan_number_is_refused_naming_the_key(section: str, key: str, value: float) -> None:
    setting: object = {"ETH": value} if key == "holdings" else value
    with pytest.raises(ConfigError, match=rf"{section}\.{key}.*expected a finite number"):
        parse_config({section: {key: setting}})


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("hedge", "ratio", True),
        ("hedge", "ratio", "1.0"),
        ("risk", "max_leverage", "3"),
        ("paper", "collateral", False),
        ("hedge", "min_samples", True),
        ("hedge", "min_samples", 72.0),
        ("bot", "seed", "7"),
        ("hedge", "allow_overhedge", 1),
        ("execution", "post_only", "false"),
    ],
)
def test_a_bool_or_string_where_a_number_belongs_and_the_reverse_are_refused(
    section: str, key: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=rf"{section}\.{key}: got {re.escape(repr(value))}, expected a valid"):
        parse_config({section: {key: value}})


def test_an_integer_is_accepted_where_a_float_belongs() -> None:
    assert parse_config({"paper": {"collateral": 50_000}}).paper.collateral == 50_000.0


@pytest.mark.parametrize(
    ("section", "key"), [("hedge", "window"), ("hedge", "sample"), ("market", "step"), ("bot", "span")]
)
def test_a_zero_duration_that_paces_something_is_refused(section: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"{section}\.{key}: '0s' must be longer than 0"):
        parse_config({section: {key: "0s"}})


def test_a_zero_duration_that_documents_off_is_still_accepted() -> None:
    assert parse_config({"hedge": {"schedule": "0s", "cooldown": "0s"}}).hedge.schedule == "0s"


def test_a_sample_longer_than_the_window_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"sample '2d' is longer than the estimation window '1d'"):
        parse_config({"hedge": {"window": "1d", "sample": "2d"}})


def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"bot\.seed: got -1, expected greater than or equal to 0"):
        parse_config({"bot": {"seed": -1}})


@pytest.mark.parametrize("quote", ["", "usdt", "US DT"])
def test_a_quote_that_is_not_an_asset_code_is_refused(quote: str) -> None:
    with pytest.raises(ConfigError, match=rf"portfolio\.quote: {re.escape(repr(quote))} is not an asset code"):
        parse_config({"portfolio": {"quote": quote}})


@pytest.mark.parametrize("spot", ["ETH/USDT", "BTC/USDT@quarterly"])
def test_a_spot_pair_among_the_hedge_instruments_is_refused(spot: str) -> None:
    with pytest.raises(ConfigError, match=rf"hedge\.instruments\.1: '{re.escape(spot)}' is a spot pair"):
        parse_config({"hedge": {"instruments": ["BTC/USDT:USDT", spot]}})


def test_a_contract_given_for_a_directly_hedged_holding_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"direct \['ETH/USDT:USDT'\]: add their perpetuals"):
        parse_config({"hedge": {"direct": ["ETH/USDT:USDT"]}})


@pytest.mark.parametrize("bad", ["BTC/USDT:USDT-241399", "BTC/USDT:USDT-240329@quarterly", "BTC/USDT:USDC"])
def test_a_contract_hedgebot_cannot_trade_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ConfigError, match=rf"hedge\.instruments\.0: '{re.escape(bad)}'"):
        parse_config({"hedge": {"instruments": [bad]}})


def test_an_instrument_listed_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"hedge instruments \['BTC/USDT:USDT'\] are listed more than once"):
        parse_config({"hedge": {"instruments": ["BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USDT:USDT"]}})


@pytest.mark.parametrize(("key", "value"), [("proxies", ["BTC/USDT:USDT"] * 2), ("direct", ["ETH", "ETH"])])
def test_a_proxy_or_direct_holding_listed_twice_is_refused(key: str, value: list[str]) -> None:
    with pytest.raises(ConfigError, match=rf"{key} .* listed more than once"):
        parse_config({"hedge": {"instruments": ["BTC/USDT:USDT", "ETH/USDT:USDT"], key: value}})


@pytest.mark.parametrize("leg", ["BTC/USD:BTC-250328", "BTC/USD:BTC@quarterly", "BTC/USD:BTC@carry"])
def test_a_dated_inverse_contract_settles_in_its_coin_like_the_perpetual(leg: str) -> None:
    config = parse_config({"portfolio": {"quote": "USD"}, "hedge": {"instruments": [leg]}})
    assert config.settlement_currency == "BTC"


def test_an_inverse_contract_not_quoted_in_usd_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"hedge": {"instruments": ["BTC/USDT:BTC-250328"]}})
    message = str(caught.value)
    assert "'BTC/USDT:BTC-250328': an inverse contract is quoted in USD" in message
    assert "\n" not in message


def test_an_integer_beyond_64_bits_is_refused_naming_the_key_without_quoting_its_digits(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(f"[bot]\nseed = {'9' * 4000}\n")
    with pytest.raises(ConfigError, match=r"bot\.seed: got an integer of 4000 digits, expected an integer of at most"):
        load_config(path)


def test_a_5000_digit_integer_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(f"[bot]\nseed = {'9' * 5000}\n")
    with pytest.raises(ConfigError, match="not a usable config"):
        load_config(path)


def test_a_3000_deep_array_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[hedge]\ninstruments = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="nested"):
        load_config(path)


def test_an_array_nested_deeper_than_any_setting_is_refused_naming_the_key() -> None:
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ConfigError, match=r"hedge\.tiers\.0\.0.*nested deeper than 8 levels"):
        parse_config({"hedge": {"tiers": deep}})


def test_a_long_value_is_quoted_cut_short_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"hedge": {"policy": "x" * 5000}})
    assert len(str(caught.value)) < 300
    assert "(5002 characters)" in str(caught.value)


@pytest.mark.parametrize("text", ["１h", "3０m", "٣d"])
def test_a_duration_in_other_than_ascii_digits_is_refused_naming_the_key(text: str) -> None:
    with pytest.raises(ConfigError, match=r"hedge\.window"):
        parse_config({"hedge": {"window": text}})


def test_a_tier_hysteresis_of_one_is_refused_at_check_config_not_met_at_run() -> None:
    with pytest.raises(ConfigError, match=r"hedge\.tier_hysteresis"):
        parse_config({"hedge": {"tier_hysteresis": 1.0}})


@pytest.mark.parametrize("tiers", [[], [{"above": 0.5, "ratio": 0.5}, {"above": 0.5, "ratio": 1.0}]])
def test_tiers_that_do_not_rise_strictly_are_refused_at_check_config(tiers: list[dict[str, float]]) -> None:
    with pytest.raises(ConfigError, match=r"hedge\.tiers"):
        parse_config({"hedge": {"tiers": tiers}})
