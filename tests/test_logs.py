"""Logging: every line redacted, whenever its logger was made and whether or not `configure()` has run yet."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot import logs
from bot.secrets import redact, register

SECRET = "early-logger-secret-5f0c9a7e"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The test may configure structlog; the next test finds it as it was."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_a_logger_made_before_configure_writes_to_the_configured_file_with_secrets_redacted(
    tmp_path: Path, restored_logging: None
) -> None:
    register(SECRET)
    early = logs.get_logger(component="alerts")  # as an alerter built while the run is still being checked
    logs.configure(tmp_path / "hedgebot.log", "info")
    early.warning("alert_send_failed", error=f"500, url='http://127.0.0.1:1/bot{SECRET}/sendMessage'")
    [line] = (tmp_path / "hedgebot.log").read_text().splitlines()
    entry = json.loads(line)
    assert (entry["component"], entry["event"]) == ("alerts", "alert_send_failed")
    assert entry["error"] == "500, url='http://127.0.0.1:1/bot***/sendMessage'"


def test_before_configure_the_console_lines_are_redacted_too() -> None:
    program = (
        "from bot.logs import get_logger; from bot.secrets import redact, register\n"
        f"register({SECRET!r})\n"
        f"get_logger(component='ctl').warning('refused', error='token {SECRET}')\n"
        "try:\n"
        f"    raise ValueError('bad {SECRET}')\n"
        "except ValueError:\n"
        "    get_logger().exception('failed')\n"
    )
    ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert "token ***" in ran.stdout
    assert "ValueError: bad ***" in ran.stdout
    assert SECRET not in ran.stdout + ran.stderr


def test_a_listen_key_handed_out_by_the_exchange_is_masked_by_its_shape_wherever_it_appears() -> None:
    key = "Zq0x7KLmW3pTtYb9uVnR4sDfG8hJkL2aXcVbNm1qWeRtYuIoPaSdFgHjKlZxCvBn"
    url = f"wss://fstream.binance.com/ws/{key}"
    query = f"PUT https://fapi.binance.com/fapi/v1/listenKey?listenKey={key}"
    assert redact(f"Connection to {url} closed") == "Connection to wss://fstream.binance.com/ws/*** closed"
    assert key not in redact(query)
    assert redact("/ws/btcusdt@markPrice") == "/ws/btcusdt@markPrice"  # a stream name is not a key


def test_a_librarys_warning_is_a_json_line_of_ours_with_secrets_redacted(
    tmp_path: Path, restored_logging: None
) -> None:
    log_file = tmp_path / "hedgebot.log"
    logs.configure(log_file)
    register(SECRET)
    logging.getLogger("ccxt.base.exchange").warning("request to %s failed", f"https://x/?key={SECRET}")
    [line] = [json.loads(text) for text in log_file.read_text().splitlines()]
    assert (line["event"], line["component"], line["level"]) == ("library_log", "ccxt.base.exchange", "warning")
    assert line["message"] == "request to https://x/?key=*** failed"
