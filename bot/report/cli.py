"""The reporting commands: `hedgebot report`, `hedgebot stress`, and the HTML file of `backtest --html`."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Config, day_ms, load_config
from bot.domain import Symbol
from bot.execution.market_rules import default_instrument
from bot.report.capture import last_protection, protection_text
from bot.report.carry import carry_json, carry_lines, switches_from_rows
from bot.report.daily import Period, daily_closes, html_data, mark_of, period, report_text, summary
from bot.report.governance_journal import read_governance
from bot.report.history import History, HistoryError
from bot.report.html import render_html
from bot.report.pnl import fills_from_rows, splits
from bot.report.stress import (
    Book,
    HedgePosition,
    Holding,
    ShockSizes,
    default_scenarios,
    format_stress,
    historical_scenario,
    run_stress,
)
from bot.report.tail_risk import TailRiskReport, format_tail_risk, pnl_tail_risk, tail_risk, tail_risk_json
from bot.report.venues import venue_lines, venue_totals
from bot.store.journal import Journal, Valuation


class ReportError(ValueError):
    """A report that cannot be made as asked; one line, exit 2."""


def add_parsers(sub: Any) -> None:
    report = sub.add_parser("report", help="daily marks, P&L attribution and effectiveness from the journal")
    report.add_argument("--config", type=Path, help="the daemon's config (finds the state directory)")
    report.add_argument("--journal", type=Path, help="a journal file (default: <state_dir>/journal.sqlite)")
    report.add_argument("--from", dest="start", type=_date_arg, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", type=_date_arg, help="day after the last, YYYY-MM-DD")
    report.add_argument("--json", action="store_true", help="totals and one row per day, as JSON")
    report.add_argument("--last", type=_days_arg, help="show only the last N days' rows (default: every day)")
    report.add_argument("--html", type=Path, help="also write a self-contained HTML report here")

    stress = sub.add_parser("stress", help="shock the current book: losses with and without the hedge")
    stress.add_argument("--config", type=Path, help="the daemon's config (control API address and token)")
    stress.add_argument("--status", type=Path, help="a saved `hedgebot ctl status --json` instead of asking")
    shocks = stress.add_argument_group("shock sizes, in percent (the defaults in brackets)")
    shocks.add_argument(
        "--drop", action="append", metavar="PCT", help="every asset −PCT %% together; repeatable [20, 40]"
    )
    shocks.add_argument(
        "--btc-up", metavar="PCT", help="BTC rises by PCT %%, while the others fall by --alts-down [10]"
    )
    shocks.add_argument("--alts-down", metavar="PCT", help="every asset but BTC falls by PCT %% as BTC rises [20]")
    shocks.add_argument(
        "--funding-spike", metavar="PCT", help="funding per settlement, signed: − is paid by shorts [-0.3]"
    )
    shocks.add_argument("--settlements", metavar="N", help="how many settlements of that funding [9]")
    shocks.add_argument("--haircut", metavar="PCT", help="collateral valued PCT %% lower [20]")
    stress.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        help="a market-data folder like ../shared/data: add its crashes replayed on the book, and VaR / ES",
    )


def _date_arg(text: str) -> int:
    from datetime import date

    try:
        return day_ms(date.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-01-31") from None


def _days_arg(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (1 or more)")
    return days


def run_report(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    path = Path(args.journal or config.path_in_state("journal.sqlite"))
    if not path.exists():
        raise ReportError(f"no journal at {path}: run the daemon first, or pass --journal")
    start, end = args.start or 0, args.end or 2**62
    chosen = load_period(path, start, end)
    if chosen is None:
        raise ReportError(f"{path}: no valuations in that period (the daemon records one per hour)")
    totals = summary(chosen)
    protection = _protection(path, end)  # protective_put, cppi: floor and cushion at the last decision
    totals["protection"] = protection
    tail = _realised_tail_risk(chosen)  # VaR and ES of the period's own daily P&L, unhedged and hedged
    totals["tail_risk"] = tail_risk_json(tail)
    governance = read_governance(path, start, end)  # state changes, collateral cuts and top-ups, as a backtest lists
    totals.update(governance.as_json())
    venues = _venues(path, start, end)  # [venues]: each venue's positions, fills, fees and funding
    if set(venues) - {"main"}:
        totals["venues"] = venues
    carry = _carry(path, start, end)  # "…@carry" legs: their switches in the period
    if carry is not None:
        totals["carry"] = carry
    print(json.dumps(totals, indent=2) if args.json else report_text(chosen, args.last))
    if not args.json:
        print("\n".join([*governance.lines(), *carry_lines(carry)]))
    if venue_lines(venues) and not args.json:
        print("\n".join(venue_lines(venues)))
    if protection is not None and not args.json:
        print(protection_text(protection))
    if not args.json:
        print(format_tail_risk(tail, "days of this journal"))
    if args.html:
        write_html(args.html, journal_path=path, result=totals, title="hedgebot report", start_ms=start, end_ms=end)
    return 0


def journal_tail_risk(path: Path) -> TailRiskReport:
    """VaR and ES of a journal's own daily P&L (a backtest's, after the run); zeros with no valuations."""
    chosen = load_period(path)
    return _realised_tail_risk(chosen) if chosen is not None else pnl_tail_risk([], [])


def _realised_tail_risk(chosen: Period) -> TailRiskReport:
    closes = daily_closes(chosen)
    unhedged = [b.spot_net - a.spot_net for a, b in itertools.pairwise(closes)]
    hedged = [b.hedged_net - a.hedged_net for a, b in itertools.pairwise(closes)]
    return pnl_tail_risk(unhedged, hedged)


def _carry(path: Path, start_ms: int, end_ms: int) -> dict[str, Any] | None:
    journal = Journal(path)
    try:
        switches = switches_from_rows(journal.rows("decisions"), start_ms, end_ms)
    finally:
        journal.close()
    return carry_json(switches) if switches else None


def _venues(path: Path, start_ms: int, end_ms: int) -> dict[str, dict[str, Any]]:
    journal = Journal(path)
    try:
        fills, funding, adoptions = (journal.rows(table) for table in ("fills", "funding", "position_adoptions"))
    finally:
        journal.close()
    return venue_totals(fills, funding, adoptions, start_ms, end_ms)


def _protection(path: Path, end_ms: int) -> dict[str, float] | None:
    journal = Journal(path)
    try:
        return last_protection([row for row in journal.rows("decisions") if int(row["ts"]) < end_ms])
    finally:
        journal.close()


def load_period(path: Path, start_ms: int = 0, end_ms: int = 2**62) -> Period | None:
    """The journal's marks in [start, end) and the one they are measured from (see bot/report/daily.py)."""
    journal = Journal(path)
    try:
        valuations = journal.valuations(0, end_ms)
        fills = [fill for fill in fills_from_rows(journal.rows("fills")) if fill.ts < end_ms]
        transfers, liquidations = journal.transfers(0, end_ms), journal.liquidations(start_ms, end_ms)
    finally:
        journal.close()
    split = splits(valuations, fills, lambda symbol: default_instrument(Symbol(symbol)))
    moved = _transfers_by_valuation(valuations, transfers)
    marks = [mark_of(v, None if split is None else split[i], moved[i]) for i, v in enumerate(valuations)]
    return period(marks, start_ms, end_ms, liquidations, transfers)


def _transfers_by_valuation(valuations: list[Valuation], transfers: list[dict[str, Any]]) -> list[float]:
    """Σ value of the transfers at or before each valuation (the daemon changes holdings, then values)."""
    totals, total, pending = [], 0.0, iter(transfers)
    upcoming = next(pending, None)
    for valuation in valuations:
        while upcoming is not None and int(upcoming["ts"]) <= valuation.ts:
            total += float(upcoming["value"])
            upcoming = next(pending, None)
        totals.append(total)
    return totals


def write_html(
    target: Path, *, journal_path: Path, result: dict[str, Any], title: str, start_ms: int = 0, end_ms: int = 2**62
) -> None:
    journal = Journal(journal_path)
    try:
        valuations = journal.valuations(start_ms, end_ms)
    finally:
        journal.close()
    # VaR and ES stay in the JSON and the text: ten more summary rows would push the plots below the first screen
    shown = {key: value for key, value in result.items() if key != "tail_risk"}
    marks = read_governance(journal_path, start_ms, end_ms).marks()  # every governance event, on every plot
    target.write_text(render_html(html_data(valuations, shown, title, marks)), encoding="utf-8")


def run_stress_command(args: argparse.Namespace) -> int:
    sizes = shock_sizes(args)  # bad sizes are refused before the daemon is asked
    config = load_config(args.config)
    history = _history(args.history, config) if args.history else None  # a bad folder: refused before asking
    status = _status_from_file(args.status) if args.status else _status_from_daemon(config)
    book = book_from_status(status, config)
    scenarios = default_scenarios(sizes)
    if history is not None:
        scenarios = (*scenarios, *(historical_scenario(name, path, book) for name, path in history.paths()))
    print(format_stress(run_stress(book, scenarios)))
    if history is not None:
        print()
        print(format_tail_risk(tail_risk(book, history.daily_returns())))
    return 0


def _history(folder: Path, config: Config) -> History:
    try:
        return History(folder, config.portfolio.quote)
    except HistoryError as exc:
        raise ReportError(str(exc)) from None


def shock_sizes(args: argparse.Namespace) -> ShockSizes:
    """The operator's shock sizes, in percent on the command line, checked; one line naming the flag if not."""
    default = ShockSizes()
    drops = tuple(_percent("--drop", text, _FALL) for text in args.drop) if args.drop else default.drops
    settlements = default.settlements
    if args.settlements is not None:
        if not args.settlements.isdigit() or not 1 <= int(args.settlements) <= 1000:
            raise ReportError(f"--settlements {args.settlements}: must be a whole number from 1 to 1000")
        settlements = int(args.settlements)

    def option(text: str | None, flag: str, bounds: _Bounds, fallback: float) -> float:
        return fallback if text is None else _percent(flag, text, bounds)

    return ShockSizes(
        drops=drops,
        btc_rise=option(args.btc_up, "--btc-up", _Bounds(0, 1000), default.btc_rise),
        alt_fall=option(args.alts_down, "--alts-down", _Bounds(0, 100, low_included=True), default.alt_fall),
        funding_rate=option(
            args.funding_spike, "--funding-spike", _Bounds(-100, 100, signed=True), default.funding_rate
        ),
        settlements=settlements,
        haircut=option(args.haircut, "--haircut", _Bounds(0, 100, high_included=True), default.haircut),
    )


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Where a percentage may lie: between low and high, each excluded unless said; never 0 when signed."""

    low: float
    high: float
    low_included: bool = False
    high_included: bool = False
    signed: bool = False

    def admit(self, value: float) -> bool:
        above = value >= self.low if self.low_included else value > self.low
        below = value <= self.high if self.high_included else value < self.high
        return math.isfinite(value) and above and below and not (self.signed and value == 0)

    def __str__(self) -> str:
        low = f"at least {self.low:g}" if self.low_included else f"above {self.low:g}"
        high = f"at most {self.high:g}" if self.high_included else f"below {self.high:g}"
        return ("other than 0, " if self.signed else "") + f"{low} and {high}"


_FALL = _Bounds(0, 100)


def _percent(flag: str, text: str, bounds: _Bounds) -> float:
    """`text` % as a fraction, inside `bounds`; a ReportError naming the flag otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not bounds.admit(value):
        raise ReportError(f"{flag} {text}: must be a percentage {bounds}")
    return value / 100


def _status_from_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: not a readable status JSON ({exc})") from None
    status = data.get("status", data) if isinstance(data, dict) else None
    if not isinstance(status, dict):
        raise ReportError(f"{path}: not a status object")
    return status


def _status_from_daemon(config: Config) -> dict[str, Any]:
    from bot.control.client import ControlClient, DaemonUnreachable

    async def ask() -> dict[str, Any]:
        async with ControlClient.from_config(config.control) as client:
            return dict(await client.status())

    try:
        return asyncio.run(ask())
    except DaemonUnreachable as exc:
        raise ReportError(f"no daemon answering ({exc}); pass --status with a saved status") from None


def book_from_status(status: dict[str, Any], config: Config) -> Book:
    """The current book: holdings and hedge positions at the daemon's latest prices."""
    try:
        prices: dict[str, float] = status["prices"]
        quote = config.portfolio.quote
        holdings = [Holding(asset, qty, prices[f"{asset}/{quote}"]) for asset, qty in status["holdings"].items()]
        hedges = [
            HedgePosition(default_instrument(Symbol(symbol)), qty, prices[symbol])
            for symbol, qty in status["positions"].items()
        ]
        return Book(holdings, hedges, float(status["equity"]), config.paper.maintenance_margin_rate)
    except KeyError as exc:
        raise ReportError(f"the status lacks {exc} (is it from this hedgebot version?)") from None
