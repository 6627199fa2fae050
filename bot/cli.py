"""The command line: run | backtest | check-config | ctl | report | stress | exchange-sim | data.

Exit 0 on success, 2 on bad input (1 when a live venue fails for good while running).

Each command imports what it needs when it runs, not when the command line starts: `hedgebot ctl status`, what
an operator types most, loads neither pandas nor ccxt (`bench/ctl_import.py` measures it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.secrets import redact

if TYPE_CHECKING:
    from bot.config import Config

RUN_LOCK = "hedgebot.lock"  # `hedgebot run`, every mode: one daemon per state directory, journal and account
BACKTEST_LOCK = "backtest.lock"  # `hedgebot backtest` rewrites its own backtest.sqlite: one at a time


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit 2."""


def _parser(*, ctl_only: bool = False, run_only: bool = False) -> argparse.ArgumentParser:
    from bot.control.ctl import add_ctl_parser

    parser = argparse.ArgumentParser(prog="hedgebot", description="Keeps an altcoin portfolio hedged with futures.")
    sub = parser.add_subparsers(dest="command", required=True)
    if ctl_only:  # `hedgebot ctl ...`: the other commands' modules are not even imported
        add_ctl_parser(sub)
        return parser
    run = sub.add_parser("run", help="run the daemon (default: paper mode on the built-in synthetic market)")
    run.add_argument("--config", type=Path, help="TOML config (default: the embedded paper config)")
    run.add_argument("--realtime", action="store_true", help="pace by the wall clock until SIGINT/SIGTERM")
    run.add_argument("--speed", type=float, default=1.0, help="with --realtime: simulated seconds per second")
    run.add_argument("--span", help="simulated time to cover when not --realtime (default bot.span, 30d)")
    if run_only:  # `hedgebot run ...`: a daemon's start loads no other command's modules (pandas among them)
        return parser
    from bot.exchange_sim import command as exchange_sim_command
    from bot.feeds import download_command
    from bot.report import cli as report_commands

    bt = sub.add_parser("backtest", help="run the engine over history on an event-time clock")
    bt.add_argument("--config", type=Path, required=True)
    bt.add_argument("--prices", type=Path, help="spot candles CSV (../shared/data format; else [market] prices)")
    bt.add_argument("--funding", type=Path, help="funding CSV (else [market] funding)")
    bt.add_argument("--perp", type=Path, help="perpetual candles CSV (else perps are priced from spot)")
    bt.add_argument("--start", type=_date, help="first day traded, YYYY-MM-DD")
    bt.add_argument("--end", type=_date, help="day after the last traded, YYYY-MM-DD")
    bt.add_argument("--json", action="store_true", help="print the result as JSON")

    check = sub.add_parser("check-config", help="validate a config and print it resolved, secrets redacted")
    check.add_argument("file", type=Path)

    bt.add_argument("--html", type=Path, help="also write a self-contained HTML report with plots here")

    from bot.research import command as sweep_command

    sweep_command.add_parser(sub, _date)

    add_ctl_parser(sub)
    report_commands.add_parsers(sub)
    exchange_sim_command.add_parser(sub)
    download_command.add_parser(sub)
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-01-31") from None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser(ctl_only=words[:1] == ["ctl"], run_only=words[:1] == ["run"]).parse_args(words)
    try:
        return _dispatch(args)
    except Exception as exc:
        if not isinstance(exc, _one_line_errors()):
            raise
        print(f"hedgebot: {redact(str(exc))}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "ctl":
        from bot.control.ctl import run_ctl

        return run_ctl(args)
    if args.command == "check-config":
        return _check_config(args.file)
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "sweep":
        from bot.research import command as sweep_command

        return sweep_command.run(args)
    if args.command in ("report", "stress"):
        from bot.report import cli as report_commands

        run = report_commands.run_report if args.command == "report" else report_commands.run_stress_command
        return run(args)
    if args.command == "exchange-sim":
        from bot.exchange_sim import command as exchange_sim_command

        return exchange_sim_command.run(args)
    if args.command == "data":
        from bot.feeds import download_command

        return download_command.run(args)
    return _run(args)


def _load_config(path: Path | None) -> Config:
    """The config, imported when a command needs one: `ctl` reads only its `[control]` section."""
    import os

    from bot.config import load_config as load
    from bot.config import overlays_from

    return load(path, overlays_from(os.environ))  # HEDGEBOT_OVERLAY: a rehearsal's endpoints over the file's


def _one_line_errors() -> tuple[type[Exception], ...]:
    """Bad input of any command: one line, exit 2 (imported here, when one is raised, not at start)."""
    from bot.feeds.replay import ReplayError
    from bot.report.cli import ReportError
    from bot.settings.values import ConfigError
    from bot.store.journal import JournalError

    return (ConfigError, ReplayError, JournalError, UsageError, ReportError)


def _check_config(path: Path) -> int:
    """The config resolved; exit 2 when it is invalid. What depends on the environment (a secret's variable) is
    checked against this shell's and reported as a warning: the daemon's environment may differ."""
    from bot.ops.alerts import AlertsSetupError, sinks_from_config

    config = _load_config(path)
    print(json.dumps(config.model_dump(mode="json"), indent=2))
    try:
        sinks_from_config(config.alerts)
    except AlertsSetupError as exc:
        print(
            f"hedgebot: warning: {redact(str(exc))}; with this environment `hedgebot run` refuses to start (checked"
            " against this shell's variables: the daemon's, e.g. an EnvironmentFile, may differ)",
            file=sys.stderr,
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.clock import WallClock
    from bot.live.session import FIXED_START_MS, run_paper
    from bot.report.backtest import result_text

    config = _load_config(args.config)
    if config.market.source == "exchange":
        return _run_on_exchange(args, config)
    if config.market.source != "synthetic":
        raise UsageError(
            f"market.source = {config.market.source!r}: `hedgebot run` trades the synthetic market or the exchange's"
            " streams; replay history with `hedgebot backtest`"
        )
    if args.speed <= 0:
        raise UsageError(f"--speed {args.speed} must be positive")
    span_ms = config.span_ms if args.span is None else _duration(args.span, "--span")
    start = WallClock().now_ms() if args.realtime else FIXED_START_MS
    if args.realtime:  # a realtime daemon sends alerts (a fast run does not): refuse before starting anything
        _alerts_can_be_sent(config)
    human = lambda line: print(line, flush=True)  # noqa: E731 -- one line per hedge action on the terminal
    with _state_locked(config, RUN_LOCK):
        summary = run_paper(
            config,
            start_ms=start,
            span_ms=span_ms,
            realtime=args.realtime,
            speed=args.speed,
            human=human,
            config_path=args.config,
        )
    print(result_text(summary))
    return 0


def _run_on_exchange(args: argparse.Namespace, config: Config) -> int:
    """Live (`bot.mode = "live"`), or paper fills on the exchange's prices, until SIGINT/SIGTERM.

    Exit 2 when it cannot start as configured (no API keys, no control token); 1 when the venue fails
    for good while running (a revoked key), after an orderly stop.
    """
    from bot.execution.venue_errors import Fatal, VenueError
    from bot.live.exchange_session import run_live
    from bot.logs import get_logger
    from bot.report.backtest import result_text
    from bot.venues.ccxt_client import read_api_keys

    if args.span is not None or args.speed != 1.0:
        raise UsageError("--span and --speed pace the synthetic market; on the exchange's streams time is real")
    _alerts_can_be_sent(config)
    if config.bot.mode == "live":
        try:
            read_api_keys(config.venue)  # before anything starts: a clear line naming the variables
        except Fatal as exc:
            raise UsageError(str(exc)) from None
    human = lambda line: print(line, flush=True)  # noqa: E731 -- one line per hedge action on the terminal
    with _state_locked(config, RUN_LOCK):
        try:
            summary = run_live(config, human=human, config_path=args.config)
        except VenueError as exc:  # in the log too: it is the operator's record of why the run ended
            message = redact(str(exc))
            log = get_logger(component="cli")
            log.error("run_stopped", exchange=config.venue.exchange, error=message, exit_code=1)
            print(f"hedgebot: {config.bot.mode} run on {config.venue.exchange} stopped: {message}", file=sys.stderr)
            return 1
    print(result_text(summary))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from bot.config import with_overrides
    from bot.live.session import run_backtest
    from bot.report import cli as report_commands
    from bot.report.backtest import result_json, result_text
    from bot.report.tail_risk import format_tail_risk, tail_risk_json

    base = _load_config(args.config)
    files = {"prices": args.prices, "funding": args.funding, "perp": args.perp}
    market: dict[str, Any] = {"source": "replay", **{key: path for key, path in files.items() if path is not None}}
    for key, what in (("prices", "price"), ("funding", "funding")):  # a flag overrides the config's file
        if files[key] is None and getattr(base.market, key) is None:
            raise UsageError(f"backtest: no {what} file: pass --{key} FILE or set [market] {key} in the config")
    if args.start:
        market["start"] = args.start
    if args.end:
        market["end"] = args.end
    config = with_overrides(base, market=market, bot={"mode": "paper"})
    with _state_locked(config, BACKTEST_LOCK):  # until its HTML is written from backtest.sqlite
        summary = run_backtest(config)
        result = result_json(summary)
        tail = report_commands.journal_tail_risk(config.path_in_state("backtest.sqlite"))  # VaR, ES of its days
        result["tail_risk"] = tail_risk_json(tail)
        print(json.dumps(result, indent=2) if args.json else result_text(summary))
        if not args.json:
            print(format_tail_risk(tail, "days of this backtest"))
        if args.html:
            journal = config.path_in_state("backtest.sqlite")
            report_commands.write_html(args.html, journal_path=journal, result=result, title="hedgebot backtest")
    return 0


@contextmanager
def _state_locked(config: Config, name: str) -> Iterator[None]:
    """Held while the run lasts, taken before its journal or anything else is opened: two processes on one
    state directory would share one journal (and, live, one account) and each trade on a falsified picture."""
    from bot.store.lock import StateLocked, state_lock

    try:
        lock = state_lock(config.path_in_state(name))
    except StateLocked as exc:
        raise UsageError(str(exc)) from None
    try:
        yield
    finally:
        lock.release()


def _alerts_can_be_sent(config: Config) -> None:
    """A daemon with alerts on and nowhere to send them stops before it starts anything (no state directory)."""
    from bot.ops.alerts import AlertsSetupError, sinks_from_config

    try:
        sinks_from_config(config.alerts)
    except AlertsSetupError as exc:
        raise UsageError(str(exc)) from None


def _duration(text: str, flag: str) -> int:
    try:
        from bot.domain import parse_duration_ms

        return parse_duration_ms(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
