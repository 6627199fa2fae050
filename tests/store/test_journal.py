"""The journal records intents once, deduplicates fills, and refuses files that are not its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.domain import ClientOrderId, Fill, OrderRequest, OrderStatus, OrderUpdate, Side, Symbol, TradeId
from bot.store.journal import Journal, JournalError
from bot.store.schema import SCHEMA_VERSION

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
