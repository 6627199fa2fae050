"""The exchange accounts read as holdings, as `ctl status` shows them: read age, stream, error, staleness."""

from __future__ import annotations

from dataclasses import replace

from bot.control.render import status_text
from bot.report.accounts_status import AccountView, accounts_status

NOW = 1_704_067_200_000
KEY = "pqrsdf94ZPe7XBHgYbTS2lVEb9jSoaKkpgBHVTpyMvrVs3Kq5lPWvGg2pB"  # the shape of a listen key
MAIN = AccountView(
    name="main", exchange="binance", wallets=("spot", "earn"), max_age_ms=300_000, since_ms=NOW - 12_000,
    held=False, read_ms=NOW - 12_000, read_error="", streamed=True, live=True, reconnects=2, stream_error="",
)  # fmt: skip


def test_an_account_read_recently_with_its_stream_live_is_shown_fresh_with_its_reconnects() -> None:
    [row] = accounts_status((MAIN,), NOW)

    assert row == {
        "name": "main",
        "exchange": "binance",
        "wallets": ["spot", "earn"],
        "read_age_s": 12.0,
        "max_age_s": 300.0,
        "stale": False,
        "held": None,
        "stream": {"followed": True, "live": True, "reconnects": 2},
        "last_error": None,
    }


def test_an_account_past_its_age_limit_is_stale_and_held_with_its_read_error_redacted() -> None:
    error = f"GET /api?listenKey={KEY} refused"
    failing = replace(MAIN, since_ms=NOW - 301_000, read_ms=NOW - 301_000, read_error=error, held=True)

    [row] = accounts_status((failing,), NOW)

    assert (row["stale"], row["held"], row["read_age_s"]) == (True, "reducing", 301.0)
    assert KEY not in row["last_error"]
    assert row["last_error"].endswith("refused")


def test_an_account_not_read_yet_has_no_age_and_is_stale_only_once_the_grace_from_the_start_runs_out() -> None:
    starting = replace(MAIN, read_ms=None, since_ms=NOW - 60_000)

    [row] = accounts_status((starting,), NOW)
    [later] = accounts_status((starting,), NOW + 300_000)

    assert (row["read_age_s"], row["stale"], later["stale"]) == (None, False, True)
    assert later["held"] is None  # held from the next read on, which judges it (bot/live/holdings_sync.py)


def test_a_stream_that_is_not_followed_is_never_live_and_its_last_failure_is_shown_when_reads_succeed() -> None:
    unfollowed = replace(MAIN, streamed=False, live=True, reconnects=0)
    down = replace(MAIN, live=False, stream_error="connection closed")

    [row] = accounts_status((unfollowed,), NOW)
    [down_row] = accounts_status((down,), NOW)

    assert row["stream"] == {"followed": False, "live": False, "reconnects": 0}
    assert (down_row["stream"]["live"], down_row["last_error"]) == (False, "connection closed")


def test_ctl_status_prints_one_line_per_account_with_its_stream_and_staleness() -> None:
    stale = replace(MAIN, name="cold", wallets=("funding",), since_ms=NOW - 400_000, read_ms=None,
                    read_error="503 Service Unavailable", streamed=False, held=True)  # fmt: skip

    text = status_text({"accounts": accounts_status((MAIN, stale), NOW)})

    lines = [line for line in text.splitlines() if line.startswith("account ")]
    assert lines == [
        "account    main (binance: spot, earn) read 12s ago, stream live (2 reconnects)",
        "account    cold (binance: funding) not read yet, STALE past max_age 300s: trading held reducing,"
        " stream not followed (scheduled reads); last error: 503 Service Unavailable",
    ]


def test_ctl_status_says_when_an_accounts_stream_is_down() -> None:
    text = status_text({"accounts": accounts_status((replace(MAIN, live=False),), NOW)})

    assert "stream DOWN (2 reconnects)" in text


def test_ctl_status_says_a_stale_account_not_yet_held_is_held_at_its_next_read() -> None:
    stale = replace(MAIN, since_ms=NOW - 400_000, read_ms=NOW - 400_000)

    text = status_text({"accounts": accounts_status((stale,), NOW)})

    assert "read 400s ago, STALE past max_age 300s: held at its next read, stream live" in text
