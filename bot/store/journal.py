"""The SQLite journal: decisions, order intents and outcomes, fills, funding, state changes, operator commands.

Journal before act: an order intent is committed here before its request leaves for the venue. Fills are keyed
by (symbol, trade id) so a fill seen twice (stream and REST, or across a restart) is applied once.
WAL mode with synchronous=FULL: a commit survives a crash or power loss; `durable=False` (backtests only)
skips the fsync.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from bot.domain import (
    ClientOrderId,
    Decision,
    DecisionId,
    Fill,
    FundingSettled,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    Symbol,
)
from bot.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION


class JournalError(RuntimeError):
    """The journal file cannot be used (corrupt, foreign, or from a newer hedgebot)."""


@dataclass(frozen=True, slots=True)
class Valuation:
    """The portfolio marked to market at one instant (quote currency; cumulative costs since the start)."""

    ts: int
    spot_value: float
    hedge_equity: float
    collateral: float  # what was deposited in the hedge account: equity − collateral is the hedge's P&L
    hedge_notional: float  # signed: negative = short
    target_notional: float
    fees_cum: float
    funding_cum: float  # + received
    slippage_cum: float
    roll_cost_cum: float
    correlation: float | None = None  # portfolio vs proxy over the estimation window
    beta: float | None = None

    @property
    def hedge_pnl(self) -> float:
        return self.hedge_equity - self.collateral


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """An order as the journal knows it."""

    request: OrderRequest
    status: OrderStatus
    filled_qty: float
    avg_price: float
    exchange_id: str
    created_ts: int
    updated_ts: int


class Journal:
    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; we open transactions
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: not a usable hedgebot journal ({exc})") from None

    # ---- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables > 0):
            raise JournalError(f"{self.path}: this SQLite file is not a hedgebot journal (application_id {app_id})")
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: journal schema v{version} is newer than this hedgebot (v{SCHEMA_VERSION}); upgrade"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={target}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # ---- writes -------------------------------------------------------------------------------

    def record_decision(self, decision: Decision) -> None:
        targets = [
            {"symbol": t.symbol, "qty": t.qty, "notional": t.notional, "residual": t.residual} for t in decision.targets
        ]
        self._db.execute(
            "INSERT OR IGNORE INTO decisions(id, ts, trigger, reason, numbers, targets) VALUES (?,?,?,?,?,?)",
            (
                decision.id,
                decision.ts,
                decision.trigger,
                decision.reason,
                json.dumps(decision.numbers, allow_nan=True),
                json.dumps(targets),
            ),
        )

    def record_intent(self, request: OrderRequest, ts: int) -> bool:
        """Journal an order before it is sent. False if this client id was journaled already (never resend)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO orders(client_id, decision_id, clip_no, symbol, side, qty, order_type, price,"
            " reduce_only, post_only, status, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                request.client_id,
                request.decision_id,
                request.clip_no,
                request.symbol,
                request.side.value,
                request.qty,
                request.order_type.value,
                request.price,
                int(request.reduce_only),
                int(request.post_only),
                OrderStatus.NEW.value,
                ts,
                ts,
            ),
        )
        return cursor.rowcount == 1

    def record_order_update(self, update: OrderUpdate) -> None:
        self._db.execute(
            "UPDATE orders SET status=?, filled_qty=?, avg_price=?, exchange_id=COALESCE(NULLIF(?, ''), exchange_id),"
            " reason=?, updated_ts=? WHERE client_id=?",
            (
                update.status.value,
                update.filled_qty,
                update.avg_price,
                update.exchange_id,
                update.reason,
                update.ts,
                update.client_id,
            ),
        )

    def record_fill(self, fill: Fill) -> bool:
        """Record a fill once; False when this (symbol, trade id) was recorded before."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO fills(symbol, trade_id, client_id, side, qty, price, fee, fee_currency,"
            " liquidity, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                fill.symbol,
                fill.trade_id,
                fill.client_id,
                fill.side.value,
                fill.qty,
                fill.price,
                fill.fee,
                fill.fee_currency,
                fill.liquidity,
                fill.ts,
            ),
        )
        return cursor.rowcount == 1

    def record_funding(self, funding: FundingSettled) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO funding(symbol, ts, rate, position_qty, mark_price, amount, currency)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                funding.symbol,
                funding.ts,
                funding.rate,
                funding.position_qty,
                funding.mark_price,
                funding.amount,
                funding.currency,
            ),
        )
        return cursor.rowcount == 1

    def record_state_change(self, ts: int, old: str, new: str, reason: str) -> None:
        self._db.execute(
            "INSERT INTO state_changes(ts, from_state, to_state, reason) VALUES (?,?,?,?)",
            (ts, old, new, reason),
        )

    def record_command(self, ts: int, command: str, args: Mapping[str, Any], outcome: str) -> None:
        self._db.execute(
            "INSERT INTO commands(ts, command, args, outcome) VALUES (?,?,?,?)",
            (ts, command, json.dumps(dict(args), default=str), outcome),
        )

    def record_valuation(self, valuation: Valuation) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO valuations(ts, spot_value, hedge_equity, collateral, hedge_notional,"
            " target_notional, fees_cum, funding_cum, slippage_cum, roll_cost_cum, correlation, beta)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            astuple(valuation),
        )

    def valuations(self, start_ms: int = 0, end_ms: int = 2**62) -> list[Valuation]:
        rows = self._db.execute(
            "SELECT * FROM valuations WHERE ts >= ? AND ts < ? ORDER BY ts", (start_ms, end_ms)
        ).fetchall()
        return [Valuation(*row) for row in rows]

    # ---- reads --------------------------------------------------------------------------------

    def order(self, client_id: ClientOrderId) -> JournaledOrder | None:
        row = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_id=?",  # noqa: S608 -- constant column list
            (client_id,),
        ).fetchone()
        return _order_from_row(row) if row else None

    def open_orders(self) -> list[JournaledOrder]:
        """Orders whose fate is not known final: intents not yet sent, sent, or working."""
        final = tuple(status.value for status in OrderStatus if status.is_final)
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status NOT IN ({','.join('?' * len(final))})"  # noqa: S608 -- constants
            " ORDER BY created_ts, client_id",
            final,
        ).fetchall()
        return [_order_from_row(row) for row in rows]

    def count(self, table: str) -> int:
        if table not in _TABLES:
            raise ValueError(f"unknown journal table {table!r}")
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 -- table from a fixed list

    def rows(self, table: str) -> list[dict[str, Any]]:
        """All rows of a table, oldest first (for reports, tests and audits)."""
        if table not in _TABLES:
            raise ValueError(f"unknown journal table {table!r}")
        cursor = self._db.execute(f"SELECT * FROM {table} ORDER BY rowid")  # noqa: S608 -- table from a fixed list
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_TABLES = frozenset({"decisions", "orders", "fills", "funding", "state_changes", "commands", "valuations"})
_ORDER_COLUMNS = (
    "client_id, decision_id, clip_no, symbol, side, qty, order_type, price, reduce_only, post_only,"
    " status, filled_qty, avg_price, exchange_id, created_ts, updated_ts"
)


def _order_from_row(row: tuple[Any, ...]) -> JournaledOrder:
    (
        client_id,
        decision_id,
        clip_no,
        symbol,
        side,
        qty,
        order_type,
        price,
        reduce_only,
        post_only,
        status,
        filled_qty,
        avg_price,
        exchange_id,
        created_ts,
        updated_ts,
    ) = row
    request = OrderRequest(
        client_id=ClientOrderId(client_id),
        symbol=Symbol(symbol),
        side=Side(side),
        qty=qty,
        order_type=OrderType(order_type),
        price=price,
        reduce_only=bool(reduce_only),
        post_only=bool(post_only),
        decision_id=DecisionId(decision_id),
        clip_no=clip_no,
    )
    return JournaledOrder(
        request, OrderStatus(status), filled_qty, avg_price, exchange_id or "", created_ts, updated_ts
    )
