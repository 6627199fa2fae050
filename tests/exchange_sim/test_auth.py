from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.exchange_sim import auth
from bot.exchange_sim.errors import BinanceError

SECRET = "s3cret"
NOW = 1_767_225_600_000

param_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
param_dicts = st.dictionaries(st.from_regex(r"[a-zA-Z]{1,10}", fullmatch=True), param_values, max_size=6)


def signed(params: dict[str, str], secret: str = SECRET, timestamp: int = NOW) -> str:
    query = urlencode({**params, "timestamp": str(timestamp), "recvWindow": "5000"})
    return f"{query}&signature={auth.sign(query, secret)}"


@given(param_dicts)
def test_any_params_signed_with_the_secret_are_accepted_and_returned(params: dict[str, str]) -> None:
    params = {k: v for k, v in params.items() if k not in ("timestamp", "recvWindow", "signature")}
    checked = auth.check_signed(signed(params), SECRET, NOW, 60_000)
    assert {k: checked[k] for k in params} == params


@given(param_dicts, st.text(min_size=1, max_size=8))
def test_a_signature_made_with_another_secret_is_refused_with_1022(params: dict[str, str], other: str) -> None:
    params = {k: v for k, v in params.items() if k not in ("timestamp", "recvWindow", "signature")}
    if other == SECRET:
        return
    with pytest.raises(BinanceError) as caught:
        auth.check_signed(signed(params, secret=other), SECRET, NOW, 60_000)
    assert (caught.value.status, caught.value.code) == (400, -1022)


def test_a_tampered_parameter_breaks_the_signature() -> None:
    raw = signed({"symbol": "BTCUSDT", "quantity": "0.001"}).replace("quantity=0.001", "quantity=1")
    with pytest.raises(BinanceError) as caught:
        auth.check_signed(raw, SECRET, NOW, 60_000)
    assert caught.value.code == -1022


@pytest.mark.parametrize("skew_ms", [-6_000, 1_000, 600_000])
def test_a_timestamp_outside_the_receive_window_is_refused_with_1021(skew_ms: int) -> None:
    with pytest.raises(BinanceError) as caught:
        auth.check_signed(signed({"symbol": "BTCUSDT"}, timestamp=NOW + skew_ms), SECRET, NOW, 60_000)
    assert caught.value.code == -1021


def test_a_request_without_signature_names_the_missing_parameter() -> None:
    query = urlencode({"symbol": "BTCUSDT", "timestamp": str(NOW)})
    with pytest.raises(BinanceError) as caught:
        auth.check_signed(query, SECRET, NOW, 60_000)
    assert caught.value.code == -1102
    assert "signature" in caught.value.msg


def test_a_missing_api_key_is_a_401_with_2014_and_an_unknown_one_a_401_with_2015() -> None:
    def secrets(key: str) -> str | None:
        return SECRET if key == "good" else None

    with pytest.raises(BinanceError) as missing:
        auth.require_api_key({}, secrets)
    with pytest.raises(BinanceError) as unknown:
        auth.require_api_key({auth.API_KEY_HEADER: "bad"}, secrets)
    assert (missing.value.status, missing.value.code) == (401, -2014)
    assert (unknown.value.status, unknown.value.code) == (401, -2015)
    assert auth.require_api_key({auth.API_KEY_HEADER: "good"}, secrets) == SECRET
