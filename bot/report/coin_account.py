"""The coin-margined hedge account as the operator sees it (status and reports): its coin, its value in quote,
what is posted, and how much of it the inverse short covers (the "self-balancing" hedge).

A holder of ETH who posts it as the collateral of a short inverse ETH perpetual of the same USD face holds an
account worth the face in quote whatever ETH does: `cover` (the short's face over the account's value in quote)
near 1.0 says the hedge is self-balancing; below, part of the coin is unhedged; above, it is over-hedged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.risk.inverse import coin_price

if TYPE_CHECKING:  # the engine is only read here
    from bot.core.engine import Engine

SELF_BALANCING_BAND = 0.10  # |cover − 1| within it: self-balancing (the hedge's own rebalance band by default)


def coin_account_status(engine: Engine) -> dict[str, Any] | None:
    """None for a linear (quote-settled) hedge account or before its first snapshot."""
    account = engine.account
    if account is None or account.currency in (engine.quote, ""):
        return None
    price = coin_price(account.currency, engine.quote, engine.prices, engine.instruments)
    value = engine.equity
    face = -sum(
        engine.instruments[symbol].notional(qty, 1.0)  # an inverse contract's face: independent of the price
        for symbol, qty in engine.positions.items()
        if symbol in engine.instruments and engine.instruments[symbol].inverse
    )
    cover = face / value if value and value > 0 else None
    return {
        "currency": account.currency,
        "equity_coin": round(account.equity, 8),
        "coin_price": price,
        "quote": engine.quote,
        "equity_quote": None if value is None else round(value, 2),
        "posted": list(engine.config.portfolio.posted),
        "short_face": round(face, 2),
        "cover": None if cover is None else round(cover, 4),
        "self_balancing": cover is not None and abs(cover - 1.0) <= SELF_BALANCING_BAND,
    }


def describe(status: dict[str, Any] | None) -> str | None:
    """One line for a text report, or None for a linear account."""
    if status is None:
        return None
    coin, posted = status["currency"], status["posted"]
    held = f"{coin} posted (the holding is the collateral)" if coin in posted else f"{coin} collateral bought"
    value = status["equity_quote"]
    worth = "unpriced" if value is None else f"≈ {value:,.2f} {status['quote']}"
    cover = status["cover"]
    shape = "no short" if cover is None else f"short face {status['short_face']:,.0f} USD = {cover:.0%} of it"
    balancing = ": self-balancing" if status["self_balancing"] else ""
    return f"{status['equity_coin']:,.6g} {coin} {worth}; {held}; {shape}{balancing}"
