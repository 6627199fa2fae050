"""The report's venues section: each venue's positions, fills, fees and funding from the journal's rows."""

from __future__ import annotations

from bot.report.venues import venue_lines, venue_totals


def _fill(venue: str, symbol: str, side: str, qty: float, price: float, ts: int = 10) -> dict[str, object]:
    return {"venue": venue, "symbol": symbol, "side": side, "qty": qty, "price": price, "fee": 1.0, "ts": ts}


def test_each_venue_shows_its_own_positions_fees_and_funding() -> None:
    fills = [
        _fill("main", "ETH/USDT:USDT", "sell", 10.0, 2_000.0),
        _fill("second", "BTC/USDT:USDT", "sell", 0.5, 30_000.0),
        _fill("second", "BTC/USDT:USDT", "buy", 0.1, 31_000.0, ts=20),
    ]
    funding = [{"venue": "second", "symbol": "BTC/USDT:USDT", "ts": 15, "amount": 2.5}]
    adoptions = [{"venue": "main", "symbol": "ETH/USDT:USDT", "ts": 30, "journal_qty": -10.0, "venue_qty": -11.0}]
    totals = venue_totals(fills, funding, adoptions)
    assert totals["main"]["positions"] == {"ETH/USDT:USDT": -11.0}
    assert totals["second"] == {
        "positions": {"BTC/USDT:USDT": -0.4},
        "notional": -12_400.0,  # at its last fill price there
        "fills": 2,
        "fees": 2.0,
        "funding": 2.5,
    }
    assert venue_lines(totals)[0] == "venues"
    assert "second     -0.4 BTC/USDT:USDT" in venue_lines(totals)[2]


def test_a_journal_of_one_venue_has_no_venues_section() -> None:
    assert venue_lines(venue_totals([_fill("main", "ETH/USDT:USDT", "sell", 1.0, 2_000.0)], [], [])) == []
