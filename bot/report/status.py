"""The engine's state as the operator sees it: `hedgebot ctl status` and the control API's /status."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bot.domain import AccountSnapshot, Symbol
from bot.execution.ids import decision_label
from bot.money import book_notional
from bot.report.coin_account import coin_account_status
from bot.report.live_tail import live_tail_risk
from bot.report.run_summary import Totals
from bot.risk.collateral import liquidation_moves
from bot.risk.state import TradingState

if TYPE_CHECKING:  # the engine is only read here; the type is enough
    from bot.core.engine import Engine


def engine_status(engine: Engine, now: int, totals: Totals, account: AccountSnapshot | None = None) -> dict[str, Any]:
    """What `ctl status` shows; `account`, when given, is the account as it stands now (the margin and
    liquidation line then describe the positions shown, not the engine's last read of the account)."""
    account = account or engine.account
    exposure = engine.exposure()
    equity = engine.equity or 0.0
    book = book_notional(engine.positions, engine.instruments, engine.prices)  # what the leverage limit reads
    limits = engine.limits
    decision = engine.last_decision
    return {
        "now": now,
        "state": str(engine.governor.state),
        "state_reason": engine.governor.reason,
        "holds": [
            {"source": h.source, "state": str(h.state), "reason": h.reason, "since": h.since_ts}
            for h in engine.governor.holds
        ],
        "paused": engine.paused,
        "ratio": engine.ratio,
        "config_ratio": engine.config.hedge.ratio,  # what the ratio returns to when an override ends
        "allow_overhedge": engine.config.hedge.allow_overhedge,  # false: the hedge is capped at the exposure
        "ratio_override": None
        if engine.ratio_override is None
        else {"ratio": engine.ratio_override[0], "until": engine.ratio_override[1]},
        "protection": engine.protection.status(),  # protective_put, cppi: value, floor, cushion, cover (else None)
        "exposure": round(exposure.total, 2),
        "holdings": dict(engine.holdings),
        "positions": {s: q for s, q in engine.positions.items() if q},
        "positions_notional": {
            s: round(engine.notional(s, q), 2) for s, q in engine.positions.items() if q and s in engine.prices
        },
        "targets": {s: {"qty": t.qty, "notional": round(t.notional, 2)} for s, t in engine.targets.items()},
        "rolls": {
            spec: {
                "near": state.near,
                "far": state.far,
                "expiry": state.expiry_ms,
                "started": state.started_ms,
                "near_start": state.near_start,
                "moved": state.moved_qty,
                "cost": round(state.cost.total, 2),
                "carry_switch": state.switch,  # a carry leg moving between its perpetual and its quarterly
            }
            for spec, state in engine.roller.states.items()
        },
        "carry": engine.carry.status() if engine.carry.legs else None,  # "…@carry" legs: contract, last look
        "open_orders": len(engine.orders.open_orders()),
        "working_parents": [p.symbol for p in engine.parents.values() if p.status.value == "working"],
        "closing_parents": engine.executor.closing(),
        "equity": round(equity, 2),
        "headroom": {
            # as the limit: a position that cannot be valued leaves the leverage unknown, not smaller
            "leverage": round(book.gross / equity, 4) if equity > 0 and not book.unpriced else None,
            "unpriced_positions": list(book.unpriced),
            "max_leverage": limits.max_leverage,
            "max_position_notional": limits.max_position_notional,
            "max_order_notional": limits.max_order_notional,
        },
        "prices": dict(sorted(engine.prices.items())),
        "collateral": collateral_status(engine),  # the buffer: distance to liquidation, its step and the steps
        "coin_account": coin_account_status(engine),  # a coin-margined hedge account in its coin and in quote
        "margin_ratio": None if account is None else _finite(account.margin_ratio),
        "liquidation": []
        if account is None
        else [
            {"symbol": e.symbol, "move": e.move, "price": e.price, "text": e.describe()}
            for e in liquidation_moves(account, engine.prices, engine.instruments)
        ],
        "feed_age_s": {
            s: round((now - ts) / 1000, 1) for s, ts in sorted(engine.price_ts.items()) if _live(engine, s, now)
        },
        "warmup": dict(zip(("samples", "needs"), engine.warm_up_progress(), strict=True)),
        "tail_risk": live_tail_risk(engine),  # one-day VaR and ES, hedged and unhedged, from the rolling returns
        "last_decision": None
        if decision is None
        else {
            "id": decision.id,
            "label": decision_label(decision.id),  # what operators read; the id stays the journal's key
            "ts": decision.ts,
            "trigger": decision.trigger,
            "reason": decision.reason,
        },
        "counts": {
            "decisions": engine.stats.decisions,
            "clips": engine.executor.stats.clips,
            "fills": totals.fills,
            "rejected": engine.executor.stats.rejected,
            "events": totals.events,
        },
        "trading_allows_adding": engine.governor.state is TradingState.ACTIVE and not engine.paused,
    }


def collateral_status(engine: Engine) -> dict[str, Any]:
    """The collateral buffer at the last account evaluation: the adverse move of the hedge instruments' prices
    that would liquidate the hedge account (None: no move does, or not evaluated yet), the same as a move of the
    basket (× the basket's beta to the proxy, from the last decision), its step, and the configured steps."""
    escalation = engine.governance.escalation
    steps = engine.config.risk.collateral
    buffer = None if escalation is None else _finite(escalation.buffer)
    beta = engine.last_decision.numbers.get("proxy.beta") if engine.last_decision is not None else None
    return {
        "buffer": None if buffer is None else round(buffer, 4),
        "basket_move": None if buffer is None or not beta or beta <= 0 else round(buffer * beta, 4),
        "step": "ok" if escalation is None else str(escalation.step),
        "steps": {"warn": steps.warn, "top_up": steps.top_up, "reduce": steps.reduce, "floor": steps.floor},
        "reserve": reserve_status(engine),
    }


def reserve_status(engine: Engine) -> dict[str, Any]:
    """The reserve top-ups draw on (bot.risk.topup): configured, moved in so far, the transfer in flight."""
    planner = engine.governance.reserve
    in_flight = planner.in_flight
    return {
        "amount": planner.limits.amount,
        "moved": round(planner.used, 8),  # a coin account's reserve is in its coin: 8 decimals, as Binance books
        "in_flight": None if in_flight is None else {"id": in_flight.transfer_id, "amount": in_flight.amount},
    }


def _live(engine: Engine, symbol: str, now: int) -> bool:
    """False for a dated contract past its expiry: its price stopped for good, its age is no feed's age."""
    instrument = engine.instruments.get(Symbol(symbol))
    expiry = None if instrument is None else instrument.expiry_ms
    return expiry is None or now < expiry


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None  # JSON has no infinity: no positions = None
