"""Journal schema, versioned: MIGRATIONS[n] takes a journal from version n − 1 to n. Never edit a shipped step."""

from __future__ import annotations

APPLICATION_ID = 0x48454447  # "HEDG": marks a SQLite file as a hedgebot journal
SCHEMA_VERSION = 7

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE decisions (
            id TEXT PRIMARY KEY, ts INTEGER NOT NULL, trigger TEXT NOT NULL, reason TEXT NOT NULL,
            numbers TEXT NOT NULL, targets TEXT NOT NULL)""",
        """CREATE TABLE orders (
            client_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, clip_no INTEGER NOT NULL,
            symbol TEXT NOT NULL, side TEXT NOT NULL, qty REAL NOT NULL, order_type TEXT NOT NULL, price REAL,
            reduce_only INTEGER NOT NULL, post_only INTEGER NOT NULL, status TEXT NOT NULL,
            filled_qty REAL NOT NULL DEFAULT 0, avg_price REAL NOT NULL DEFAULT 0, exchange_id TEXT,
            reason TEXT NOT NULL DEFAULT '', created_ts INTEGER NOT NULL, updated_ts INTEGER NOT NULL)""",
        "CREATE INDEX orders_by_status ON orders(status)",
        """CREATE TABLE fills (
            symbol TEXT NOT NULL, trade_id TEXT NOT NULL, client_id TEXT NOT NULL, side TEXT NOT NULL,
            qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, fee_currency TEXT NOT NULL,
            liquidity TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (symbol, trade_id))""",
        """CREATE TABLE funding (
            symbol TEXT NOT NULL, ts INTEGER NOT NULL, rate REAL NOT NULL, position_qty REAL NOT NULL,
            mark_price REAL NOT NULL, amount REAL NOT NULL, currency TEXT NOT NULL, PRIMARY KEY (symbol, ts))""",
        """CREATE TABLE state_changes (
            ts INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, reason TEXT NOT NULL)""",
        """CREATE TABLE commands (
            ts INTEGER NOT NULL, command TEXT NOT NULL, args TEXT NOT NULL, outcome TEXT NOT NULL)""",
    ),
    2: (  # hourly mark-to-market, for `hedgebot report` and the HTML report
        """CREATE TABLE valuations (
            ts INTEGER PRIMARY KEY, spot_value REAL NOT NULL, hedge_equity REAL NOT NULL,
            collateral REAL NOT NULL, hedge_notional REAL NOT NULL, target_notional REAL NOT NULL,
            fees_cum REAL NOT NULL, funding_cum REAL NOT NULL, slippage_cum REAL NOT NULL,
            roll_cost_cum REAL NOT NULL, correlation REAL, beta REAL)""",
    ),
    3: (  # reconciliation: positions adopted from the venue, and the audit trail of each reconciliation
        """CREATE TABLE position_adoptions (
            ts INTEGER NOT NULL, symbol TEXT NOT NULL, journal_qty REAL NOT NULL, venue_qty REAL NOT NULL)""",
        """CREATE TABLE reconciliations (
            ts INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, summary TEXT NOT NULL)""",
        "CREATE INDEX fills_by_ts ON fills(ts)",
        "CREATE INDEX fills_by_client_id ON fills(client_id)",
    ),
    4: (  # execution: each parent's quality and each roll's progress and cost (JSON records)
        """CREATE TABLE executions (
            ts INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX executions_by_kind ON executions(kind, ts)",
    ),
    5: (  # the audit trail: which named operator gave each command, through what (ctl, dashboard, telegram), why
        "ALTER TABLE commands ADD COLUMN operator TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE commands ADD COLUMN via TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE commands ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
    ),
    6: (  # the paper account's state (one row, replaced with the fills that change it); transfers; liquidations
        """CREATE TABLE paper_account (
            id INTEGER PRIMARY KEY CHECK (id = 1), ts INTEGER NOT NULL, wallet_balance REAL NOT NULL,
            equity REAL NOT NULL, trade_seq INTEGER NOT NULL, order_seq INTEGER NOT NULL, positions TEXT NOT NULL,
            state TEXT NOT NULL)""",
        """CREATE TABLE transfers (
            ts INTEGER NOT NULL, asset TEXT NOT NULL, qty_before REAL NOT NULL, qty_after REAL NOT NULL,
            price REAL, value REAL NOT NULL, source TEXT NOT NULL)""",
        """CREATE TABLE liquidations (
            ts INTEGER NOT NULL, currency TEXT NOT NULL, equity_before REAL NOT NULL, equity_after REAL NOT NULL,
            realized_pnl REAL NOT NULL, closed TEXT NOT NULL)""",
    ),
    7: (  # rows keyed by venue ([venues], bot.settings.venues): older rows are the default venue's ('main');
        # a fill is unique per venue (two exchanges may number their trades alike)
        "ALTER TABLE orders ADD COLUMN venue TEXT NOT NULL DEFAULT 'main'",
        "ALTER TABLE funding ADD COLUMN venue TEXT NOT NULL DEFAULT 'main'",
        "ALTER TABLE position_adoptions ADD COLUMN venue TEXT NOT NULL DEFAULT 'main'",
        """CREATE TABLE fills_by_venue (
            symbol TEXT NOT NULL, trade_id TEXT NOT NULL, client_id TEXT NOT NULL, side TEXT NOT NULL,
            qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, fee_currency TEXT NOT NULL,
            liquidity TEXT NOT NULL, ts INTEGER NOT NULL, venue TEXT NOT NULL DEFAULT 'main',
            PRIMARY KEY (venue, symbol, trade_id))""",
        """INSERT INTO fills_by_venue(symbol, trade_id, client_id, side, qty, price, fee, fee_currency, liquidity, ts)
            SELECT symbol, trade_id, client_id, side, qty, price, fee, fee_currency, liquidity, ts FROM fills
            ORDER BY rowid""",
        "DROP TABLE fills",
        "ALTER TABLE fills_by_venue RENAME TO fills",
        "CREATE INDEX fills_by_ts ON fills(ts)",
        "CREATE INDEX fills_by_client_id ON fills(client_id)",
    ),
}
