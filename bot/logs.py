"""Logging: structlog JSON lines to a file, every string field passed through secret redaction."""

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


def get_logger(**context: Any) -> Any:
    return structlog.get_logger().bind(**context)
