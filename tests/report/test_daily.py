"""The daily report from journal rows: every day shown, the opening before the first trade, the P&L split."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.domain import MS_PER_DAY, MS_PER_HOUR, Instrument, InstrumentKind, Symbol
from bot.report.daily import mark_of, period, report_text, summary
from bot.report.pnl import JournalFill, Split, splits
from bot.store.journal import Journal, Valuation

START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
PERP = Instrument(Symbol("BTC/USDT:USDT"), "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT")
INVERSE = Instrument(Symbol("BTC/USD:BTC"), "BTC", "USD", InstrumentKind.PERPETUAL, "BTC", True, 100.0)


def valuation(day: int, spot: float, hedge_pnl: float = 0.0, fees: float = 0.0, notional: float = 0.0) -> Valuation:
    return Valuation(START + day * MS_PER_DAY + 23 * MS_PER_HOUR, spot, 10_000 + hedge_pnl, 10_000, notional,
                     notional, fees, 0.0, 0.0, 0.0)  # fmt: skip


def test_every_day_of_the_period_is_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    for day in range(20):
        journal.record_valuation(valuation(day, 50_000 + 100 * day))
    journal.close()
    assert main(["report", "--journal", str(tmp_path / "journal.sqlite")]) == 0
    text = capsys.readouterr().out
    assert all(f"2024-01-{day:02d}" in text for day in range(1, 21))
    assert "not shown" not in text


def test_with_last_the_hidden_days_are_counted_and_the_way_to_see_them_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    for day in range(20):
        journal.record_valuation(valuation(day, 50_000 + 100 * day))
    journal.close()
    assert main(["report", "--journal", str(tmp_path / "journal.sqlite"), "--last", "5"]) == 0
    text = capsys.readouterr().out
    assert "... 15 earlier days not shown (all of them: leave out --last" in text
    assert "2024-01-15" not in text
    assert "2024-01-16" in text
    assert "2024-01-20" in text


def test_the_opening_is_before_the_first_trade_so_its_fees_count() -> None:
    first = valuation(0, 50_000, hedge_pnl=-7.0, fees=5.0, notional=-40_000)  # traded at the first instant
    chosen = period([mark_of(first, None), mark_of(valuation(1, 50_000, -12.0, 9.0, -40_000), None)])
    assert chosen is not None
    totals = summary(chosen)
    assert totals["attribution"]["fees"] == -9.0
    assert totals["pnl"]["hedged"] == -12.0
    assert totals["attribution"]["hedge_price"] == -3.0  # −12 of hedge P&L, of which −9 fees
    assert [row["date"] for row in totals["daily"]] == ["2024-01-01", "2024-01-02"]


def test_a_period_without_valuations_is_none() -> None:
    assert period([mark_of(valuation(0, 1.0), None)], START + 5 * MS_PER_DAY) is None


def test_realised_pnl_is_closed_against_the_average_entry_and_the_rest_is_unrealised_at_the_marks() -> None:
    fills = [
        JournalFill(START, PERP.symbol, -2, 100.0),
        JournalFill(START, PERP.symbol, -2, 110.0),  # short 4 at an average 105
        JournalFill(START + MS_PER_DAY, PERP.symbol, 3, 90.0),  # closes 3: (105 − 90) × 3 = 45
        JournalFill(START + MS_PER_DAY, PERP.symbol, 2, 95.0),  # closes 1: 10; flips to long 1 at 95
    ]
    marks = [
        valuation(0, 1.0, notional=-4 * 100.0),  # day 1: short 4 @ 105, marked at 100
        valuation(1, 1.0, notional=1 * 100.0),  # day 2: long 1 @ 95, marked at 100
    ]
    assert splits(marks, fills, lambda _: PERP) == [Split(0.0, 20.0), Split(55.0, 5.0)]


def test_with_an_inverse_contract_the_split_is_not_made_and_the_report_says_so() -> None:
    fills = [JournalFill(START, INVERSE.symbol, -5, 40_000.0)]
    assert splits([valuation(0, 1.0, notional=-500.0)], fills, lambda _: INVERSE) is None
    chosen = period([mark_of(valuation(0, 1.0), None), mark_of(valuation(1, 1.0), None)])
    assert chosen is not None
    assert summary(chosen)["hedge_pnl"]["realised"] is None
    assert "not available (inverse contracts traded)" in report_text(chosen)
