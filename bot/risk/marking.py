"""An account snapshot revalued at the latest marks. Pure.

A venue reports the account when it changes (a fill, funding, a deposit) and when asked (hourly); between two
reports the marks move, and with them the equity and the margin the positions need. The collateral escalation
and the max-loss watch must see a rally that eats the hedge account's margin as it happens, not an hour later:
the engine revalues the latest snapshot at every instant.

- equity = wallet balance + the unrealised P&L of each position from its entry price to the mark now;
- maintenance margin = the snapshot's, scaled by the positions' value now over their value at entry (venues
  charge it on the position's value at the mark).

An account merged from several venues (`AccountSnapshot.venues`) has each venue's own account revalued too: the
collateral ladder reads those.

When a position has no entry price, no mark or no known instrument, the snapshot cannot be revalued honestly and
is returned as the venue sent it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.domain import AccountSnapshot, Instrument, Symbol


def marked_account(
    snapshot: AccountSnapshot, marks: Mapping[Symbol, float], instruments: Mapping[Symbol, Instrument], now: int
) -> AccountSnapshot:
    """`snapshot` as it stands at `now` at `marks`; the snapshot itself when a position cannot be revalued."""
    unrealised = value_now = value_at_entry = 0.0
    for position in snapshot.positions:
        instrument, mark = instruments.get(position.symbol), marks.get(position.symbol)
        if instrument is None or mark is None or mark <= 0 or position.entry_price <= 0:
            return snapshot
        unrealised += instrument.pnl(position.qty, position.entry_price, mark)
        value_now += abs(instrument.settlement_value(position.qty, mark))
        value_at_entry += abs(instrument.settlement_value(position.qty, position.entry_price))
    if not snapshot.positions or value_at_entry <= 0:
        return snapshot
    maintenance = snapshot.maintenance_margin * value_now / value_at_entry
    venues = tuple((venue_id, marked_account(part, marks, instruments, now)) for venue_id, part in snapshot.venues)
    equity = snapshot.wallet_balance + unrealised
    return replace(snapshot, ts=now, equity=equity, maintenance_margin=maintenance, venues=venues)
