"""Operator commands as typed values: parsed and validated from untrusted input before anything changes.

The control API and `hedgebot ctl` send a command name and a JSON object of arguments; `parse_command`
turns them into one of these values or raises `CommandError` naming what was wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import parse_duration_ms


class CommandError(ValueError):
    """A command that cannot be carried out as given; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Pause:
    name = "pause"


@dataclass(frozen=True, slots=True)
class Resume:
    name = "resume"


@dataclass(frozen=True, slots=True)
class Flatten:
    name = "flatten"


@dataclass(frozen=True, slots=True)
class Kill:
    flatten: bool = False
    name = "kill"


@dataclass(frozen=True, slots=True)
class SetRatio:
    ratio: float
    duration_ms: int
    name = "set-ratio"


@dataclass(frozen=True, slots=True)
class SetHolding:
    asset: str
    qty: float
    name = "set-holding"


@dataclass(frozen=True, slots=True)
class Reload:
    name = "reload"


Command = Pause | Resume | Flatten | Kill | SetRatio | SetHolding | Reload

MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who gave a command, through what, and why: what the audit trail records beside the command.

    `operator` is the named operator ("" for the daemon itself: a shutdown's pause, a SIGHUP reload); `via` is
    where it came from: "ctl", "api" (a bearer token without ctl), "dashboard", "telegram", "signal".
    """

    operator: str = ""
    via: str = ""
    reason: str = ""


def parse_reason(value: Any) -> str:
    """The operator's free-text reason, one line of printable text (control characters become spaces)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommandError(f"reason must be text, got {type(value).__name__}")
    text = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    if len(text) > MAX_REASON_CHARS:
        raise CommandError(f"reason is {len(text)} characters; at most {MAX_REASON_CHARS}")
    return text


_NO_ARGS: dict[str, Command] = {"pause": Pause(), "resume": Resume(), "flatten": Flatten(), "reload": Reload()}
COMMAND_NAMES = ("status", *_NO_ARGS, "kill", "set-ratio", "set-holding")


def _only(args: Mapping[str, Any], allowed: set[str], command: str) -> None:
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise CommandError(f"{command}: unknown argument(s) {unknown}; allowed: {sorted(allowed) or 'none'}")


def _number(args: Mapping[str, Any], key: str, command: str, low: float, high: float) -> float:
    value = args.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:
        raise CommandError(f"{command}: {key} is too large")  # no float holds it (math.isfinite would overflow)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandError(f"{command}: {key} must be a number, got {value!r}")
    if not low <= value <= high:
        raise CommandError(f"{command}: {key} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def parse_command(name: str, args: Mapping[str, Any]) -> Command:
    if name in _NO_ARGS:
        _only(args, set(), name)
        return _NO_ARGS[name]
    if name == "kill":
        _only(args, {"flatten"}, name)
        flatten = args.get("flatten", False)
        if not isinstance(flatten, bool):
            raise CommandError(f"kill: flatten must be true or false, got {flatten!r}")
        return Kill(flatten)
    if name == "set-ratio":
        _only(args, {"ratio", "for"}, name)
        duration = args.get("for", "1h")
        try:
            duration_ms = parse_duration_ms(duration) if isinstance(duration, str) else -1
        except (ValueError, OverflowError):  # OverflowError: hundreds of digits
            duration_ms = -1
        if not 0 < duration_ms <= 30 * 86_400_000:
            raise CommandError(f"set-ratio: for must be a duration up to 30d like '2h', got {duration!r}")
        return SetRatio(_number(args, "ratio", name, 0.0, 3.0), duration_ms)
    if name == "set-holding":
        _only(args, {"asset", "qty"}, name)
        asset = args.get("asset")
        if not isinstance(asset, str) or not re.fullmatch(r"[A-Z0-9]{1,20}", asset):
            raise CommandError(f"set-holding: asset must be a base asset in capitals like 'ETH', got {asset!r}")
        return SetHolding(asset, _number(args, "qty", name, 0.0, 1e12))
    raise CommandError(f"unknown command {name!r}; commands: {', '.join(COMMAND_NAMES)}")
