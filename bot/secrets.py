"""Secrets: read from the environment or from a file only its owner can read; redacted everywhere.

Every secret loaded through this module is registered, and `redact()` replaces it in any text (log lines,
error messages, status output) with '***'. Secrets the exchange hands out while running are masked by their
shape: a listen key in a user-stream URL gives read access to the account's stream while it lives.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

_KNOWN: set[str] = set()
MASK = "***"
_SHAPES = (re.compile(r"(listenKey=|/ws/)[A-Za-z0-9]{16,}"),)  # a listen key as a query value or a path


class SecretError(ValueError):
    """A secret that is missing or stored unsafely; the message never contains the secret."""


def register(value: str) -> str:
    if len(value) >= 4:  # shorter values would mask ordinary words; such a secret is rejected elsewhere
        _KNOWN.add(value)
    return value


def redact(text: str) -> str:
    for secret in _KNOWN:
        if secret in text:
            text = text.replace(secret, MASK)
    for shape in _SHAPES:
        text = shape.sub(rf"\1{MASK}", text)
    return text


def read_secret(env_name: str, file: Path | None = None) -> str | None:
    """The secret from `env_name`, else from `file` (which must not be readable by group or others)."""
    value = os.environ.get(env_name)
    if value:
        return register(value.strip())
    if file is None:
        return None
    try:
        mode = file.stat().st_mode
    except OSError:
        raise SecretError(f"secret file {file} cannot be read") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"secret file {file} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    text = file.read_text(encoding="utf-8").strip()
    if not text:
        raise SecretError(f"secret file {file} is empty")
    return register(text)
