"""`hedgebot data download` that cannot reach the exchange says why, not only which URL it asked."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.cli import main


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there any more
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_exchange_is_one_line_naming_the_url_and_the_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    code = main(["data", "download", "--symbols", "BTC/USDT", "--since", "2024-01-01", "--until", "2024-01-02",
                 "--out", str(tmp_path), "--endpoint", f"http://127.0.0.1:{port}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert f"http://127.0.0.1:{port}/" in err  # the URL it asked
    assert "ConnectionRefusedError: Connect call failed" in err  # and why it got no answer
