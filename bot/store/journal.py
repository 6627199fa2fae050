"""The SQLite journal: decisions, order intents and outcomes, fills, funding, state changes, operator commands.

Journal before act: an order intent is committed here before its request leaves for the venue. Fills are keyed
by (symbol, trade id) so a fill seen twice (stream and REST, or across a restart) is applied once.
WAL mode with synchronous=FULL: a commit survives a crash or power loss, and a torn write is rolled back on
the next open; `durable=False` (backtests only) skips the fsync. A file that is not a hedgebot journal (another
application's database, a damaged file, a newer schema) is refused with a `JournalError` naming the path and
the problem, before anything is written to it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.commands import Actor
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
    TradeId,
)
from bot.execution.journaled import JournaledOrder as JournaledOrder  # the value lives with the core
from bot.settings.venues import DEFAULT_VENUE
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

    def as_row(self) -> tuple[int | float | None, ...]:
        """The columns in table order: `astuple` deep-copies through every field, and this is written hourly."""
        return (self.ts, self.spot_value, self.hedge_equity, self.collateral, self.hedge_notional,
                self.target_notional, self.fees_cum, self.funding_cum, self.slippage_cum, self.roll_cost_cum,
                self.correlation, self.beta)  # fmt: skip


class Journal:
    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        self.path = str(path)
        # the venue that trades a symbol: stamps orders, fills, funding and adoptions ([venues]; else DEFAULT_VENUE)
        self.venue_of: Callable[[str], str] = _default_venue
        in_memory = self.path == ":memory:"
        if not in_memory:
            _prepare_folder(Path(self.path))
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; we open transactions
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot open the journal ({exc})") from None
        try:
            # identity and integrity first: a foreign or damaged file is refused before anything is written to it
            self._check_identity()
            self._check_integrity()
            self._configure(durable=durable, in_memory=in_memory)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"{self.path}: not a usable hedgebot journal ({exc})") from None
        except JournalError:
            self._db.close()
            raise

    # ---- schema -------------------------------------------------------------------------------

    def _check_identity(self) -> None:
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables > 0):
            raise JournalError(f"{self.path}: this SQLite file is not a hedgebot journal (application_id {app_id})")
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: journal schema v{version} is newer than this hedgebot (v{SCHEMA_VERSION}); upgrade"
            )

    def _check_integrity(self) -> None:
        """A torn or damaged file is refused with what SQLite found, not used until a write fails."""
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check(5)").fetchall()]
        if problems != ["ok"]:
            raise JournalError(f"{self.path}: not a usable hedgebot journal (corrupt: {'; '.join(problems)})")

    def _configure(self, *, durable: bool, in_memory: bool) -> None:
        """WAL with synchronous=FULL: every commit is on disk when it returns, and a torn write rolls back."""
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if not in_memory and str(mode).lower() != "wal":
            raise JournalError(
                f"{self.path}: SQLite cannot use WAL mode here (journal_mode stays {mode!r});"
                " put state_dir on a local filesystem"
            )
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")  # an operator's sqlite3 or report may hold a lock briefly

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={target}")

    def pragma(self, name: str) -> Any:
        """One PRAGMA's value (journal_mode, synchronous, ...), for checks and `status`."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._db.execute(f"PRAGMA {name}").fetchone()[0]

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
            " reduce_only, post_only, status, created_ts, updated_ts, venue) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                self.venue_of(request.symbol),
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
        """Record a fill once; False when this (venue, symbol, trade id) was recorded before."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO fills(symbol, trade_id, client_id, side, qty, price, fee, fee_currency,"
            " liquidity, ts, venue) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
                self.venue_of(fill.symbol),
            ),
        )
        return cursor.rowcount == 1

    def record_funding(self, funding: FundingSettled) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO funding(symbol, ts, rate, position_qty, mark_price, amount, currency, venue)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                funding.symbol,
                funding.ts,
                funding.rate,
                funding.position_qty,
                funding.mark_price,
                funding.amount,
                funding.currency,
                self.venue_of(funding.symbol),
            ),
        )
        return cursor.rowcount == 1

    def record_state_change(self, ts: int, old: str, new: str, reason: str) -> None:
        self._db.execute(
            "INSERT INTO state_changes(ts, from_state, to_state, reason) VALUES (?,?,?,?)",
            (ts, old, new, reason),
        )

    def record_command(
        self, ts: int, command: str, args: Mapping[str, Any], outcome: str, actor: Actor | None = None
    ) -> None:
        """One operator command and its outcome, with who gave it, through what and why (the audit trail)."""
        actor = actor or Actor()
        self._db.execute(
            "INSERT INTO commands(ts, command, args, outcome, operator, via, reason) VALUES (?,?,?,?,?,?,?)",
            (ts, command, json.dumps(dict(args), default=str), outcome, actor.operator, actor.via, actor.reason),
        )

    def recent(self, table: str, limit: int) -> list[dict[str, Any]]:
        """The last `limit` rows of a table, oldest first (the dashboard's and the audit trail's view)."""
        if table not in _TABLES:
            raise ValueError(f"unknown journal table {table!r}")
        cursor = self._db.execute(
            f"SELECT * FROM {table} WHERE rowid IN"  # noqa: S608 -- table from a fixed list
            f" (SELECT rowid FROM {table} ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
            (max(0, limit),),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def record_valuation(self, valuation: Valuation) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO valuations(ts, spot_value, hedge_equity, collateral, hedge_notional,"
            " target_notional, fees_cum, funding_cum, slippage_cum, roll_cost_cum, correlation, beta)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            valuation.as_row(),
        )

    def record_execution(self, ts: int, kind: str, key: str, record: Mapping[str, Any]) -> None:
        """A parent's execution quality ("parent") or a roll's progress ("roll_started", "roll_pair", ...)."""
        self._db.execute(
            "INSERT INTO executions(ts, kind, key, record) VALUES (?,?,?,?)", (ts, kind, key, json.dumps(record))
        )

    def executions(self, kind_prefix: str = "") -> list[tuple[int, str, str, dict[str, Any]]]:
        """(ts, kind, key, record) rows whose kind starts with `kind_prefix`, oldest first."""
        rows = self._db.execute(
            "SELECT ts, kind, key, record FROM executions WHERE kind LIKE ? ORDER BY rowid", (kind_prefix + "%",)
        )
        return [(ts, kind, key, json.loads(record)) for ts, kind, key, record in rows]

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

    def open_orders(self, venue: str | None = None) -> list[JournaledOrder]:
        """Orders whose fate is not known final: intents not yet sent, sent, or working (of one venue if given)."""
        final = tuple(status.value for status in OrderStatus if status.is_final)
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status NOT IN ({','.join('?' * len(final))})"  # noqa: S608 -- constants
            " AND (? IS NULL OR venue = ?) ORDER BY created_ts, client_id",
            (*final, venue, venue),
        ).fetchall()
        return [_order_from_row(row) for row in rows]

    def unsent_intents(self) -> list[JournaledOrder]:
        """Intents journaled but never marked sent: a crash came between the journal write and the request."""
        return [order for order in self.open_orders() if order.status is OrderStatus.NEW]

    # ---- reconciliation -----------------------------------------------------------------------

    def fill_keys_since(self, since_ms: int, venue: str | None = None) -> frozenset[tuple[Symbol, TradeId]]:
        """(symbol, trade id) of every fill journaled at or after `since_ms` (on one venue if given): what a
        catch-up must not repeat."""
        rows = self._db.execute(
            "SELECT symbol, trade_id FROM fills WHERE ts >= ? AND (? IS NULL OR venue = ?)", (since_ms, venue, venue)
        ).fetchall()
        return frozenset((Symbol(symbol), TradeId(trade_id)) for symbol, trade_id in rows)

    def filled_qty_by_order(self, client_ids: Iterable[ClientOrderId]) -> dict[ClientOrderId, float]:
        """Sum of the journaled fills of each order (orders without fills are absent)."""
        filled: dict[ClientOrderId, float] = {}
        for client_id in dict.fromkeys(client_ids):
            row = self._db.execute("SELECT sum(qty) FROM fills WHERE client_id=?", (client_id,)).fetchone()
            if row[0] is not None:
                filled[client_id] = float(row[0])
        return filled

    def positions(self, venue: str | None = None) -> dict[Symbol, float]:
        """What the journaled fills and the positions adopted from the venue add up to, per instrument (on one
        venue if given)."""
        totals: dict[Symbol, float] = {}
        mine = " WHERE (? IS NULL OR venue = ?) GROUP BY symbol"
        signed = "SELECT symbol, sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills" + mine  # noqa: S608 -- constants
        adopted = "SELECT symbol, sum(venue_qty - journal_qty) FROM position_adoptions" + mine  # noqa: S608 -- constants
        for query in (signed, adopted):
            for symbol, qty in self._db.execute(query, (venue, venue)).fetchall():
                totals[Symbol(symbol)] = totals.get(Symbol(symbol), 0.0) + float(qty)
        return totals

    def catch_up_from(self, venue: str | None = None) -> int | None:
        """Where a fills catch-up starts: the latest journaled fill, or the oldest order still open, whichever
        is earlier (the first order when nothing has filled yet); None for a journal with no order at all.
        Of one venue's rows when `venue` is given."""
        mine = (venue, venue)
        last_fill = self._db.execute("SELECT max(ts) FROM fills WHERE (? IS NULL OR venue = ?)", mine).fetchone()[0]
        first_order = self._db.execute(
            "SELECT min(created_ts) FROM orders WHERE (? IS NULL OR venue = ?)", mine
        ).fetchone()[0]
        oldest_open = min((order.created_ts for order in self.open_orders(venue)), default=None)
        candidates = [ts for ts in (last_fill if last_fill is not None else first_order, oldest_open) if ts is not None]
        return min(candidates) if candidates else None

    def record_position_adoption(self, ts: int, symbol: Symbol, journal_qty: float, venue_qty: float) -> None:
        """The venue's position replaces what the journal implied; later reconciliations start from it."""
        self._db.execute(
            "INSERT INTO position_adoptions(ts, symbol, journal_qty, venue_qty, venue) VALUES (?,?,?,?,?)",
            (ts, symbol, journal_qty, venue_qty, self.venue_of(symbol)),
        )

    def record_reconciliation(self, ts: int, outcome: str, reason: str, summary: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO reconciliations(ts, outcome, reason, summary) VALUES (?,?,?,?)",
            (ts, outcome, reason, json.dumps(dict(summary), default=str)),
        )

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

    # ---- the paper account, holdings transfers, liquidations (schema v6) -----------------------

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the writes inside it (inside another one: part of that one)."""
        if self._db.in_transaction:
            yield
            return
        with self._transaction():
            yield

    def open_batch(self) -> None:
        """Begin a transaction that every later write joins (`atomic` inside it too) until `commit_batch`: one
        commit for many instants of a fast run. Never while an order can reach a real venue: journal before act
        needs each intent committed before its request is sent."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")

    def commit_batch(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def rollback_batch(self) -> None:
        """Drop the writes since the last `commit_batch`: the journal ends at a whole batch of instants."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def save_paper_account(self, state: Mapping[str, Any]) -> None:
        """The paper venue's whole state (`PaperVenue.state()`), replacing the previous one: write it in the same
        transaction (`atomic`) as the fills and order updates that changed it."""
        account = state["account"]
        self._db.execute(
            "INSERT OR REPLACE INTO paper_account(id, ts, wallet_balance, equity, trade_seq, order_seq, positions,"
            " state) VALUES (1,?,?,?,?,?,?,?)",
            (
                state["ts"],
                state["wallet_balance"],
                state["equity"],
                account["trade_seq"],
                state["order_seq"],
                json.dumps(account["positions"]),
                json.dumps(dict(state)),
            ),
        )

    def paper_account(self) -> dict[str, Any] | None:
        """The paper venue's last journaled state, or None (a live journal, or none journaled yet)."""
        row = self._db.execute("SELECT state FROM paper_account WHERE id = 1").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def record_transfer(
        self, ts: int, asset: str, qty_before: float, qty_after: float, price: float | None, source: str
    ) -> float:
        """A holdings change that was no trade of ours (`set-holding`, a reload): its value at `price` (0 when
        unpriced) is a transfer in (+) or out (−), never P&L. Returns that value."""
        value = (qty_after - qty_before) * price if price is not None else 0.0
        self._db.execute(
            "INSERT INTO transfers(ts, asset, qty_before, qty_after, price, value, source) VALUES (?,?,?,?,?,?,?)",
            (ts, asset, qty_before, qty_after, price, value, source),
        )
        return value

    def transfers(self, start_ms: int = 0, end_ms: int = 2**62) -> list[dict[str, Any]]:
        """The holdings transfers in [start, end), oldest first."""
        cursor = self._db.execute(
            "SELECT ts, asset, qty_before, qty_after, price, value, source FROM transfers WHERE ts >= ? AND ts < ?"
            " ORDER BY ts, rowid",
            (start_ms, end_ms),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def record_liquidation(self, record: Mapping[str, Any]) -> None:
        """A liquidation of the (paper) hedge account: `Liquidated.as_record()`."""
        self._db.execute(
            "INSERT INTO liquidations(ts, currency, equity_before, equity_after, realized_pnl, closed)"
            " VALUES (?,?,?,?,?,?)",
            (record["ts"], record["currency"], record["equity_before"], record["equity_after"],
             record["realized_pnl"], json.dumps(record["closed"])),
        )  # fmt: skip

    def liquidations(self, start_ms: int = 0, end_ms: int = 2**62) -> list[dict[str, Any]]:
        """The liquidations in [start, end), oldest first, each as recorded."""
        rows = self._db.execute(
            "SELECT ts, currency, equity_before, equity_after, realized_pnl, closed FROM liquidations"
            " WHERE ts >= ? AND ts < ? ORDER BY ts, rowid",
            (start_ms, end_ms),
        ).fetchall()
        return [
            {
                "ts": ts,
                "currency": currency,
                "equity_before": before,
                "equity_after": after,
                "realized_pnl": realized,
                "closed": json.loads(closed),
            }
            for ts, currency, before, after, realized, closed in rows
        ]


_TABLES = frozenset(
    {
        "decisions",
        "orders",
        "fills",
        "funding",
        "state_changes",
        "commands",
        "valuations",
        "position_adoptions",
        "reconciliations",
    }
)
_ORDER_COLUMNS = (
    "client_id, decision_id, clip_no, symbol, side, qty, order_type, price, reduce_only, post_only,"
    " status, filled_qty, avg_price, exchange_id, created_ts, updated_ts"
)


def _default_venue(_symbol: str) -> str:
    return DEFAULT_VENUE


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


def _prepare_folder(path: Path) -> None:
    if path.is_dir():
        raise JournalError(f"{path}: is a directory, not a journal file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"{path}: cannot create its folder ({exc.strerror or exc})") from None
