"""The control token: read like every secret, strong enough, and checked only in the Authorization header."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ControlSection
from bot.control.auth import MIN_TOKEN_LENGTH, BearerCheck, ControlSetupError, load_token

TOKEN = "t0ken-for-tests-0123456789abcdef"
ENV = "HEDGEBOT_TEST_CONTROL_TOKEN"


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> ControlSection:
    monkeypatch.delenv(ENV, raising=False)
    return ControlSection(token_env=ENV)


def test_the_exact_bearer_token_is_accepted() -> None:
    assert BearerCheck(TOKEN).accepts(f"Bearer {TOKEN}")
    assert BearerCheck(TOKEN).accepts(f"bearer {TOKEN}")  # the scheme is case-insensitive (RFC 7235)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        TOKEN,
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
    ],
)
def test_anything_but_bearer_and_the_token_is_refused(header: str | None) -> None:
    assert not BearerCheck(TOKEN).accepts(header)


@given(st.text(max_size=80))
def test_no_other_credential_passes_the_check(credential: str) -> None:
    if credential.strip() == TOKEN:
        return
    assert not BearerCheck(TOKEN).accepts(f"Bearer {credential}")


def test_the_token_comes_from_the_environment_first(
    monkeypatch: pytest.MonkeyPatch, no_env_token: ControlSection
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    assert load_token(no_env_token) == TOKEN


def test_no_variable_and_no_file_means_no_token(no_env_token: ControlSection) -> None:
    assert load_token(no_env_token) is None


def test_a_token_file_only_its_owner_can_read_is_used(tmp_path: Path, no_env_token: ControlSection) -> None:
    file = tmp_path / "token"
    file.write_text(TOKEN + "\n")
    os.chmod(file, 0o600)
    assert load_token(no_env_token.model_copy(update={"token_file": file})) == TOKEN


def test_a_token_file_others_can_read_is_refused_without_showing_the_token(
    tmp_path: Path, no_env_token: ControlSection
) -> None:
    file = tmp_path / "token"
    file.write_text(TOKEN)
    os.chmod(file, 0o644)
    with pytest.raises(ControlSetupError, match="chmod 600") as refused:
        load_token(no_env_token.model_copy(update={"token_file": file}))
    assert TOKEN not in str(refused.value)


def test_a_short_token_is_refused_naming_where_it_came_from_but_not_its_value(
    monkeypatch: pytest.MonkeyPatch, no_env_token: ControlSection
) -> None:
    short = "abc12345"
    assert len(short) < MIN_TOKEN_LENGTH
    monkeypatch.setenv(ENV, short)
    with pytest.raises(ControlSetupError, match=ENV) as refused:
        load_token(no_env_token)
    assert short not in str(refused.value)
