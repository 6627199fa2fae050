"""The journal records intents once, deduplicates fills, and refuses files that are not its own."""

from __future__ import annotations

import sqlite3
from dataclasses import astuple
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain import ClientOrderId, Fill, OrderRequest, OrderStatus, OrderUpdate, Side, Symbol, TradeId
from bot.store.journal import Journal, JournalError, Valuation
from bot.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

BTC = Symbol("BTC/USDT:USDT")
REQUEST = OrderRequest(ClientOrderId("hb-1-1"), BTC, Side.SELL, 0.1)


def test_an_intent_is_recorded_once_and_a_second_record_of_the_same_id_is_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.record_intent(REQUEST, 1)
    assert not journal.record_intent(REQUEST, 2)
    assert [o.status for o in journal.open_orders()] == [OrderStatus.NEW]


def test_a_fill_seen_twice_is_recorded_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    fill = Fill(5, TradeId("t1"), REQUEST.client_id, BTC, Side.SELL, 0.1, 50_000.0, 2.0, "USDT")
    assert journal.record_fill(fill)
    assert not journal.record_fill(fill)
    assert journal.count("fills") == 1


def test_a_final_order_update_takes_the_order_out_of_the_open_set(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.record_intent(REQUEST, 1)
    journal.record_order_update(OrderUpdate(2, REQUEST.client_id, BTC, OrderStatus.FILLED, 0.1, 50_000.0, "77"))
    assert journal.open_orders() == []
    stored = journal.order(REQUEST.client_id)
    assert stored is not None
    assert (stored.status, stored.exchange_id, stored.request) == (OrderStatus.FILLED, "77", REQUEST)


def test_what_was_committed_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).record_intent(REQUEST, 1)
    reopened = Journal(path)
    assert reopened.schema_version == SCHEMA_VERSION
    assert reopened.order(REQUEST.client_id) is not None


def test_a_foreign_sqlite_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(JournalError, match="not a hedgebot journal"):
        Journal(path)


def test_a_corrupt_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(JournalError, match="not a usable hedgebot journal"):
        Journal(path)


def test_a_journal_from_a_newer_hedgebot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="newer than this hedgebot"):
        Journal(path)


# ---- durability and hostile files -------------------------------------------------------------------------


def test_a_durable_journal_is_in_wal_mode_with_full_synchronous_commits(tmp_path: Path) -> None:
    durable = Journal(tmp_path / "j.sqlite")
    backtest = Journal(tmp_path / "b.sqlite", durable=False)
    assert (durable.pragma("journal_mode"), durable.pragma("synchronous")) == ("wal", 2)  # 2 = FULL
    assert (backtest.pragma("journal_mode"), backtest.pragma("synchronous")) == ("wal", 0)


def test_a_foreign_sqlite_file_is_refused_without_being_changed(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (x)")
    before = path.read_bytes()
    with pytest.raises(JournalError, match=f"{path}: this SQLite file is not a hedgebot journal"):
        Journal(path)
    assert path.read_bytes() == before
    assert not path.with_name("other.sqlite-wal").exists()


def test_a_torn_journal_is_refused_naming_the_path_and_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    for n in range(400):
        journal.record_fill(Fill(n, TradeId(f"t{n}"), REQUEST.client_id, BTC, Side.SELL, 0.1, 50_000.0, 2.0, "USDT"))
    journal.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the second half of the file never reached the disk
    with pytest.raises(JournalError, match=f"{path}: not a usable hedgebot journal") as raised:
        Journal(path)
    assert "Traceback" not in str(raised.value)


def test_a_directory_where_the_journal_should_be_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is a directory, not a journal file"):
        Journal(tmp_path)


def test_an_older_journal_is_migrated_forward_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with sqlite3.connect(path) as db:
        for version in (1, 2):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("PRAGMA user_version=2")
        db.execute(
            "INSERT INTO orders(client_id, decision_id, clip_no, symbol, side, qty, order_type, reduce_only,"
            " post_only, status, created_ts, updated_ts) VALUES ('hb-1-1', 'd', 0, ?, 'sell', 0.1, 'market', 0, 0,"
            " 'new', 1, 1)",
            (BTC,),
        )
    journal = Journal(path)
    assert journal.schema_version == SCHEMA_VERSION
    assert [o.request.client_id for o in journal.unsent_intents()] == ["hb-1-1"]
    assert journal.count("position_adoptions") == 0


# ---- what reconciliation reads --------------------------------------------------------------------------


def _fill(trade: str, qty: float, side: Side = Side.SELL, ts: int = 5, client_id: str = "hb-1-1") -> Fill:
    return Fill(ts, TradeId(trade), ClientOrderId(client_id), BTC, side, qty, 50_000.0, 2.0, "USDT")


def test_positions_add_up_fills_and_positions_adopted_from_the_venue(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.record_fill(_fill("t1", 0.3))
    journal.record_fill(_fill("t2", 0.1, Side.BUY))
    assert journal.positions() == {BTC: pytest.approx(-0.2)}
    journal.record_position_adoption(9, BTC, -0.2, -0.5)
    assert journal.positions() == {BTC: pytest.approx(-0.5)}


def test_catch_up_starts_at_the_last_fill_or_the_oldest_open_order_whichever_is_earlier(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.catch_up_from() is None
    journal.record_intent(REQUEST, 100)
    assert journal.catch_up_from() == 100
    journal.record_fill(_fill("t1", 0.1, ts=300))
    assert journal.catch_up_from() == 100  # the order is still open
    journal.record_order_update(OrderUpdate(300, REQUEST.client_id, BTC, OrderStatus.FILLED, 0.1))
    assert journal.catch_up_from() == 300


def test_fill_keys_filled_quantities_and_unsent_intents_are_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.record_intent(REQUEST, 1)
    journal.record_fill(_fill("old", 0.02, ts=10))
    journal.record_fill(_fill("new", 0.03, ts=20))
    assert journal.fill_keys_since(15) == {(BTC, TradeId("new"))}
    assert journal.filled_qty_by_order([REQUEST.client_id, ClientOrderId("hb-9-9")]) == {
        REQUEST.client_id: pytest.approx(0.05)
    }
    assert [o.request for o in journal.unsent_intents()] == [REQUEST]
    journal.record_reconciliation(30, "ok", "", {"fills": 2})
    assert journal.rows("reconciliations") == [{"ts": 30, "outcome": "ok", "reason": "", "summary": '{"fills": 2}'}]


def test_a_corrupt_journal_is_one_line_and_exit_status_2_which_systemd_does_not_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"\x00garbage" * 512)
    assert main(["report", "--journal", str(path)]) == 2  # deploy/hedgebot.service: RestartPreventExitStatus=2
    err = capsys.readouterr().err
    assert err == f"hedgebot: {path}: not a usable hedgebot journal (file is not a database)\n"


def test_a_valuation_row_is_its_fields_in_order_and_reads_back_equal(tmp_path: Path) -> None:
    valuation = Valuation(7, 1.5, 2.5, 3.0, -4.0, -4.5, 0.1, 0.2, 0.3, 0.4, 0.9, None)
    assert valuation.as_row() == astuple(valuation)
    journal = Journal(tmp_path / "j.sqlite")
    journal.record_valuation(valuation)
    assert journal.valuations() == [valuation]


def test_rows_are_keyed_by_venue_and_a_fill_is_unique_per_venue(tmp_path: Path) -> None:
    from bot.domain import ClientOrderId, Fill, Side, Symbol, TradeId

    journal = Journal(tmp_path / "venues.sqlite")
    journal.venue_of = lambda symbol: "second" if symbol.startswith("BTC") else "main"
    btc, eth = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
    on_btc = Fill(1, TradeId("7"), ClientOrderId("a"), btc, Side.SELL, 0.1, 30_000.0, 0.1, "USDT")
    assert journal.record_fill(on_btc)
    assert not journal.record_fill(on_btc)  # once per venue
    journal.venue_of = lambda _symbol: "main"  # the same instrument and trade id at another venue: another fill
    assert journal.record_fill(on_btc)
    assert journal.record_fill(Fill(2, TradeId("7"), ClientOrderId("b"), eth, Side.SELL, 1.0, 2_000.0, 0.1, "USDT"))
    assert journal.positions("second") == {btc: -0.1}
    assert journal.positions("main") == {btc: -0.1, eth: -1.0}
    assert journal.fill_keys_since(0, "second") == {(btc, TradeId("7"))}
    assert {row["venue"] for row in journal.rows("fills")} == {"main", "second"}


def test_a_journal_from_before_venues_is_the_default_venues(tmp_path: Path) -> None:
    path = tmp_path / "v6.sqlite"
    with sqlite3.connect(path) as db:
        for version in range(1, 7):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("PRAGMA user_version=6")
        db.execute(
            "INSERT INTO fills(symbol, trade_id, client_id, side, qty, price, fee, fee_currency, liquidity, ts)"
            " VALUES ('BTC/USDT:USDT', '1', 'hb-1', 'sell', 0.1, 30000, 0.1, 'USDT', 'taker', 5)"
        )
    journal = Journal(path)
    assert journal.schema_version == SCHEMA_VERSION
    [row] = journal.rows("fills")
    assert (row["venue"], row["trade_id"], row["qty"]) == ("main", "1", 0.1)
    assert journal.positions("main") == {"BTC/USDT:USDT": -0.1}
    assert journal.catch_up_from("main") == 5
    assert journal.catch_up_from("second") is None
