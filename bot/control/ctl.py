"""`hedgebot ctl COMMAND [--json]`: the operator's client of a running daemon.

It reads the same config as the daemon (`--config`, default the embedded one) to find the address and the
token, checks the arguments with the daemon's own parser before sending, and prints a readable answer.
Exit status: 0 done, 1 the daemon refused (token, arguments, engine), 2 bad usage or config here,
3 no daemon answering.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.commands import CommandError, parse_command, parse_reason
from bot.control.client import ApiRefused, ControlConnection, DaemonUnreachable
from bot.control.render import audit_text, command_text, status_text
from bot.secrets import redact
from bot.settings.control import load_control_section
from bot.settings.values import ConfigError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

_HELP = {
    "status": "state, positions vs targets, limits headroom, feed ages, last decision",
    "pause": "no new hedge adjustments; working clips are cancelled",
    "resume": "lift a pause, flatten or kill hold and re-decide now",
    "flatten": "close every hedge in reduce-only clips, then hold in 'reducing'",
    "kill": "cancel every open order and halt (with --flatten: close the hedges first, then halt)",
    "set-ratio": "override the hedge ratio for a while",
    "set-holding": "tell the daemon a spot holding changed",
    "reload": "re-read and validate the config file; a bad file is rejected and the running config kept",
    "audit": "the operators' commands: when, who, through what, what, why, and the outcome",
}
_READ_ONLY = ("status", "audit")


def add_ctl_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hedgebot ctl ...`; options may follow the command too: `ctl --json status` = `ctl status --json`."""
    ctl = sub.add_parser("ctl", help="control a running daemon: " + ", ".join(_HELP))
    _add_options(ctl, suppress=False)
    commands = ctl.add_subparsers(dest="ctl_command", required=True, metavar="COMMAND")
    parsers = {name: commands.add_parser(name, help=text, description=text) for name, text in _HELP.items()}
    for parser in parsers.values():
        _add_options(parser, suppress=True)  # given after the command it wins; absent, the above stands
    for name, parser in parsers.items():
        if name not in _READ_ONLY:
            parser.add_argument("--reason", default=None, help="why: recorded with your name in the audit trail")
    parsers["audit"].add_argument("--limit", type=int, default=50, help="how many commands, newest first (max 200)")
    parsers["kill"].add_argument("--flatten", action="store_true", help="close the hedges before halting")
    set_ratio = parsers["set-ratio"]
    set_ratio.add_argument("ratio", type=float, help="hedge ratio, 0 to 3 (1 = the policy's full hedge)")
    set_ratio.add_argument("--for", dest="duration", default="1h", help="how long, up to 30d (default 1h)")
    parsers["set-holding"].add_argument("asset", help="base asset, like ETH")
    parsers["set-holding"].add_argument("qty", type=float, help="the quantity now held")


def _add_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """With `suppress`, an option not given leaves the namespace alone instead of resetting its default."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--config", type=Path, default=default(None), help="the daemon's config file")
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    parser.add_argument("--timeout", type=float, default=default(30.0), help="seconds to wait (default 30)")


def command_args(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON arguments of the command named on the command line, with its `reason` when one was given."""
    reason = getattr(args, "reason", None)
    return {**_arguments(args), **({"reason": reason} if reason else {})}


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    match args.ctl_command:
        case "kill":
            return {"flatten": True} if args.flatten else {}
        case "set-ratio":
            return {"ratio": args.ratio, "for": args.duration}
        case "set-holding":
            return {"asset": args.asset.upper(), "qty": args.qty}
    return {}


def run_ctl(args: argparse.Namespace) -> int:
    name: str = args.ctl_command
    payload = command_args(args)
    if not args.timeout > 0:
        return _fail(EXIT_USAGE, f"--timeout {args.timeout} must be a positive number of seconds")
    try:
        if name not in _READ_ONLY:
            parse_reason(payload.get("reason"))
            parse_command(name, _arguments(args))  # the daemon checks again; this catches typos before connecting
        client = ControlConnection.from_config(load_control_section(args.config), timeout_s=args.timeout)
    except (CommandError, ConfigError) as exc:
        return _fail(EXIT_USAGE, str(exc))
    try:
        status = _call(client, name, payload, getattr(args, "limit", 50))
    except DaemonUnreachable as exc:
        return _fail(EXIT_UNREACHABLE, str(exc))
    except ApiRefused as exc:
        hint = {401: "; check that this token is the daemon's", 403: "; ask an admin for a role that may"}.get(
            exc.status, ""
        )
        return _fail(EXIT_REFUSED, f"{exc} (HTTP {exc.status}){hint}")
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
    elif name == "audit":
        print(audit_text(status["audit"]))
    else:
        print(status_text(status) if name == "status" else command_text(name, status))
    return EXIT_OK


def _call(client: ControlConnection, name: str, payload: dict[str, Any], limit: int = 50) -> dict[str, Any]:
    if name == "status":
        return client.status()
    if name == "audit":
        return {"audit": client.audit(limit)}
    return client.command(name, payload)


def _fail(code: int, message: str) -> int:
    print(f"hedgebot ctl: {redact(message)}", file=sys.stderr)
    return code
