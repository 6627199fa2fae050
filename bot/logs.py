"""Logging: structlog JSON lines to a file, every string field passed through secret redaction.

A logger from `get_logger` is resolved when it logs, not when it is made, so one made before `configure()` (an
alerter built while the run is still being checked, say) writes where `configure()` said, redacted like every
other. Before `configure()` runs (and in commands that never call it), structlog's console lines are redacted too.
The libraries' own warnings (ccxt, aiohttp, asyncio: the standard `logging` module) become JSON lines of ours
(`library_log`), redacted the same way, instead of raw text on stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from bot.secrets import redact


def _redact_event(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
        elif not isinstance(value, int | float | bool) and value is not None:
            event[key] = redact(str(value))
    return event


def configure(log_file: Path | None, level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines to `log_file` (appended), or to `stream` (default stderr) when no file is given."""
    target: TextIO
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        target = log_file.open("a", encoding="utf-8", buffering=1)
    else:
        target = stream or sys.stderr
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=target),
        cache_logger_on_first_use=False,
    )
    _route_library_logs()


class _LibraryLogs(logging.Handler):
    """A standard-library log record as a JSON line of ours: through the same processors, redaction included."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's malformed format string: keep what it meant to say
            message = str(record.msg)
        log = structlog.get_logger(component=record.name)
        log.log(record.levelno, "library_log", message=message, exc_info=record.exc_info or False)


def _route_library_logs() -> None:
    root = logging.getLogger()
    if not any(isinstance(handler, _LibraryLogs) for handler in root.handlers):
        root.addHandler(_LibraryLogs(logging.WARNING))


def get_logger(**context: Any) -> Any:
    """A logger carrying `context`, configured at each call: never frozen with a configuration made before."""
    return structlog.get_logger(**context)


def _redacting_defaults() -> None:
    """structlog's default pipeline (console lines on stdout) with the redaction before the renderer."""
    if structlog.is_configured():
        return  # someone chose a pipeline already: `configure()` replaces it when the run starts
    *steps, renderer = structlog.get_config()["processors"]
    structlog.configure(processors=[*steps, structlog.processors.format_exc_info, _redact_event, renderer])


_redacting_defaults()
